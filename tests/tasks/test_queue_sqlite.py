"""Without PostgreSQL the task queue refuses to start, with a message that says what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tasks.conftest import QUEUE_ENV


@pytest.mark.parametrize("queue", ["procrastinate", "inprocess"])
def test_worker_on_sqlite_refuses_clearly(tmp_path: Path, queue: str) -> None:
    env = {**os.environ, **QUEUE_ENV, "TIDINGS_HOME": str(tmp_path), "TIDINGS_TASK_QUEUE": queue}
    env.pop("TIDINGS_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "tidings", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "the task queue needs PostgreSQL" in result.stderr


def test_serve_with_several_processes_refuses_to_fetch_in_each(tmp_path: Path) -> None:
    env = {**os.environ, "TIDINGS_HOME": str(tmp_path), "TIDINGS_TASK_QUEUE": "inprocess"}
    env.pop("TIDINGS_DATABASE_URL", None)
    env.pop("TIDINGS_BACKGROUND_REFRESH", None)
    result = subprocess.run(
        [sys.executable, "-m", "tidings", "serve", "--workers", "2", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "TIDINGS_TASK_QUEUE=procrastinate" in result.stderr and "Traceback" not in result.stderr
