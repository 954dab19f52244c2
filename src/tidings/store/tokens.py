"""API tokens beyond creation: lookups of live tokens, web sessions, app passwords and Fever keys.

Tokens are created and hashed in store/users.py (`create_token`, `hash_token`); every row of `api_tokens` is
one credential, named by what it is for ("web session", "greader", "fever", "app:<label>", or the user's).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from tidings.store.tables import api_tokens, users
from tidings.store.users import hash_token
from tidings.store.util import as_utc, iso, utcnow

LAST_USED_GRANULARITY = timedelta(minutes=5)
SESSION_TOKEN_NAME = "web session"


def _live_token(token: str, *columns: Any) -> Any:
    """The query for the live (not revoked) token row matching a presented token, joined to its user."""
    return (
        select(api_tokens, *columns)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
    )


def find_live_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """The live (not revoked) token row for a presented token, with its user's id and name; a pure read."""
    row = conn.execute(_live_token(token, users.c.name.label("user_name"))).mappings().first()
    return dict(row) if row else None


def find_live_token_and_user(conn: Connection, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The live token row for a presented token and its user's whole row, in one query (so that a request can
    authenticate and load its user on the connection it works on); None when no live token matches."""
    row = conn.execute(_live_token(token, users)).first()
    if row is None:
        return None
    values = row._mapping
    token_row = {c.name: values[c] for c in api_tokens.c}
    token_row["user_name"] = values[users.c.name]
    return token_row, {c.name: values[c] for c in users.c}


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


def find_by_hash(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """The token row (live or revoked) stored under this hash, or None."""
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash)).mappings().first()
    return dict(row) if row else None


def any_stored(conn: Connection, token_hashes: Iterable[str]) -> bool:
    """True when any of these hashes is stored (live or revoked)."""
    query = select(api_tokens.c.id).where(api_tokens.c.token_hash.in_(list(token_hashes)))
    return conn.execute(query).first() is not None


def insert_hashed(conn: Connection, user_id: int, name: str, token_hash: str) -> None:
    """Store a credential whose hash the caller derived (a reader-app login token, a Fever key)."""
    values = {"user_id": user_id, "name": name, "token_hash": token_hash, "created_at": utcnow()}
    conn.execute(insert(api_tokens).values(**values))


def set_hash(conn: Connection, token_id: int, token_hash: str) -> None:
    """Store a token under a new hash (upgrading an older hashing scheme)."""
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(token_hash=token_hash))


def live_tokens(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The user's live tokens (id, name, created_at, last_used), oldest first."""
    query = (
        select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.created_at, api_tokens.c.last_used)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .order_by(api_tokens.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def revoke_named(conn: Connection, user_id: int, prefix: str, name: str | None, token_id: int | None) -> int:
    """Revoke the user's live tokens whose name starts with prefix, narrowed to one name or id; how many."""
    query = update(api_tokens).where(
        api_tokens.c.user_id == user_id,
        api_tokens.c.name.startswith(prefix),
        api_tokens.c.revoked_at.is_(None),
    )
    if name is not None:
        query = query.where(api_tokens.c.name == name)
    if token_id is not None:
        query = query.where(api_tokens.c.id == token_id)
    return int(conn.execute(query.values(revoked_at=utcnow())).rowcount or 0)


def delete_named(conn: Connection, user_id: int, name: str) -> None:
    """Delete the user's tokens of this name, live or revoked."""
    conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id, api_tokens.c.name == name))


def live_named_with_user(conn: Connection, name: str, token_hashes: Iterable[str]) -> dict[str, Any] | None:
    """The live token of this name stored under one of the hashes, with its user's name as "name"."""
    query = (
        select(
            api_tokens.c.id,
            api_tokens.c.user_id,
            api_tokens.c.last_used,
            api_tokens.c.token_hash,
            users.c.name,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(
            api_tokens.c.token_hash.in_(list(token_hashes)),
            api_tokens.c.name == name,
            api_tokens.c.revoked_at.is_(None),
        )
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None
