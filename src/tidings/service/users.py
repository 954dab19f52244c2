"""Accounts, follows, mutes and feedback events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tidings.auth import hash_password
from tidings.digits import is_ascii_digits
from tidings.store import invites as invite_repo
from tidings.store import users as user_repo


class SignupRefusedError(ValueError):
    """Sign-up is closed, or needs an invite that was not given or is not live."""


def sign_up(engine: Engine, name: str, password: str, policy: str, invite: str = "") -> dict[str, Any]:
    """Create an account under the sign-up policy (open | invite | closed); the first one is an admin
    and needs no invite. Raises SignupRefusedError, or ValueError for a bad name or password."""
    hashed = hash_password(password, (name.strip(),))
    with engine.begin() as conn:
        first = user_repo.count_users(conn) == 0
        if not first and policy == "closed":
            raise SignupRefusedError("sign-up is closed on this server; ask its admin for an account")
        invite_id = None
        if not first and policy == "invite":
            # The invite is checked before the name, so that no one without one learns which names exist.
            invite_id = invite_repo.take_invite(conn, invite)
            if invite_id is None:
                raise SignupRefusedError("sign-up needs a valid invite code from this server's admin")
        user_id = user_repo.create_user(conn, name, hashed, first)
        if invite_id is not None:
            invite_repo.set_invitee(conn, invite_id, user_id)
    return {"id": user_id, "name": name.strip(), "is_admin": first}


def create_invite(engine: Engine, created_by: int | None, days: float) -> str:
    """A new single-use sign-up invite code (shown once)."""
    with engine.begin() as conn:
        return invite_repo.create_invite(conn, created_by, days)[1]


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
        if kind == "story" and not is_ascii_digits(value):
            raise ValueError("story targets take a story id, e.g. story:12")
        if action in ("follow", "mute"):
            changed = user_repo.add_target(conn, user["id"], which, kind, value)
        else:
            changed = user_repo.remove_target(conn, user["id"], which, kind, value)
    return {"ok": True, "changed": changed}
