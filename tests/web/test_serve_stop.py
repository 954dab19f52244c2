"""`tidings serve` ends its worker processes (NER worker, resource tracker) on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import shared_path
from tests.live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.shared]


def children_of(pid: int) -> set[int]:
    """The live child processes of pid (from /proc)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(entry.name))
    return out


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sigterm_stops_the_ner_worker_and_resource_tracker(tmp_path: Path) -> None:
    seed = shared_path("data", "demo-corpus", "globalvoices-2012-05", "articles.jsonl")
    env = {
        **os.environ,
        "TIDINGS_HOME": str(tmp_path),
        "TIDINGS_SEED_PATHS": str(seed),
        "TIDINGS_SUBSCRIBE_STARTER": "0",
        "TIDINGS_BACKGROUND_REFRESH": "0",
        "TIDINGS_NER_PROCESS": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "tidings", "serve", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 400
        seen: set[int] = set()
        while time.time() < deadline and len(seen) < 2:  # the resource tracker and the NER worker
            seen |= children_of(server.pid)
            time.sleep(0.2)
        assert len(seen) >= 2, "the NER worker never started"
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        end = time.time() + 10
        while time.time() < end and any(alive(p) for p in seen):
            time.sleep(0.2)
        assert not [p for p in seen if alive(p)]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
