"""The per-user article state, stored once: read, saved (starred), hidden, liked, each with its time.

The web app, the REST API, the CLI and the reader-app APIs all read and write this one table
(`read_state`); a missing row means unread, not saved, not hidden, neither liked nor disliked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tidings.store.articles import CHANGE_LOOKBACK
from tidings.store.engine import is_sqlite
from tidings.store.tables import articles, read_state, users
from tidings.store.util import as_utc, utcnow

# State name -> (flag column, time column). "saved" is Google Reader's and Fever's "starred".
FIELDS: dict[str, tuple[str, str]] = {
    "read": ("is_read", "read_at"),
    "saved": ("is_starred", "starred_at"),
    "hidden": ("is_hidden", "hidden_at"),
    "liked": ("liked", "liked_at"),
}
# Mark name (`tidings mark --as`) -> (state, value).
MARKS: dict[str, tuple[str, bool | int]] = {
    "read": ("read", True),
    "unread": ("read", False),
    "saved": ("saved", True),
    "unsaved": ("saved", False),
    "hidden": ("hidden", True),
    "unhidden": ("hidden", False),
    "liked": ("liked", 1),
    "disliked": ("liked", -1),
    "unliked": ("liked", 0),
}
DEFAULTS: dict[str, Any] = {"is_read": False, "is_starred": False, "is_hidden": False, "liked": 0}
CHUNK = 500  # ids per IN (...) clause; keeps SQLite under its variable limit


def chunks(ids: list[int]) -> list[list[int]]:
    """ids in slices of CHUNK."""
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def existing_ids(conn: Connection, ids: list[int]) -> list[int]:
    """The ids (in order, without repeats) that name stored articles."""
    found: set[int] = set()
    for part in chunks(list(dict.fromkeys(ids))):
        found |= {
            int(i) for i in conn.execute(select(articles.c.id).where(articles.c.id.in_(part))).scalars()
        }
    return [i for i in dict.fromkeys(ids) if i in found]


def set_state(
    conn: Connection, user_id: int, ids: list[int], name: str, value: bool | int, at: datetime | None = None
) -> list[int]:
    """Set one state on the user's rows for ids (which must exist); returns the ids whose value changed."""
    if name not in FIELDS:
        raise ValueError(f"unknown state {name!r}; expected one of {', '.join(FIELDS)}")
    flag, stamp = FIELDS[name]
    stored: bool | int = int(value) if name == "liked" else bool(value)
    values = {flag: stored, stamp: at or utcnow(), "updated_at": utcnow()}  # wall-clock: caches key on it
    changed: set[int] = set()
    for part in chunks(list(dict.fromkeys(ids))):
        if stored == DEFAULTS[flag]:
            # A missing row already holds the default: only stored rows can change.
            statement: Any = (
                update(read_state)
                .where(read_state.c.user_id == user_id, read_state.c.article_id.in_(part))
                .where(read_state.c[flag] != stored)
                .values(values)
            )
        else:
            statement = _upsert(conn, user_id, part, flag, values)
        changed |= {int(i) for i in conn.execute(statement.returning(read_state.c.article_id)).scalars()}
    return [i for i in dict.fromkeys(ids) if i in changed]


def _upsert(conn: Connection, user_id: int, ids: list[int], flag: str, values: dict[str, Any]) -> Any:
    """One statement that writes `values` to the user's rows for ids, creating the missing ones, and leaves
    the rows whose flag already holds the value alone: a read-then-write took two round trips, and two
    concurrent first marks of one article could both try to insert."""
    make = sqlite_insert if is_sqlite(conn) else pg_insert
    base = {"user_id": user_id, **DEFAULTS, **values}
    statement = make(read_state).values([base | {"article_id": i} for i in ids])
    return statement.on_conflict_do_update(
        index_elements=[read_state.c.user_id, read_state.c.article_id],
        set_={column: statement.excluded[column] for column in values},
        where=read_state.c[flag] != statement.excluded[flag],
    )


def states(conn: Connection, user_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Article id -> {"read", "saved", "hidden", "liked", and their times} for the user's stored rows."""
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(list(dict.fromkeys(ids))):
        rows = conn.execute(
            select(read_state).where(read_state.c.user_id == user_id, read_state.c.article_id.in_(part))
        ).mappings()
        for r in rows:
            out[int(r["article_id"])] = as_dict(dict(r))
    return out


def as_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row in the contract's words."""
    return {
        "read": bool(row["is_read"]),
        "saved": bool(row["is_starred"]),
        "hidden": bool(row["is_hidden"]),
        "liked": int(row["liked"] or 0),
        "read_at": as_utc(row["read_at"]),
        "saved_at": as_utc(row["starred_at"]),
        "hidden_at": as_utc(row["hidden_at"]),
        "liked_at": as_utc(row["liked_at"]),
    }


def empty_state() -> dict[str, Any]:
    """The state of an article the user never touched."""
    return as_dict({**DEFAULTS, "read_at": None, "starred_at": None, "hidden_at": None, "liked_at": None})


def ids_with(conn: Connection, user_id: int, name: str) -> dict[int, datetime | None]:
    """Article id -> when, for every article the user has in state `name` (read, saved, hidden, liked)."""
    flag, stamp = FIELDS[name]
    column = getattr(read_state.c, flag)
    clause = column > 0 if name == "liked" else column.is_(True)
    rows = conn.execute(
        select(read_state.c.article_id, getattr(read_state.c, stamp)).where(
            read_state.c.user_id == user_id, clause
        )
    )
    return {int(a): as_utc(t) for a, t in rows}


def read_and_hidden(conn: Connection, user_id: int) -> tuple[dict[int, datetime | None], set[int]]:
    """The user's read articles (id -> when) and hidden ones, in one query: a feed request needs both."""
    c = read_state.c
    rows = conn.execute(
        select(c.article_id, c.is_read, c.read_at, c.is_hidden).where(
            c.user_id == user_id, c.is_read.is_(True) | c.is_hidden.is_(True)
        )
    )
    read: dict[int, datetime | None] = {}
    hidden: set[int] = set()
    for article_id, is_read, read_at, is_hidden in rows:
        if is_read:
            read[int(article_id)] = as_utc(read_at)
        if is_hidden:
            hidden.add(int(article_id))
    return read, hidden


def saved_ids(conn: Connection, user_id: int, limit: int = 50, offset: int = 0) -> list[int]:
    """The user's saved articles, most recently saved first."""
    rows = conn.execute(
        select(read_state.c.article_id)
        .where(read_state.c.user_id == user_id, read_state.c.is_starred.is_(True))
        .order_by(read_state.c.starred_at.desc(), read_state.c.article_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(r[0]) for r in rows]


def undo_batch(conn: Connection, user_id: int, name: str, at: datetime) -> int:
    """Undo one bulk change: rows set at exactly `at` go back to the default; returns how many."""
    flag, stamp = FIELDS[name]
    result = conn.execute(
        update(read_state)
        .where(
            read_state.c.user_id == user_id,
            getattr(read_state.c, stamp) == at,
            getattr(read_state.c, flag) != DEFAULTS[flag],
        )
        .values({flag: DEFAULTS[flag], stamp: utcnow(), "updated_at": utcnow()})
    )
    return int(result.rowcount or 0)


def _engaged(table: Any) -> Any:
    """Rows that count as "read by" their user: read, saved or liked, and not hidden."""
    return and_(
        table.c.is_hidden.is_(False),
        (table.c.is_read.is_(True)) | (table.c.is_starred.is_(True)) | (table.c.liked > 0),
    )


def reader_counts(conn: Connection, ids: list[int] | None = None) -> dict[int, int]:
    """Article id -> how many distinct users read, saved or liked it (the "read by others" evidence)."""
    query = (
        select(read_state.c.article_id, func.count())
        .where(_engaged(read_state))
        .group_by(read_state.c.article_id)
    )
    if ids is not None:
        query = query.where(read_state.c.article_id.in_(ids))
    return {int(a): int(n) for a, n in conn.execute(query)}


def reader_version_columns() -> tuple[Any, Any]:
    """A cheap fingerprint of everyone's reading state, for caches of it, as two scalar subqueries (read with
    other marks at once): the number of accounts (deleting one deletes its rows) and the newest change (an
    index lookup; `updated_at` is wall-clock time, so a fixed TIDINGS_NOW does not freeze it)."""
    return (
        select(func.count()).select_from(users).scalar_subquery(),
        select(func.max(read_state.c.updated_at)).scalar_subquery(),
    )


def recounts_since(conn: Connection, since: datetime) -> dict[int, int]:
    """Every article whose reading state anyone changed at or after `since` (an index range scan), with its
    reader count as `reader_counts` gives it, 0 included: one query, since it runs on most feed requests.

    PostgreSQL commits concurrent writers in any order, so a change stamped a little before `since` may
    commit after it: those within CHANGE_LOOKBACK are read again."""
    margin = timedelta(0) if is_sqlite(conn) else CHANGE_LOOKBACK
    changed = (
        select(read_state.c.article_id).where(read_state.c.updated_at >= since - margin).distinct().subquery()
    )
    engaged = read_state.alias("engaged")
    joined = changed.outerjoin(engaged, and_(engaged.c.article_id == changed.c.article_id, _engaged(engaged)))
    query = (
        select(changed.c.article_id, func.count(engaged.c.article_id))
        .select_from(joined)
        .group_by(changed.c.article_id)
    )
    return {int(a): int(n) for a, n in conn.execute(query)}
