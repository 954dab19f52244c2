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


class Cluster:
    """A throw-away PostgreSQL cluster of our own, for tests that restart the server."""

    def __init__(self) -> None:
        import shutil
        import tempfile

        from tests.live import free_port

        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            pytest.skip("PostgreSQL server binaries are not installed")
        self.bin = bins[-1].parent
        # Its own folder under /tmp: the postgres user cannot enter pytest's (root-only) tmp_path.
        folder = Path(tempfile.mkdtemp(prefix="tidings-test-pg-"))
        self.data, self.port = folder, free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(folder, "postgres")
        self._run(f"{self.bin}/initdb -D {folder} -A trust -U postgres")
        self.ctl("start")

    def _run(self, command: str) -> None:
        full = ["su", "postgres", "-c", command] if self.as_root else ["sh", "-c", command]
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ctl(self, action: str) -> None:
        """pg_ctl start, stop or restart, waiting for it to finish."""
        options = f"-k /tmp -p {self.port} -c listen_addresses=127.0.0.1"
        self._run(f"{self.bin}/pg_ctl -D {self.data} -o '{options}' -l {self.data}/log -m fast -w {action}")

    @property
    def url(self) -> str:
        """The URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster on a free port, stopped and deleted afterwards."""
    import shutil

    own = Cluster()
    yield own
    from tidings.store import reset_engines

    reset_engines()
    own.ctl("stop")
    shutil.rmtree(own.data, ignore_errors=True)
