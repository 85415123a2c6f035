"""Mutation report: what `make mutate` found, module by module, against issue 14's bar.

Reads mutmut's record of each mutant (`mutants/**/*.meta`) and the list of equivalent mutants
(`docs/mutation/equivalents.tsv`: a mutant's name, then the page that says why no test can
tell it apart). Prints per module the mutants, killed, timed out, survived and not run, and the
kill rate of the non-equivalent ones; names every survivor that is not a listed equivalent.
Exits non-zero when a module is under the floor or a survivor is unexplained, so a new
surviving mutant is either killed by a test or written down with its reason.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

FLOOR_PERCENT = 90.0
EQUIVALENTS = Path("docs/mutation/equivalents.tsv")
# mutmut's exit codes (mutmut/stats.py): which count as detected, which as survived.
KILLED = {1, 3}
TIMED_OUT = {24, -24, 36, 152, 255}
SURVIVED = {0}
NOT_REACHED = {5, 33}  # no selected test reaches the mutated function: counts as survived


def read_equivalents(path: Path) -> dict[str, str]:
    """Mutant name -> the page with its reason; blank lines and `#` comments skipped."""
    equivalents: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, page = line.partition("\t")
            equivalents[name.strip()] = page.strip()
    return equivalents


def outcome(code: int | None) -> str:
    if code is None:
        return "not run"
    if code in KILLED:
        return "killed"
    if code in TIMED_OUT:
        return "timed out"
    if code in SURVIVED or code in NOT_REACHED:
        return "survived"
    return "other"  # suspicious, segfault, caught by type check: shown, never counted as killed


def main(mutants_dir: Path, equivalents_path: Path = EQUIVALENTS) -> int:
    equivalents = read_equivalents(equivalents_path)
    failures: list[str] = []
    totals: Counter[str] = Counter()
    print(
        f"{'module':<34} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} "
        f"{'equiv.':>6} {'not run':>7}  kill rate of non-equivalent"
    )
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        module = meta.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        counts = Counter(outcome(code) for code in codes.values())
        survivors = sorted(n for n, c in codes.items() if outcome(c) in ("survived", "other"))
        equivalent = [name for name in survivors if name in equivalents]
        unexplained = [name for name in survivors if name not in equivalents]
        detected = counts["killed"] + counts["timed out"]
        judged = detected + len(survivors) - len(equivalent)
        rate = 100.0 * detected / judged if judged else 100.0
        print(
            f"{module:<34} {len(codes):>7} {counts['killed']:>6} {counts['timed out']:>7} "
            f"{len(survivors):>8} {len(equivalent):>6} {counts['not run']:>7}  "
            f"{rate:5.1f} % ({detected} of {judged})"
        )
        totals.update(counts)
        totals.update(mutants=len(codes), survivors=len(survivors), equivalent=len(equivalent))
        if rate < FLOOR_PERCENT:
            failures.append(f"{module}: {rate:.1f} % is under the floor of {FLOOR_PERCENT:.0f} %")
        failures += [f"{name}: survived, and is not in {equivalents_path}" for name in unexplained]
    if not totals["mutants"]:
        print(f"no mutation results under {mutants_dir}/: run `make mutate` first")
        return 1
    detected = totals["killed"] + totals["timed out"]
    judged = detected + totals["survivors"] - totals["equivalent"]
    print(
        f"{'all':<34} {totals['mutants']:>7} {totals['killed']:>6} {totals['timed out']:>7} "
        f"{totals['survivors']:>8} {totals['equivalent']:>6} {totals['not run']:>7}  "
        f"{100.0 * detected / max(judged, 1):5.1f} % ({detected} of {judged})"
    )
    if totals["not run"]:
        print(f"{totals['not run']} mutants not run yet: the rates are over the mutants run")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "mutants")))
