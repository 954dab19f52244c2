"""The NER worker process ends when its parent is SIGKILLed (nothing can shut its pool down then)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PARENT = """
import multiprocessing, sys, time
from tidings.config import Settings
from tidings.enrich import ner_worker
ner_worker.worker_environment(Settings())  # starts the worker process without loading a model
print(multiprocessing.active_children()[0].pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): count it as gone
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_the_ner_worker_exits_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.time() + 30
    while time.time() < deadline and alive(child):
        time.sleep(0.2)
    gone = not alive(child)
    if not gone:
        os.kill(child, signal.SIGKILL)  # do not leave it behind when the test fails
    assert gone, "the NER worker outlived its killed parent"
