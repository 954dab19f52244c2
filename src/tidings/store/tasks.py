"""The task queue's tables: procrastinate's schema, its jobs, and the errors our tasks recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, text

from tidings.store.engine import is_sqlite, write_lock
from tidings.store.tables import task_errors
from tidings.store.util import iso, utcnow


def has_queue_schema(conn: Connection) -> bool:
    """True when procrastinate's tables exist in this PostgreSQL database."""
    if is_sqlite(conn):
        return False
    return conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar_one() is True


def ensure_queue_schema(engine: Engine) -> bool:
    """Apply procrastinate's schema once (idempotent, safe when processes start together); True if applied."""
    # Optional: procrastinate comes with the `postgres` extra, and only the task queue needs it.
    from procrastinate.schema import SchemaManager

    with engine.begin() as conn, write_lock(conn):
        if has_queue_schema(conn):
            return False
        # The schema is many statements: psycopg runs them in one go only without parameters.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(SchemaManager.get_schema())
    return True


def record_error(conn: Connection, job_id: int, task_name: str, attempt: int, error: str) -> None:
    """Remember the latest error of a job (one row per job)."""
    conn.execute(delete(task_errors).where(task_errors.c.job_id == job_id))
    conn.execute(
        insert(task_errors).values(
            job_id=job_id, task_name=task_name[:128], attempt=attempt, error=error[:2000], failed_at=utcnow()
        )
    )


def failed_jobs(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Dead-lettered jobs (procrastinate status 'failed'), newest first, with their last recorded error."""
    if not has_queue_schema(conn):
        return []
    rows = conn.execute(
        text(
            "SELECT j.id, j.task_name, j.args, j.attempts, e.error, e.failed_at "
            "FROM procrastinate_jobs j LEFT JOIN task_errors e ON e.job_id = j.id "
            "WHERE j.status = 'failed' ORDER BY j.id DESC LIMIT :limit"
        ),
        {"limit": limit},
    ).mappings()
    return [{**dict(r), "failed_at": iso(r["failed_at"]) if r["failed_at"] else None} for r in rows]


def job_counts(conn: Connection) -> dict[str, int]:
    """How many jobs are in each state (todo, doing, succeeded, failed...)."""
    if not has_queue_schema(conn):
        return {}
    rows = conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"))
    return {str(status): int(n) for status, n in rows}


def jobs_of(conn: Connection, task_name: str) -> list[dict[str, Any]]:
    """Every job of a task with its status and attempts, oldest first."""
    rows = conn.execute(
        text(
            "SELECT id, status::text AS status, attempts, args, lock FROM procrastinate_jobs "
            "WHERE task_name = :name ORDER BY id"
        ),
        {"name": task_name},
    ).mappings()
    return [dict(r) for r in rows]
