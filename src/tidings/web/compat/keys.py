"""Credentials of the reader-app APIs: Google Reader login tokens, edit tokens and Fever API keys.

Google Reader: ClientLogin checks the password (argon2) and issues an ordinary API token named "greader"
(stored hashed in api_tokens, revocable in the settings). The edit token T is an HMAC of that token's
stored hash, so it needs no storage and dies with the login token.

Fever: clients send api_key = md5("name:password"). We cannot derive it from the argon2 hash, so the
user enables Fever by giving their password once (set_fever_password); we store HMAC-SHA256 of the key
under a sub-key of the server's secret (tidings.secret) in api_tokens under the name "fever", so a copy of
the database alone cannot be used to test password guesses. Keys stored by older versions (unkeyed
BLAKE2b) still work and are rewritten in the keyed form on first use. The REST API compares SHA-256 of a
presented token, so no string can pass as a Bearer token; storing it as a token lets the user see and
revoke it like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from tidings.auth import verify_password
from tidings.secret import key_for, subkey
from tidings.store import users as user_repo
from tidings.store.tables import api_tokens, users
from tidings.store.util import utcnow
from tidings.web.api import queries as api_queries
from tidings.web.logins import check_credentials

GREADER_TOKEN_NAME = "greader"
FEVER_TOKEN_NAME = "fever"
EDIT_TOKEN_CHARS = 57  # the length FreshRSS and Google used
MAX_SECRET_CHARS = 512
_MD5_HEX = re.compile(r"[0-9a-f]{32}")


def login(engine: Engine, name: str, password: str, client: str) -> tuple[dict[str, Any], str]:
    """(user, a new "greader" token) when name and password match; raises LoginError (401 or 429)."""
    user = check_credentials(engine, name, password, client)
    with engine.begin() as conn:
        _, token = user_repo.create_token(conn, int(user["id"]), GREADER_TOKEN_NAME)
    return user, token


def user_for_token(engine: Engine, token: str, max_session_days: float) -> dict[str, Any] | None:
    """{"user_id", "name", "token_hash"} for a live token, else None (throttles last-used writes).

    A web session token past the session age limit is refused here as on the pages and the REST API.
    """
    if not token or len(token) > MAX_SECRET_CHARS:
        return None
    with engine.connect() as conn:
        row = api_queries.find_live_token(conn, token)
    if row is None or row["name"] == FEVER_TOKEN_NAME:
        return None
    if api_queries.is_expired_session(row, max_session_days):
        return None
    if api_queries.is_stale_use(row.get("last_used")):
        api_queries.touch_token(engine, int(row["id"]))
    return {"user_id": int(row["user_id"]), "name": str(row["user_name"]), "token_hash": row["token_hash"]}


def edit_token(token_hash: str) -> str:
    """The action token T for a login token (deterministic, unguessable without the token)."""
    digest = hmac.new(token_hash.encode(), b"tidings-greader-edit-token", hashlib.sha256).hexdigest()
    return digest[:EDIT_TOKEN_CHARS]


def is_valid_edit_token(token_hash: str, presented: str | None) -> bool:
    """True when presented is the action token of this login."""
    given = (presented or "").strip().encode()
    return bool(given) and hmac.compare_digest(edit_token(token_hash).encode(), given)


def fever_key(name: str, password: str) -> str:
    """The key Fever clients send: md5 of "name:password" in lowercase hex."""
    return hashlib.md5(f"{name}:{password}".encode()).hexdigest()


def legacy_fever_hash(api_key: str) -> str:
    """The unkeyed form older versions stored (BLAKE2b); only read, to upgrade such keys."""
    data = f"{FEVER_TOKEN_NAME}:{api_key.strip().lower()}".encode()
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def fever_hash(api_key: str, server_key: bytes) -> str:
    """The stored form of a Fever key: HMAC-SHA256 under the server's Fever sub-key."""
    data = f"{FEVER_TOKEN_NAME}:{api_key.strip().lower()}".encode()
    return hmac.new(subkey(server_key, "fever"), data, hashlib.sha256).hexdigest()


def set_fever_password(engine: Engine, user_id: int, password: str) -> str:
    """Enable Fever for a user after checking their password; replaces any older key; returns the key.

    Raises ValueError when the password is wrong (or its key clashes) and LookupError for an unknown user.
    """
    with engine.begin() as conn:
        user = user_repo.get_user(conn, user_id)
        if user is None:
            raise LookupError(f"no user with id {user_id}")
        if not verify_password(user.get("password_hash"), password):
            raise ValueError("wrong password")
        # Replace rather than revoke: the same password gives the same key, and token hashes are unique.
        conn.execute(
            delete(api_tokens).where(api_tokens.c.user_id == user_id, api_tokens.c.name == FEVER_TOKEN_NAME)
        )
        key = fever_key(str(user["name"]), password)
        stored = fever_hash(key, key_for(engine))
        forms = (stored, legacy_fever_hash(key))
        taken = conn.execute(select(api_tokens.c.id).where(api_tokens.c.token_hash.in_(forms))).first()
        if taken is not None:  # "a:b" + "c" and "a" + "b:c" give the same md5
            raise ValueError("this name and password clash with another Fever key; choose another password")
        conn.execute(
            insert(api_tokens).values(
                user_id=user_id, name=FEVER_TOKEN_NAME, token_hash=stored, created_at=utcnow()
            )
        )
    return key


def revoke_fever(conn: Any, user_id: int) -> int:
    """Revoke the user's Fever keys; returns how many were live."""
    result = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.user_id == user_id,
            api_tokens.c.name == FEVER_TOKEN_NAME,
            api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)


def disable_fever(engine: Engine, user_id: int) -> int:
    """Turn Fever off for a user (revoke their keys)."""
    with engine.begin() as conn:
        return revoke_fever(conn, user_id)


def user_for_fever_key(engine: Engine, api_key: str | None) -> dict[str, Any] | None:
    """{"user_id", "name"} for a live Fever key, else None."""
    key = (api_key or "").strip().lower()
    if not _MD5_HEX.fullmatch(key):
        return None
    keyed, legacy = fever_hash(key, key_for(engine)), legacy_fever_hash(key)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                api_tokens.c.id,
                api_tokens.c.user_id,
                api_tokens.c.last_used,
                api_tokens.c.token_hash,
                users.c.name,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(
                api_tokens.c.token_hash.in_((keyed, legacy)),
                api_tokens.c.name == FEVER_TOKEN_NAME,
                api_tokens.c.revoked_at.is_(None),
            )
        ).first()
    if row is None:
        return None
    if row.token_hash == legacy:  # migrate a key stored by an older version to the keyed form
        with engine.begin() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(token_hash=keyed))
    if api_queries.is_stale_use(row.last_used):
        api_queries.touch_token(engine, int(row.id))
    return {"user_id": int(row.user_id), "name": str(row.name)}
