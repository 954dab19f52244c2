"""Small store helpers the API needs that the store layer lacks: token lookups and per-user sources."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from tidings.store import sources as source_repo
from tidings.store.tables import api_tokens, sources, user_sources, users
from tidings.store.users import hash_token
from tidings.store.util import as_utc, iso, utcnow

LAST_USED_GRANULARITY = timedelta(minutes=5)


def find_live_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """The live (not revoked) token row for a presented token, with its user's id and name; a pure read."""
    row = (
        conn.execute(
            select(api_tokens, users.c.name.label("user_name"))
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def is_stale_use(last_used: Any) -> bool:
    """True when last_used is unset or older than the granularity worth a write."""
    when = as_utc(last_used)
    return when is None or utcnow() - when > LAST_USED_GRANULARITY


def touch_token(engine: Engine, token_id: int) -> None:
    """Record that a token was used (callers throttle this so reads rarely take the write lock)."""
    with engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used=utcnow()))


def token_json(row: dict[str, Any]) -> dict[str, Any]:
    """A token row as the API shows it, without the hash."""
    return {
        "id": row["id"],
        "name": row["name"],
        "created_at": iso(as_utc(row.get("created_at"))),
        "last_used": iso(as_utc(row.get("last_used"))),
        "revoked_at": iso(as_utc(row.get("revoked_at"))),
    }


def list_tokens(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """A user's tokens, oldest first."""
    rows = conn.execute(
        select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
    ).mappings()
    return [token_json(dict(r)) for r in rows]


def get_token(conn: Connection, user_id: int, token_id: int) -> dict[str, Any] | None:
    """One of the user's tokens as JSON, or None."""
    row = (
        conn.execute(select(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id))
        .mappings()
        .first()
    )
    return token_json(dict(row)) if row else None


def link_source(conn: Connection, user_id: int, source_id: int, category: str | None = None) -> None:
    """Subscribe a user to a stored source (idempotent)."""
    exists = conn.execute(
        select(user_sources.c.source_id).where(
            user_sources.c.user_id == user_id, user_sources.c.source_id == source_id
        )
    ).first()
    if not exists:
        conn.execute(insert(user_sources).values(user_id=user_id, source_id=source_id, category=category))


def link_sources(engine: Engine, user_id: int, linked: list[tuple[int, str | None]]) -> None:
    """Subscribe a user to several stored sources as (source id, category) pairs."""
    with engine.begin() as conn:
        for source_id, category in linked:
            link_source(conn, user_id, source_id, category)


def list_user_sources(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The source rows a user subscribes to, oldest first, with the user's own category."""
    rows = conn.execute(
        select(
            sources,
            user_sources.c.category.label("user_category"),
            user_sources.c.title.label("user_title"),
        )
        .join(user_sources, user_sources.c.source_id == sources.c.id)
        .where(user_sources.c.user_id == user_id)
        .order_by(sources.c.id)
    ).mappings()
    return [
        {**dict(r), "category": r["user_category"] or r["category"], "title": r["user_title"] or r["title"]}
        for r in rows
    ]


def user_sources_json(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The contract's source objects for a user's subscriptions."""
    return [source_repo.to_contract(r) for r in list_user_sources(conn, user_id)]
