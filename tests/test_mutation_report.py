"""`make mutate`'s report: kill rates per module against the floor, survivors explained or named."""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_report() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mutation_report", ROOT / ".ci/mutation_report.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_report"] = module
    spec.loader.exec_module(module)
    return module


report = load_report()


def killed(count: int) -> dict[str, int | None]:
    """`count` mutants of one function, each killed."""
    return {f"bot.x.x_f__mutmut_{i}": 1 for i in range(1, count + 1)}


def write_run(tmp_path: Path, codes: Mapping[str, int | None], equivalents: list[str]) -> Path:
    meta = tmp_path / "mutants" / "bot" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    listing = tmp_path / "equivalents.tsv"
    listing.write_text("# name\tpage\n" + "".join(f"{n}\tdocs/x.md\n" for n in equivalents))
    return listing


def test_a_run_with_every_survivor_listed_as_equivalent_passes_and_prints_the_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = killed(8) | {"bot.x.x_f__mutmut_9": -24, "bot.x.x_f__mutmut_10": 0}
    listing = write_run(tmp_path, codes, ["bot.x.x_f__mutmut_10"])
    assert report.main(tmp_path / "mutants", listing) == 0
    out = capsys.readouterr().out
    assert "bot/x.py" in out
    assert "100.0 % (9 of 9)" in out
    assert "FAIL" not in out


def test_an_unlisted_survivor_fails_the_report_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = killed(19) | {"bot.x.x_f__mutmut_20": 0}
    listing = write_run(tmp_path, codes, [])
    assert report.main(tmp_path / "mutants", listing) == 1
    out = capsys.readouterr().out
    assert "95.0 % (19 of 20)" in out
    assert "FAIL: bot.x.x_f__mutmut_20: survived" in out


def test_a_mutant_no_test_reaches_counts_as_a_survivor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = write_run(tmp_path, {"bot.x.x_f__mutmut_1": 1, "bot.x.x_f__mutmut_2": 33}, [])
    assert report.main(tmp_path / "mutants", listing) == 1
    assert "50.0 % (1 of 2)" in capsys.readouterr().out


def test_a_module_under_ninety_percent_of_non_equivalent_mutants_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = killed(8) | {"bot.x.x_f__mutmut_9": 0, "bot.x.x_f__mutmut_10": 0}
    listing = write_run(tmp_path, codes, [])
    assert report.main(tmp_path / "mutants", listing) == 1
    assert "FAIL: bot/x.py: 80.0 % is under the floor of 90 %" in capsys.readouterr().out


def test_mutants_not_run_are_reported_and_left_out_of_the_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = write_run(tmp_path, {"bot.x.x_f__mutmut_1": 1, "bot.x.x_f__mutmut_2": None}, [])
    assert report.main(tmp_path / "mutants", listing) == 0
    out = capsys.readouterr().out
    assert "100.0 % (1 of 1)" in out
    assert "1 mutants not run yet" in out


def test_no_results_at_all_is_a_failure_that_says_to_run_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = write_run(tmp_path, {}, [])
    (tmp_path / "mutants" / "bot" / "x.py.meta").unlink()
    assert report.main(tmp_path / "mutants", listing) == 1
    assert "run `make mutate` first" in capsys.readouterr().out


def test_every_listed_equivalent_names_a_mutant_of_a_configured_module_and_a_page_that_exists() -> (
    None
):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    modules = {
        p.removesuffix(".py").replace("/", ".") for p in config["tool"]["mutmut"]["only_mutate"]
    }
    listed = report.read_equivalents(ROOT / report.EQUIVALENTS)
    assert listed
    for name, page in listed.items():
        assert "__mutmut_" in name, name
        assert name.rsplit(".", 1)[0] in modules, name
        assert (ROOT / page).is_file(), (name, page)
