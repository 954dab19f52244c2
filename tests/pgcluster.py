"""A throw-away PostgreSQL cluster of our own, for tests that stop and restart the server."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live import free_port


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries folder (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@dataclass
class Cluster:
    """A cluster in its own data folder on a free loopback port."""

    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["su", "postgres", "-c", " ".join(f"'{c}'" for c in command)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._ctl("start")

    def restart(self) -> None:
        """Restart the server (fast: open connections are closed) and wait until it accepts connections."""
        self._ctl("restart", "-m", "fast")

    def _ctl(self, action: str, *flags: str) -> None:
        options = f"-k /tmp -p {self.port} -c listen_addresses=127.0.0.1"
        log = str(self.data / "log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, *flags, "-w", action)

    def stop(self) -> None:
        """Stop the server (fast: open connections are closed)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """initdb a new cluster, start it, and remove it afterwards."""
    pg_bin = postgres_bin()
    assert pg_bin is not None, "no PostgreSQL server binaries"
    data = Path(tempfile.mkdtemp(prefix="tidings-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    cluster = Cluster(pg_bin, data, free_port())
    cluster._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(data, ignore_errors=True)
