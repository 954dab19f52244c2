"""`make hardening-report`: run tests/hostile and print, per family (test module), the cases tried, passed
and failed; exit non-zero when any case failed or errored.

Usage: python tests/hostile/report.py [extra pytest arguments]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

HOSTILE_DIR = Path(__file__).resolve().parent


def tally(junit_xml: Path) -> dict[str, dict[str, int]]:
    """{family: {"tried", "passed", "failed", "skipped"}} from a pytest junit XML report."""
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: {"tried": 0, "passed": 0, "failed": 0, "skipped": 0}
    )
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        family = case.get("classname", "?").rsplit(".", 1)[-1].removeprefix("test_")
        row = counts[family]
        row["tried"] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            row["failed"] += 1
        elif case.find("skipped") is not None:
            row["skipped"] += 1
        else:
            row["passed"] += 1
    return dict(counts)


def render(counts: dict[str, dict[str, int]]) -> str:
    """A fixed-width table with a total line."""
    lines = [f"{'family':<28} {'tried':>6} {'passed':>6} {'failed':>6} {'skipped':>7}"]
    total = {"tried": 0, "passed": 0, "failed": 0, "skipped": 0}
    for family in sorted(counts):
        row = counts[family]
        lines.append(
            f"{family:<28} {row['tried']:>6} {row['passed']:>6} {row['failed']:>6} {row['skipped']:>7}"
        )
        for key in total:
            total[key] += row[key]
    lines.append(
        f"{'total':<28} {total['tried']:>6} {total['passed']:>6} {total['failed']:>6} {total['skipped']:>7}"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the hostile tests with a junit report in a temporary folder and print the table."""
    with tempfile.TemporaryDirectory(prefix="tidings-hardening-") as folder:
        junit = Path(folder) / "hostile.xml"
        command = [
            sys.executable, "-m", "pytest", str(HOSTILE_DIR), "-q", "-p", "no:cacheprovider",
            f"--junitxml={junit}", *argv,
        ]  # fmt: skip
        done = subprocess.run(command, check=False)
        if not junit.exists():
            print("hardening-report: pytest wrote no report", file=sys.stderr)
            return done.returncode or 1
        counts = tally(junit)
    print(render(counts))
    failed = sum(row["failed"] for row in counts.values())
    return 1 if failed or done.returncode not in (0, 5) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
