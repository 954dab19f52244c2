"""End-to-end ingestion throughput (extract + enrich + cluster + store) of the BBC News files, in articles/s.

Usage: python bench/ingest.py [--data DIR] [--limit N] [--no-enrich]
Prints one JSON document: articles, seconds, articles_per_second, per-stage seconds (summed per thread, so
they overlap), and the peak RSS of this process and of the NER worker process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc-news"


def stage_files(source: Path, limit: int | None, target: Path) -> list[str]:
    """Copy the first `limit` article files into a scratch folder (README and notes left out)."""
    files = sorted(p for p in source.rglob("*.txt") if p.name[0].isdigit())[: limit or None]
    for path in files:
        dest = target / path.parent.name / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return [str(target)]


def worker_peak_rss_mb() -> float | None:
    """Peak resident memory of the NER worker process (Linux /proc), if one ran."""
    from tidings.enrich import ner_worker

    for pool in ner_worker._POOL.values():
        for process in (getattr(pool, "_processes", None) or {}).values():
            status = Path(f"/proc/{process.pid}/status")
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    return None


def run(data: Path, limit: int | None, enrich: bool) -> dict[str, object]:
    """Ingest into a fresh SQLite database and report the throughput."""
    scratch = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    os.environ["TIDINGS_HOME"] = str(scratch / "home")
    os.environ["TIDINGS_ENRICH"] = "1" if enrich else "0"
    from tidings.config import get_settings
    from tidings.pipeline.ingest import ingest_sources
    from tidings.store import open_engine

    settings = get_settings()
    sources = stage_files(data, limit, scratch / "data")
    engine = open_engine(settings)
    if enrich:  # load the models before the clock starts: the figure is for a warm process
        from tidings.enrich import enrich_batch
        from tidings.models import EnrichInput

        enrich_batch(
            [EnrichInput(title="Warm-up", text="A short warm-up text about London and Paris.")], settings
        )
    start = time.perf_counter()
    report = ingest_sources(sources, settings, engine)
    elapsed = time.perf_counter() - start
    worker_rss = worker_peak_rss_mb()
    shutil.rmtree(scratch, ignore_errors=True)
    stored = sum(1 for a in report.articles if a["status"] != "error")
    return {
        "articles": stored,
        "new": report.count("new"),
        "seconds": round(elapsed, 2),
        "articles_per_second": round(stored / elapsed, 1),
        "stage_seconds": {k: round(v, 2) for k, v in report.timings.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ner_worker_peak_rss_mb": worker_rss,
        "errors": len(report.errors),
        "cores": os.cpu_count(),
        "enrich": enrich,
    }


def main() -> None:
    """Parse arguments, run once, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-enrich", action="store_true")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"data not found: {args.data}")
    print(json.dumps(run(args.data, args.limit, not args.no_enrich)))


if __name__ == "__main__":
    main()
