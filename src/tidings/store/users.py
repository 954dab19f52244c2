"""Users, their follows and mutes, feedback events and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, literal, select, union_all, update

from tidings.store import sources as source_repo
from tidings.store.tables import (
    api_tokens,
    events,
    follows,
    mutes,
    read_state,
    story_reads,
    user_sources,
    users,
)
from tidings.store.util import first_row, utcnow
from tidings.vocabulary import topic_key

TARGET_KINDS = ("topic", "entity", "source", "keyword", "story")
EVENT_KINDS = ("impression", "click", "read", "like", "dislike", "hide", "save", "share", "more", "fewer")


class NotFoundError(LookupError):
    """A named user, article or target does not exist."""


def parse_target(target: str) -> tuple[str, str]:
    """Split 'kind:value' (e.g. 'topic:North Korea'); raises ValueError naming the allowed kinds."""
    kind, sep, value = target.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or kind not in TARGET_KINDS or not value:
        raise ValueError(
            f"target must be KIND:VALUE with KIND one of {', '.join(TARGET_KINDS)}; got {target!r}"
        )
    if len(value) > 500:
        raise ValueError("target value is longer than 500 characters")
    if kind == "topic":  # one key per topic: "politics" and "Politics and conflicts" follow "Politics"
        value = topic_key(value)
    return kind, value


class NameTakenError(ValueError):
    """The user name (compared case-insensitively) belongs to an existing account."""


def name_key(name: str) -> str:
    """The comparison form of a user name: NFKC, surrounding whitespace stripped, case-folded.

    Sign-in, sign-up and the sign-in throttles all key on this, so " Carol\t" and "carol" are one account
    and one throttle bucket.
    """
    return unicodedata.normalize("NFKC", name).strip().casefold()[:64]


def check_name(name: str) -> str:
    """The stripped name; raises ValueError when it is empty, too long, or has spaces or control chars."""
    name = unicodedata.normalize("NFKC", name).strip()
    bad = any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in name)
    if not name or len(name) > 64 or bad:
        raise ValueError("user names are 1-64 characters without spaces or control characters")
    return name


def create_user(conn: Connection, name: str, password_hash: str | None, is_admin: bool = False) -> int:
    """Insert a user; raises ValueError when the name is invalid and NameTakenError when it is taken."""
    name = check_name(name)
    if get_user_by_name(conn, name):
        raise NameTakenError(f"user {name!r} already exists")
    result = conn.execute(
        insert(users).values(
            name=name,
            name_key=name_key(name),
            password_hash=password_hash,
            is_admin=is_admin,
            created_at=utcnow(),
            onboarded=False,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get_user_by_name(conn: Connection, name: str) -> dict[str, Any] | None:
    """The user with this name, compared case-insensitively (an exact spelling wins), or None."""
    exact = conn.execute(select(users).where(users.c.name == name.strip())).mappings().first()
    if exact is not None:
        return dict(exact)
    key = name_key(name)
    row = conn.execute(select(users).where(users.c.name_key == key)).mappings().first() if key else None
    return dict(row) if row else None


def get_user(conn: Connection, user_id: int) -> dict[str, Any] | None:
    """The user with this id, or None."""
    return first_row(conn, select(users).where(users.c.id == user_id))


def require_user(conn: Connection, name: str) -> dict[str, Any]:
    """The user with this name; raises NotFoundError."""
    user = get_user_by_name(conn, name)
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    return user


def count_users(conn: Connection) -> int:
    """How many users exist."""
    return len(conn.execute(select(users.c.id)).all())


def set_user_fields(conn: Connection, user_id: int, values: dict[str, Any]) -> None:
    """Update columns of one user (profile, controls, password, onboarding)."""
    conn.execute(update(users).where(users.c.id == user_id).values(**values))


def get_controls(conn: Connection, user_id: int) -> dict[str, Any]:
    """The user's controls JSON (users.controls), {} when unset."""
    row = conn.execute(select(users.c.controls).where(users.c.id == user_id)).first()
    return dict(row[0] or {}) if row else {}


def list_accounts(conn: Connection) -> list[dict[str, Any]]:
    """Every account (id, name, is_admin, created_at), oldest first."""
    query = select(users.c.id, users.c.name, users.c.is_admin, users.c.created_at).order_by(users.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def delete_user(conn: Connection, user_id: int) -> None:
    """Delete a user and every row that belongs to them; feeds only they followed stop being fetched."""
    subscribed = source_repo.subscribed_ids(conn, user_id)
    for table in (events, follows, mutes, api_tokens, story_reads, user_sources, read_state):
        conn.execute(delete(table).where(table.c.user_id == user_id))
    conn.execute(delete(users).where(users.c.id == user_id))
    source_repo.stop_orphans(conn, subscribed)


def _table(kind: str) -> Any:
    return follows if kind == "follow" else mutes


def add_target(conn: Connection, user_id: int, which: str, kind: str, value: str) -> bool:
    """Add a follow or mute (which = 'follow' | 'mute'); False when it already existed."""
    table = _table(which)
    exists = conn.execute(
        select(table.c.id).where(table.c.user_id == user_id, table.c.kind == kind, table.c.value == value)
    ).first()
    if exists:
        return False
    conn.execute(insert(table).values(user_id=user_id, kind=kind, value=value, created_at=utcnow()))
    return True


def remove_target(conn: Connection, user_id: int, which: str, kind: str, value: str) -> bool:
    """Remove a follow or mute; False when there was none."""
    table = _table(which)
    result = conn.execute(
        delete(table).where(table.c.user_id == user_id, table.c.kind == kind, table.c.value == value)
    )
    return bool(result.rowcount)


def list_targets(conn: Connection, user_id: int, which: str) -> list[dict[str, Any]]:
    """A user's follows or mutes as [{"id", "kind", "value", "target"}]."""
    table = _table(which)
    rows = conn.execute(select(table).where(table.c.user_id == user_id).order_by(table.c.id)).mappings()
    return [
        {"id": r["id"], "kind": r["kind"], "value": r["value"], "target": f"{r['kind']}:{r['value']}"}
        for r in rows
    ]


def follows_and_mutes(conn: Connection, user_id: int) -> dict[str, list[tuple[str, str]]]:
    """A user's follows and mutes as {"follow": [(kind, value)], "mute": [...]}, in one query."""
    both = union_all(
        *(
            select(literal(which).label("which"), t.c.id, t.c.kind, t.c.value).where(t.c.user_id == user_id)
            for which, t in (("follow", follows), ("mute", mutes))
        )
    ).subquery()
    out: dict[str, list[tuple[str, str]]] = {"follow": [], "mute": []}
    for which, _, kind, value in conn.execute(select(both).order_by(both.c.which, both.c.id)):
        out[str(which)].append((str(kind), str(value)))
    return out


def record_event(
    conn: Connection,
    user_id: int,
    article_id: int | None,
    story_id: int | None,
    kind: str,
    dwell: float | None,
    features: dict[str, float] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one feedback event."""
    result = conn.execute(
        insert(events).values(
            user_id=user_id,
            article_id=article_id,
            story_id=story_id,
            kind=kind,
            created_at=at or utcnow(),
            dwell_seconds=dwell,
            features=features,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def logged_impressions(conn: Connection) -> list[tuple[int, int, dict[str, float], datetime]]:
    """(user id, article id, features, time) of every impression logged with its features, all users."""
    rows = conn.execute(
        select(events.c.user_id, events.c.article_id, events.c.features, events.c.created_at).where(
            events.c.kind == "impression", events.c.features.is_not(None)
        )
    ).all()
    # A JSON column stores a missing value as JSON null, which `IS NOT NULL` keeps: an impression posted
    # through the API without features must not reach training.
    return [(r[0], r[1], r[2], r[3]) for r in rows if isinstance(r[2], dict)]


def engagements(conn: Connection, kinds: Collection[str]) -> list[tuple[int, int, datetime]]:
    """(user id, article id, time) of every event of these kinds, all users."""
    rows = conn.execute(
        select(events.c.user_id, events.c.article_id, events.c.created_at).where(events.c.kind.in_(kinds))
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def list_events(conn: Connection, user_id: int, limit: int = 1000) -> list[dict[str, Any]]:
    """A user's newest events first."""
    rows = conn.execute(
        select(events)
        .where(events.c.user_id == user_id)
        .order_by(events.c.created_at.desc(), events.c.id.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def event_article_ids(conn: Connection, user_id: int, kinds: tuple[str, ...], since: datetime) -> list[int]:
    """The articles of the user's events of these kinds since a time, one entry per event."""
    query = select(events.c.article_id).where(
        events.c.user_id == user_id,
        events.c.kind.in_(kinds),
        events.c.created_at >= since,
        events.c.article_id.is_not(None),
    )
    return [int(i) for i in conn.execute(query).scalars()]


def hash_token(token: str) -> str:
    """The stored form of an API token (SHA-256; tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: Connection, user_id: int, name: str) -> tuple[int, str]:
    """Create an API token; returns (id, the token shown once)."""
    token = "tid_" + secrets.token_urlsafe(32)
    result = conn.execute(
        insert(api_tokens).values(
            user_id=user_id, name=name[:128] or "token", token_hash=hash_token(token), created_at=utcnow()
        )
    )
    return int(result.inserted_primary_key[0]), token  # type: ignore[index]


def user_for_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """The user owning a live (not revoked) token, or None."""
    row = (
        conn.execute(
            select(api_tokens).where(
                api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    conn.execute(update(api_tokens).where(api_tokens.c.id == row["id"]).values(last_used=utcnow()))
    return get_user(conn, int(row["user_id"]))


def revoke_other_tokens(conn: Connection, user_id: int, keep_token_id: int | None) -> int:
    """Revoke every live token of the user (sessions, API, Google Reader, Fever) but keep_token_id."""
    query = update(api_tokens).where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
    if keep_token_id is not None:
        query = query.where(api_tokens.c.id != keep_token_id)
    return int(conn.execute(query.values(revoked_at=utcnow())).rowcount or 0)


def revoke_token(conn: Connection, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when it is not theirs or already revoked."""
    result = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id, api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None)
        )
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)
