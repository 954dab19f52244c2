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
