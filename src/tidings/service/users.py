"""Accounts, follows, mutes and feedback events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from tidings.auth import hash_password
from tidings.store import users as user_repo
from tidings.store.tables import articles


def add_user(engine: Engine, name: str, password: str | None, is_admin: bool | None = None) -> dict[str, Any]:
    """Create a user (the first one is an admin); returns {"id", "name"}."""
    hashed = hash_password(password, (name.strip(),)) if password is not None else None
    with engine.begin() as conn:
        admin = is_admin if is_admin is not None else user_repo.count_users(conn) == 0
        user_id = user_repo.create_user(conn, name, hashed, admin)
    return {"id": user_id, "name": name.strip(), "is_admin": admin}


def change_target(engine: Engine, name: str, action: str, target: str) -> dict[str, Any]:
    """follow / unfollow / mute / unmute a target like 'topic:North Korea' for user name."""
    kind, value = user_repo.parse_target(target)
    which = "follow" if action in ("follow", "unfollow") else "mute"
    with engine.begin() as conn:
        user = user_repo.require_user(conn, name)
        if kind == "story" and not value.isdigit():
            raise ValueError("story targets take a story id, e.g. story:12")
        if action in ("follow", "mute"):
            changed = user_repo.add_target(conn, user["id"], which, kind, value)
        else:
            changed = user_repo.remove_target(conn, user["id"], which, kind, value)
    return {"ok": True, "changed": changed}


def article_exists(engine: Engine, article_id: int) -> tuple[bool, int | None]:
    """(exists, story id) for an article id."""
    with engine.connect() as conn:
        row = conn.execute(
            select(articles.c.id, articles.c.story_id).where(articles.c.id == article_id)
        ).first()
    return (row is not None, row[1] if row else None)
