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


SESSION_TOKEN_NAME = "web session"


def is_expired_session(row: dict[str, Any], max_age_days: float) -> bool:
    """True when a token row is a web session older than the server-side session age limit."""
    if row.get("name") != SESSION_TOKEN_NAME:
        return False
    created = as_utc(row.get("created_at"))
    return created is None or utcnow() - created > timedelta(days=max_age_days)


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


def link_source(
    conn: Connection, user_id: int, source_id: int, category: str | None = None, title: str | None = None
) -> None:
    """Subscribe a user to a stored source (idempotent); a given folder or title replaces the user's own."""
    mine = user_sources.c.user_id == user_id, user_sources.c.source_id == source_id
    category, title = source_repo.clean_label(category), source_repo.clean_label(title)
    exists = conn.execute(select(user_sources.c.source_id).where(*mine)).first()
    if not exists:
        values = {"user_id": user_id, "source_id": source_id, "category": category, "title": title}
        conn.execute(insert(user_sources).values(**values))
        return
    changes = {k: v for k, v in {"category": category, "title": title}.items() if v}
    if changes:
        conn.execute(update(user_sources).where(*mine).values(**changes))


Link = tuple[int, str | None] | tuple[int, str | None, str | None]


def link_sources(engine: Engine, user_id: int, linked: list[Link]) -> None:
    """Subscribe a user to several stored sources as (source id, folder[, title]) tuples."""
    with engine.begin() as conn:
        for source_id, category, *title in linked:
            link_source(conn, user_id, source_id, category, title[0] if title else None)


def list_user_sources(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The source rows a user subscribes to, oldest first, with the user's own title and folder."""
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


def user_source_json(conn: Connection, user_id: int, source_id: int) -> dict[str, Any] | None:
    """The contract's source object of one of the user's subscriptions, as the user names it."""
    return next((s for s in user_sources_json(conn, user_id) if s["id"] == source_id), None)


def user_sources_json(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The contract's source objects for a user's subscriptions."""
    return [source_repo.to_contract(r) for r in list_user_sources(conn, user_id)]
