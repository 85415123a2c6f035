"""Coverage gate: branch coverage of bot/ and jobs/, and of each module, against floors.

Reads the JSON report written by `coverage json` (path as the first argument), prints the
figures per package and every module under the module floor, and exits non-zero when a floor
is not met. The floors are what the suite reaches now, rounded down; docs/quality.md has the
targets and the gap.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The gate runs on the SQLite stage; code that only PostgreSQL exercises (leader election,
# LISTEN/NOTIFY, the shared rate row) is run by the PostgreSQL stage, uncounted here.
PACKAGE_FLOORS = {"bot": 90.0, "jobs": 95.0}  # target: 92 % each (docs/quality.md)
MODULE_FLOOR = 77.0  # target: 80 % for every module
# Modules below the module floor today, each with its own floor until its tests are written.
MODULE_EXCEPTIONS: dict[str, float] = {
    "bot/store/leader.py": 40.0,  # leader election runs only on PostgreSQL; the gate runs SQLite
    "bot/store/notify.py": 50.0,  # LISTEN/NOTIFY: PostgreSQL only
    "bot/runtime.py": 60.0,  # its leadership half (fencing, takeover) runs on PostgreSQL only
}


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
