"""Small helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Executable


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Attach UTC to naive datetimes (SQLite returns them naive) and convert aware ones to UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def chunks(ids: Sequence[int], size: int) -> list[list[int]]:
    """`ids` in order, in pieces of at most `size`: one bounded IN (...) list per statement."""
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def first_row(conn: Connection, query: Executable) -> dict[str, Any] | None:
    """The query's first row as a dict, or None when it finds none."""
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None
