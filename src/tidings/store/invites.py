"""Sign-up invites: single-use random codes, stored only as SHA-256 hashes, that expire."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tidings.store.tables import invites, users
from tidings.store.util import as_utc, iso, utcnow

MAX_CODE_CHARS = 128


def code_hash(code: str) -> str:
    """The stored form of an invite code (codes are random, so no salt is needed)."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


def create_invite(conn: Connection, created_by: int | None, days: float) -> tuple[int, str]:
    """Create an invite valid for `days`; returns (id, the code, shown once)."""
    code = "inv_" + secrets.token_urlsafe(18)
    now = utcnow()
    result = conn.execute(
        insert(invites).values(
            code_hash=code_hash(code),
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return int(result.inserted_primary_key[0]), code  # type: ignore[index]


def take_invite(conn: Connection, code: str) -> int | None:
    """Mark a live (unused, unexpired) invite used and return its id; None when the code is not live."""
    if not code or len(code) > MAX_CODE_CHARS:
        return None
    live = (
        invites.c.code_hash == code_hash(code),
        invites.c.used_at.is_(None),
        invites.c.expires_at > utcnow(),
    )
    row = conn.execute(select(invites.c.id).where(*live)).first()
    if row is None:
        return None
    result = conn.execute(update(invites).where(invites.c.id == row[0], *live).values(used_at=utcnow()))
    return int(row[0]) if result.rowcount else None


def set_invitee(conn: Connection, invite_id: int, user_id: int) -> None:
    """Record which account an invite created."""
    conn.execute(update(invites).where(invites.c.id == invite_id).values(used_by=user_id))


def list_invites(conn: Connection) -> list[dict[str, Any]]:
    """Every invite, newest first, with who used it (no codes: only their hashes are stored)."""
    rows = conn.execute(
        select(invites, users.c.name.label("used_by_name"))
        .outerjoin(users, users.c.id == invites.c.used_by)
        .order_by(invites.c.id.desc())
    ).mappings()
    now = utcnow()
    out = []
    for r in rows:
        expires = as_utc(r["expires_at"])
        state = "used" if r["used_at"] else ("expired" if expires and expires <= now else "open")
        out.append(
            {
                "id": r["id"],
                "created_at": iso(as_utc(r["created_at"])),
                "expires_at": iso(expires),
                "state": state,
                "used_by": r["used_by_name"],
            }
        )
    return out
