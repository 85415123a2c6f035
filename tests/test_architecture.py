"""The dependency rule, read from the imports: `jobs/` uses `bot/`; `bot/` reaches into `jobs/`
only in the modules that wire the running bot together, and `bot/domain/` stands on its own."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"

# The only bot modules that may import jobs: they start the scheduled work.
WIRING_MODULES = frozenset({"bot.cli", "bot.runtime"})


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(source: str, package: str) -> Iterator[str]:
    """Every absolute module name that `source` (a module of `package`) imports, at any depth."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module is not None:
                yield node.module
            elif node.level > 0:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base


def imports_of(package: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found[name] = list(imported_modules(path.read_text(encoding="utf-8"), package))
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_only_the_wiring_modules_of_bot_import_jobs() -> None:
    offenders = {
        module: sorted({name for name in names if within(name, "jobs")})
        for module, names in imports_of("bot").items()
        if module not in WIRING_MODULES and any(within(name, "jobs") for name in names)
    }
    assert offenders == {}, (
        f"bot modules that import jobs (move the code or invert it): {offenders}"
    )


def test_domain_modules_import_nothing_else_from_bot_or_jobs() -> None:
    offenders = {
        module: sorted(
            name
            for name in names
            if within(name, "jobs") or (within(name, "bot") and not within(name, "bot.domain"))
        )
        for module, names in imports_of("bot/domain").items()
    }
    assert {module: names for module, names in offenders.items() if names} == {}


# Layers below the Telegram edge and what they must not import: services hand facts to the
# render layer (which words them) and never the other way; neither knows Telegram.
FORBIDDEN_BELOW_THE_EDGE = {
    "bot/services": ("bot.render", "bot.interface", "bot.delivery", "telegram", "jobs"),
    "bot/render": ("bot.store", "bot.interface", "bot.delivery", "telegram", "jobs"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN_BELOW_THE_EDGE))
def test_services_and_render_stay_below_the_telegram_edge(layer: str) -> None:
    forbidden = FORBIDDEN_BELOW_THE_EDGE[layer]
    offenders = {
        module: sorted({name for name in names if any(within(name, f) for f in forbidden)})
        for module, names in imports_of(layer).items()
    }
    assert {module: names for module, names in offenders.items() if names} == {}


@pytest.mark.parametrize(
    "source",
    [
        "import jobs.reminders",
        "from jobs.sources import poll",
        "from jobs import reminders",
        "def later():\n    from jobs.sources.poll import Poller\n",
    ],
)
def test_every_form_of_import_is_seen(source: str) -> None:
    assert any(within(name, "jobs") for name in imported_modules(source, "bot.services"))


def test_relative_imports_resolve_to_their_package() -> None:
    names = list(imported_modules("from . import offsets\nfrom ..store import db\n", "bot.domain"))
    assert names == ["bot.domain", "bot.store"]


def test_architecture_doc_names_every_wiring_module() -> None:
    doc = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    for module in WIRING_MODULES:
        assert f"`{module.replace('.', '/')}.py`" in doc


def documented_paths(doc: str) -> set[str]:
    """The files and folders the module map in docs/architecture.md names: one per line, two
    spaces of indentation per level, folders ending in `/`, continuation lines indented
    past the names and skipped."""
    block = doc[doc.index("```\nbot/\n") + 4 :]
    block = block[: block.index("```")]
    paths: set[str] = set()
    folders: list[str] = []
    for line in block.splitlines():
        name = line.strip().split(" ", 1)[0]
        depth, uneven = divmod(len(line) - len(line.lstrip(" ")), 2)
        if uneven or depth > len(folders) or not (name.endswith("/") or "." in name):
            continue  # a description running on
        del folders[depth:]
        paths.add("".join(folders) + name)
        if name.endswith("/"):
            folders.append(name)
    return paths


def modules_on_disk() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for package in ("bot", "jobs")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py" and "versions" not in path.parts
    }


def test_the_module_map_names_every_module_of_bot_and_jobs() -> None:
    missing = modules_on_disk() - documented_paths(ARCHITECTURE_DOC.read_text(encoding="utf-8"))
    assert missing == set(), "add these to the module map in docs/architecture.md"


def test_everything_the_module_map_names_exists() -> None:
    named = documented_paths(ARCHITECTURE_DOC.read_text(encoding="utf-8"))
    assert {path for path in named if not (ROOT / path).exists()} == set()


def test_the_module_map_reader_follows_indentation() -> None:
    doc = "```\nbot/\n  a.py  one\n        cache.py runs on\n  sub/\n    b.py  two\njobs/\n  c.py\n```\n"
    assert documented_paths(doc) == {
        "bot/",
        "bot/a.py",
        "bot/sub/",
        "bot/sub/b.py",
        "jobs/",
        "jobs/c.py",
    }
