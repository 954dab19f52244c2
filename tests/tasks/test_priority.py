"""`tidings worker` lowers the priority of every thread it runs, numpy's and scikit-learn's pools included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOWER = "from tidings.tasks.priority import lower_priority\nlower_priority(7)"

# Load what the worker loads, lowering the priority before or after, then print each thread's nice value
# (field 19 of /proc/self/task/TID/stat) and the thread count.
PROBE = """
import json
from pathlib import Path
from tidings.cli.queue import worker  # the command's module must not start threads on import
{before}
import tidings.tasks.app
{after}
tasks = list(Path("/proc/self/task").iterdir())
nices = {{int(t.joinpath("stat").read_text().rsplit(")", 1)[1].split()[16]) for t in tasks}}
print(json.dumps([sorted(nices), len(tasks)]))
"""


def thread_nices(before: str = "", after: str = "") -> tuple[list[int], int]:
    """The distinct nice values of the probe's threads, and how many threads it has."""
    code = PROBE.format(before=before, after=after)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    nices, threads = json.loads(out)
    return nices, threads


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc")
def test_every_worker_thread_runs_at_the_lowered_priority() -> None:
    """Lowering first leaves no thread behind; lowering after the imports leaves the math pools at 0."""
    nices, threads = thread_nices(before=LOWER)
    assert threads > 1, "the probe should load thread pools, or it proves nothing"
    assert nices == [7]
    assert thread_nices(after=LOWER)[0] == [0, 7]
