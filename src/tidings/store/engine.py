"""Database engine creation, SQLite pragmas, migrations and the write lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, text

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: Engine | Connection) -> bool:
    """True when the engine or connection talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _set_sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # isolation_level=None lets us issue BEGIN IMMEDIATE ourselves (pysqlite otherwise defers BEGIN).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


READ_ONLY = "tidings_read_only"


def _begin_sqlite(conn: Connection) -> None:
    # Every write transaction takes the database write lock up front, so two ingesters serialise cleanly
    # instead of failing on lock upgrade. A connection from read_only() starts a plain (deferred) transaction:
    # a WAL snapshot that neither waits for writers nor makes them, or other readers, wait.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Connection:
    """A connection for reading only (use it as a context manager); on SQLite it takes no write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def make_engine(url: str) -> Engine:
    """Create an engine for URL; SQLite files get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def ping(engine: Engine) -> None:
    """Raise when the database does not answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@contextmanager
def write_lock(conn: Connection) -> Iterator[None]:
    """Hold the cross-process write lock for the current transaction (PostgreSQL advisory lock; SQLite's
    BEGIN IMMEDIATE already holds it)."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(7131)"))
    yield


def alembic_config(url: str) -> Any:
    """An Alembic Config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> str:
    """Upgrade the database to the newest migration; returns the revision now in force."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    return rev or ""
