"""Database engine creation, SQLite pragmas, migrations and the write lock."""

from __future__ import annotations

import fcntl
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT = 5  # seconds to open a PostgreSQL connection
PG_POOL_TIMEOUT = 10  # seconds to wait for a free pooled connection
# SQLite's own "come back later" errors (a writer held the lock past the busy timeout, the file went away).
_SQLITE_TRANSIENT = ("database is locked", "unable to open database", "disk i/o error")


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
    conn = engine.connect()
    if is_sqlite(engine):
        return conn.execution_options(**{READ_ONLY: True})
    # PostgreSQL reads each statement at its own snapshot anyway (READ COMMITTED), so a read needs no
    # transaction: autocommit spares the BEGIN and ROLLBACK round trips of every checkout.
    return conn.execution_options(**{READ_ONLY: True}, isolation_level="AUTOCOMMIT")


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
    # A server that does not answer fails the request in seconds (the web app turns that into a 503) rather
    # than holding a worker thread until the operating system's TCP timeout.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=PG_POOL_TIMEOUT,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT},
    )


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


MIGRATION_LOCK_KEY = 7_261_130  # PostgreSQL advisory lock held while one process migrates


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Let one process at a time migrate: two `tidings` processes starting on a new store would otherwise both
    run the same ALTER TABLE ("duplicate column"). A file lock beside a SQLite file; an advisory lock on
    PostgreSQL."""
    if is_sqlite(engine):
        path = engine.url.database
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        holder.commit()  # a session-level lock: it outlives this transaction
        try:
            yield
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            holder.commit()


def migrate(engine: Engine) -> str:
    """Upgrade the database to the newest migration; returns the revision now in force."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with migration_lock(engine), engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    return rev or ""


def is_unavailable(exc: BaseException) -> bool:
    """True when exc means the database cannot be reached or is saturated, not that a query is wrong."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        return any(part in str(orig).lower() for part in _SQLITE_TRANSIENT)
    try:
        # Optional: psycopg comes only with the `postgres` extra.
        import psycopg
    except ImportError:  # the PostgreSQL extra is not installed: no psycopg error can occur
        return False
    # psycopg's OperationalError: connection refused or lost, server shutting down, admin cancel.
    return isinstance(orig, psycopg.OperationalError)
