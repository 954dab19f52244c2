"""Extraction throughput: pages per second for one process over a Readability- or Zyte-layout gold set."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tidings.eval.extraction import iter_gold_pages
from tidings.extract import extract_html

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction-dev"


def measure(directory: Path, rounds: int) -> dict[str, float | int]:
    """Extract every page `rounds` times (after one warm-up pass) and report the throughput."""
    pages = [page.html for page in iter_gold_pages(directory)]
    for html in pages:  # warm-up: imports, regex compilation, caches
        extract_html(html)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for html in pages:
            extract_html(html)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    total = len(pages) * rounds
    return {
        "pages": len(pages),
        "rounds": rounds,
        "seconds": round(elapsed, 3),
        "pages_per_second": round(total / elapsed, 1) if elapsed else 0.0,
        # CPU time of this process: the figure to trust when other work shares the machine
        "cpu_pages_per_second": round(total / cpu, 1) if cpu else 0.0,
        "bytes_mean": int(sum(len(h) for h in pages) / max(1, len(pages))),
    }


def main() -> None:
    """Parse arguments, run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(measure(args.directory, args.rounds)))


if __name__ == "__main__":
    main()
