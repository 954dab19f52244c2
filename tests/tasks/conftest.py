"""A fresh PostgreSQL database per test, queue settings for loopback feeds, and worker subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.pgcluster import Cluster, postgres_bin, throwaway_cluster
from tidings.config import Settings

PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
needs_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="TIDINGS_TEST_POSTGRES_URL is not set"),
]

QUEUE_ENV = {
    "TIDINGS_TASK_QUEUE": "procrastinate",
    "TIDINGS_ENRICH": "0",
    "TIDINGS_ALLOW_PRIVATE_NETWORKS": "1",
    "TIDINGS_POLITENESS_DELAY": "0",
    "TIDINGS_FETCH_FULL_TEXT": "0",
    "TIDINGS_SUBSCRIBE_STARTER": "0",
    "TIDINGS_NER_PROCESS": "0",
    "TIDINGS_TASK_TICK_SECONDS": "1",
    "TIDINGS_TASK_STALLED_SECONDS": "3",
    "TIDINGS_TASK_RETRY_SECONDS": "1",
    "TIDINGS_TASK_MAX_ATTEMPTS": "3",
    "TIDINGS_MAX_RETRIES": "0",
}


def queue_settings(home: Path, url: str) -> Settings:
    """Settings matching QUEUE_ENV, for the test process itself."""
    return Settings(
        home=home,
        database_url=url,
        task_queue="procrastinate",
        enrich=False,
        allow_private_networks=True,
        politeness_delay=0,
        fetch_full_text=False,
        subscribe_starter=False,
        ner_process=False,
        background_refresh=False,
        task_tick_seconds=1,
        task_stalled_seconds=3,
        task_retry_seconds=1,
        task_max_attempts=3,
        max_retries=0,
        signup_policy="open",
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a new, empty database on the test server (dropped afterwards)."""
    name = f"tidings_queue_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    from tidings.store import reset_engines

    reset_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def start_worker(home: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    """`tidings worker` in its own process, on the test database."""
    env = {**os.environ, **QUEUE_ENV, "TIDINGS_HOME": str(home), "TIDINGS_DATABASE_URL": url}
    log = (home / f"worker-{uuid.uuid4().hex[:6]}.log").open("wb")  # a file: a full pipe would block it
    return subprocess.Popen(
        [sys.executable, "-m", "tidings", "worker", *args], env=env, stdout=subprocess.DEVNULL, stderr=log
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a worker we started (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster on a free port, stopped and deleted afterwards."""
    if postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    with throwaway_cluster() as own:
        yield own
        from tidings.store import reset_engines

        reset_engines()
