"""Backup and restore of the whole store: SQLite's online backup API, or pg_dump/pg_restore on PostgreSQL.

SQLite copies page by page from a live database (WAL readers and writers keep going) into one self-contained
file. PostgreSQL backups are pg_dump's custom format (compressed, restorable with pg_restore alone), because a
dump taken by the server's own tool is what operators already know how to verify, move and restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, inspect, make_url
from sqlalchemy.engine import URL

PG_TOOL_TIMEOUT = 6 * 3600  # seconds; a stuck server must not hold the command forever


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says what to do."""


def backup(url: str, target: Path) -> Path:
    """Write a backup of the database at url to target (refusing to overwrite a file); returns target."""
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = _sqlite_path(parsed)
        if not source.is_file():
            raise BackupError(f"no database at {source}; check TIDINGS_HOME or TIDINGS_DATABASE_URL")
        _sqlite_copy(source, target, single_file=True)
    else:
        _run_pg_tool(
            "pg_dump", parsed, ["--format=custom", "--no-owner", "--no-privileges", f"--file={target}"]
        )
    return target


def restore(engine: Engine, url: str, source: Path, force: bool = False) -> None:
    """Replace the (empty, unless force) database at url with the backup at source."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if not force and _holds_tables(engine):
        raise BackupError("the target database is not empty; restore into a fresh one or pass --force")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_backup(source)
        engine.dispose()  # no pooled connection may hold the old file open while it is replaced
        _sqlite_copy(source, _sqlite_path(parsed), single_file=False)
    else:
        engine.dispose()
        options = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        if force:
            options += ["--clean", "--if-exists"]
        _run_pg_tool("pg_restore", parsed, [*options, str(source)])


def _holds_tables(engine: Engine) -> bool:
    names = set(inspect(engine).get_table_names())
    return bool(names - {"alembic_version"})


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path, single_file: bool) -> None:
    """Copy with the online backup API: a consistent snapshot even while other connections write.

    A backup file is switched out of WAL mode, so that it is one self-contained file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        if single_file:
            dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _check_sqlite_backup(source: Path) -> None:
    """The file must be an intact SQLite database made by Tidings."""
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)  # a backup file is not in WAL mode
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite backup: {exc}") from exc
    if not ok or ok[0] != "ok" or not {"alembic_version", "articles"} <= tables:
        raise BackupError(f"{source} is not an intact Tidings backup")


def _run_pg_tool(tool: str, url: URL, options: list[str]) -> None:
    """Run pg_dump or pg_restore against url (the password goes in the environment, not the command line)."""
    exe = shutil.which(tool)
    if exe is None:
        raise BackupError(
            f"{tool} is not on PATH; install the PostgreSQL client tools (Debian: postgresql-client)"
        )
    args = [exe, *options, f"--dbname={url.database or 'postgres'}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=PG_TOOL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{tool} did not finish within {PG_TOOL_TIMEOUT} s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{tool} failed: {detail[-1] if detail else f'exit status {done.returncode}'}")
