"""A bounded atheris run over each ingest entry point (about 60 s in all); a crash fails, naming its input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytest.importorskip("atheris")

pytestmark = [pytest.mark.fuzz, pytest.mark.hostile]
SECONDS_PER_TARGET = 8  # five targets: about a minute of fuzzing in CI


@pytest.mark.parametrize("target", ["feed", "opml", "jsonl", "text", "html"])
def test_bounded_fuzz_run_finds_no_crash(tmp_path: Path, target: str) -> None:
    artifacts = tmp_path / "artifacts"
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "fuzz.py"),
        target,
        f"--seconds={SECONDS_PER_TARGET}",
        f"--corpus={tmp_path / 'corpus'}",
        f"--artifacts={artifacts}",
        "-seed=20261130",  # a fixed libFuzzer seed: the same inputs in the same order on every CI run
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=SECONDS_PER_TARGET * 10, check=False
    )
    crashes = sorted(p.name for p in artifacts.glob("*")) if artifacts.exists() else []
    assert done.returncode == 0 and not crashes, f"{crashes}\n{done.stderr[-3000:]}"
    assert "Done" in done.stderr and "runs in" in done.stderr  # libFuzzer really ran
