"""A throw-away PostgreSQL cluster on loopback, and the Tidings settings the queue benchmarks share.

Used by bench/load.py and bench/queue_throughput.py. As root, initdb and pg_ctl run as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
CI_PORT = 54329  # CI's own cluster: never taken here, even when free at the moment


def free_port() -> int:
    """An unused loopback port (never CI's PostgreSQL port)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != CI_PORT:
            return port


def pg_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder."""
    found = sorted(PG_ROOT.glob("*/bin/initdb")) if PG_ROOT.exists() else []
    if not found:
        raise SystemExit(f"PostgreSQL server binaries not found under {PG_ROOT}")
    return found[-1].parent


class Postgres:
    """A throw-away PostgreSQL cluster on loopback: initdb, start, restart, remove."""

    def __init__(self, port: int = 0, max_connections: int = 300) -> None:
        self.bin = pg_bin()
        self.port = port or free_port()
        if self.port == CI_PORT:
            raise SystemExit(f"port {CI_PORT} is CI's PostgreSQL: pick another")
        self.max_connections = max_connections
        self.data = Path(tempfile.mkdtemp(prefix="tidings-bench-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.data, "postgres")
        self._run(f"{self.bin}/initdb -D {self.data} -A trust -U postgres")
        self.ctl("start")

    def _run(self, command: str) -> None:
        full = ["su", "postgres", "-c", command] if self.as_root else ["sh", "-c", command]
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ctl(self, action: str) -> None:
        """pg_ctl start/stop/restart, waiting for it."""
        options = (
            f"-k /tmp -p {self.port} -c listen_addresses=127.0.0.1 -c max_connections={self.max_connections}"
        )
        self._run(f"{self.bin}/pg_ctl -D {self.data} -o '{options}' -l {self.data}/log -m fast -w {action}")

    def server_pids(self) -> list[int]:
        """The postmaster's pid (its backends are its children), or none while it is down."""
        try:
            return [int((self.data / "postmaster.pid").read_text().split()[0])]
        except (OSError, ValueError, IndexError):
            return []

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def remove(self) -> None:
        """Stop the cluster and delete its files."""
        try:
            self.ctl("stop")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)


def queue_environment(url: str, home: Path, enrich: bool, tick_seconds: int) -> dict[str, str]:
    """The settings of Tidings processes on the task queue, fetching loopback feeds without delays."""
    return {
        **os.environ,
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_HOME": str(home),
        "TIDINGS_TASK_QUEUE": "procrastinate",
        "TIDINGS_TASK_TICK_SECONDS": str(tick_seconds),
        "TIDINGS_ALLOW_PRIVATE_NETWORKS": "1",
        "TIDINGS_POLITENESS_DELAY": "0",
        "TIDINGS_FETCH_FULL_TEXT": "0",
        "TIDINGS_SUBSCRIBE_STARTER": "0",
        "TIDINGS_ENRICH": "1" if enrich else "0",
    }
