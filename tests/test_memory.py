"""The allocator tuning: fewer malloc arenas and freed memory given back on glibc, nothing
elsewhere; httpx's command-line tool left unimported; the config read by libyaml."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from bot import config as config_module
from bot import memory


@pytest.fixture
def fresh_libc() -> Iterator[None]:
    """The C library is looked up once per process: forget it around the test."""
    memory._glibc.cache_clear()
    yield
    memory._glibc.cache_clear()


@pytest.mark.usefixtures("fresh_libc")
def test_malloc_tuning_is_a_no_op_where_the_c_library_is_not_glibc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert memory._glibc() is None
    assert memory.limit_arenas() is False
    assert memory.give_back() is False


@pytest.mark.usefixtures("fresh_libc")
def test_on_glibc_the_arena_limit_is_accepted() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert memory._glibc() is not None
    assert memory.limit_arenas() is True
    memory.give_back()  # returns whether anything was freed: either is right


def test_herald_processes_do_not_import_the_httpx_command_line_tool() -> None:
    code = (
        "from bot.memory import skip_httpx_cli; skip_httpx_cli(); import httpx, sys; "
        "print(sorted(m for m in ('httpx._main', 'click', 'rich') if sys.modules.get(m)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_config_is_read_by_libyaml_with_the_same_result_and_errors() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml")
    assert config_module._FAST_LOADER is yaml.CSafeLoader
    text = "timezone: UTC\nsources:\n  - url: https://example.org/feed\n    every: 10m\n"
    assert config_module._read_yaml(text) == yaml.safe_load(text)
    with pytest.raises(config_module.ConfigError) as caught:
        config_module.parse_config("timezone: UTC\n  bad: [\n")
    pure = ""
    try:
        yaml.safe_load("timezone: UTC\n  bad: [\n")
    except yaml.YAMLError as exc:
        pure = str(getattr(exc, "problem", ""))
    assert pure and pure in str(caught.value)


def _imported(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` a fresh interpreter has imported after running `code`."""
    probe = f"{code}; import sys; print(' '.join(n for n in {names!r} if n in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


def test_the_main_process_imports_no_feed_parser_nor_matplotlib_until_it_needs_them() -> None:
    """Feeds are parsed in the check workers; matplotlib (42 MB) draws only /timeline."""
    code = (
        "from bot.memory import skip_httpx_cli; skip_httpx_cli(); "
        "import bot.cli, bot.runtime, bot.interface.app, bot.service; "
        "from bot.interface.handlers import _modules; _modules()"
    )
    names = ("fastfeedparser", "feedparser", "lxml", "rich", "pygments", "matplotlib", "numpy")
    assert _imported(code, names) == []


def test_a_check_worker_imports_neither_the_store_nor_date_wording_nor_any_cli() -> None:
    code = (
        "from bot.memory import skip_httpx_cli; skip_httpx_cli(); "
        "from jobs.sources.workers import main"
    )
    names = ("sqlalchemy", "telegram", "babel", "click", "rich", "pygments")
    assert _imported(code, names) == []
