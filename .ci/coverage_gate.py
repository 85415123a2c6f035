"""Coverage gate: branch coverage of bot/ and jobs/, and of each module, against floors.

Reads the JSON report written by `coverage json` (path as the first argument), prints the
figures per package and every module under the module floor, and exits non-zero when a floor
is not met. The floors are issue 14's: 92 % for bot/ and for jobs/, 80 % for every module
(docs/quality.md has the figures).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The gate reads the combined data of the SQLite suite and of the PostgreSQL-only tests run on
# PostgreSQL (`make test COVERAGE=1`), so leader election, LISTEN/NOTIFY and the shared rate
# row are counted.
PACKAGE_FLOORS = {"bot": 92.0, "jobs": 92.0}
MODULE_FLOOR = 80.0
# Modules allowed under the module floor, each with its own floor and the reason (none today).
MODULE_EXCEPTIONS: dict[str, float] = {}


def percent(covered: int, total: int) -> float:
    return 100.0 * covered / total if total else 100.0


def main(report_path: str) -> int:
    files = json.loads(Path(report_path).read_text())["files"]
    failures: list[str] = []
    for package, floor in PACKAGE_FLOORS.items():
        covered = total = 0
        for name, data in files.items():
            if name.startswith(f"{package}/"):
                summary = data["summary"]
                covered += summary["covered_lines"] + summary["covered_branches"]
                total += summary["num_statements"] + summary["num_branches"]
        share = percent(covered, total)
        print(f"{package}/: {share:.1f} % of lines and branches (floor {floor:.0f} %)")
        if share < floor:
            failures.append(f"{package}/ at {share:.1f} % is under its floor of {floor:.0f} %")
    for name, data in sorted(files.items()):
        summary = data["summary"]
        share = percent(
            summary["covered_lines"] + summary["covered_branches"],
            summary["num_statements"] + summary["num_branches"],
        )
        floor = MODULE_EXCEPTIONS.get(name, MODULE_FLOOR)
        if share < floor:
            failures.append(f"{name} at {share:.1f} % is under its floor of {floor:.0f} %")
        elif share < 80.0:
            print(f"  below the 80 % target: {name} {share:.1f} %")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".coverage/coverage.json"))
