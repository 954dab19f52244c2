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

import base64
import hashlib
import hmac
import re
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from sqlalchemy import Connection, Engine

from tidings.auth import verify_password
from tidings.digits import ascii_int
from tidings.secret import key_for, subkey
from tidings.store import tokens as token_repo
from tidings.store import users as user_repo
from tidings.web.logins import LoginError, check_credentials, give_back, take_attempt

GREADER_TOKEN_NAME = "greader"
FEVER_TOKEN_NAME = "fever"
APP_PREFIX = "app:"  # api_tokens named "app:<label>" are app passwords
EDIT_TOKEN_CHARS = 57  # the length FreshRSS and Google used
MAX_SECRET_CHARS = 512
_MD5_HEX = re.compile(r"[0-9a-f]{32}")


def login(engine: Engine, name: str, password: str, client: str) -> tuple[dict[str, Any], str]:
    """(user, their Auth token) when name and password (or an app password) match; raises LoginError.

    Both kinds pass the sign-in throttles first. An app password is itself the client's token. An account
    password gives a token derived from it, so that every ClientLogin of a client reuses its live token
    instead of minting a new one.
    """
    if not name or len(name) > 64 or len(password) > MAX_SECRET_CHARS:
        raise LoginError(401, "Wrong user name or password.")
    if password.startswith("tid_"):
        user = app_password_user(engine, name, password, client)
        if user is not None:
            return user, password
    user = check_credentials(engine, name, password, client)
    token = login_token(str(user["password_hash"]), password)
    with engine.begin() as conn:
        row = token_repo.find_by_hash(conn, user_repo.hash_token(token))
        if row is None:
            token_repo.insert_hashed(conn, int(user["id"]), GREADER_TOKEN_NAME, user_repo.hash_token(token))
        elif row["revoked_at"] is not None:  # revoked in the settings: this login starts a fresh one
            _, token = user_repo.create_token(conn, int(user["id"]), GREADER_TOKEN_NAME)
    return user, token


def login_token(password_hash: str, password: str) -> str:
    """The reader-app token of an account password: a slow KDF of it, salted by the stored hash's text.

    Deterministic (the same login gets the same token back), new after a password change, and as slow to
    guess from a leaked token hash as the password hash itself.
    """
    salt = hashlib.sha256(f"tidings-greader:{password_hash}".encode()).digest()[:16]
    raw = hash_secret_raw(
        password.encode(), salt, time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, type=Type.ID
    )
    return "tid_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def app_password_user(engine: Engine, name: str, password: str, client: str) -> dict[str, Any] | None:
    """The account when password is one of its live app passwords, else None (then the caller's password
    check takes the try). A throttled name or client is refused here too (LoginError 429)."""
    if not take_attempt(name, client):
        raise LoginError(429, "Too many sign-in attempts. Wait a minute and try again.")
    give_back(name, client)  # only a failed password check below (check_credentials) counts as a try
    with engine.connect() as conn:
        user = user_repo.get_user_by_name(conn, name)
        app_token = token_repo.find_live_token(conn, password)
    if user is None or app_token is None or app_token["user_id"] != user["id"]:
        return None
    return user if is_app_password(str(app_token["name"])) else None


def is_app_password(token_name: str) -> bool:
    """True for the api_tokens rows that are app passwords."""
    return token_name.startswith(APP_PREFIX)


def create_app_password(engine: Engine, user_id: int, label: str, fever: bool = False) -> dict[str, Any]:
    """A new app password for a reader app (shown once); with fever, also the Fever key that goes with it."""
    label = " ".join(label.split())[:100] or "app"
    with engine.begin() as conn:
        user = user_repo.get_user(conn, user_id)
        if user is None:
            raise LookupError(f"no user with id {user_id}")
        token_id, password = user_repo.create_token(conn, user_id, APP_PREFIX + label)
        out: dict[str, Any] = {"id": token_id, "label": label, "user": user["name"], "password": password}
        if fever:
            out["fever_key"] = store_fever_key(conn, user_id, fever_key(str(user["name"]), password))
    return out


def list_app_passwords(engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The user's live app passwords and Fever key (metadata only)."""
    with engine.connect() as conn:
        rows = token_repo.live_tokens(conn, user_id)
    return [
        {**r, "label": str(r["name"]).removeprefix(APP_PREFIX)}
        for r in rows
        if is_app_password(str(r["name"])) or r["name"] == FEVER_TOKEN_NAME
    ]


def revoke_app_password(engine: Engine, user_id: int, label_or_id: str) -> int:
    """Revoke the app passwords with this label (or id), or the Fever key ("fever"); returns how many."""
    if label_or_id.strip().lower() == FEVER_TOKEN_NAME:
        return disable_fever(engine, user_id)
    key = label_or_id.strip()
    token_id = ascii_int(key)
    name = None if token_id is not None else APP_PREFIX + key
    with engine.begin() as conn:
        return token_repo.revoke_named(conn, user_id, APP_PREFIX, name, token_id)


def user_for_token(engine: Engine, token: str, max_session_days: float) -> dict[str, Any] | None:
    """{"user_id", "name", "token_hash"} for a live token, else None (throttles last-used writes).

    A web session token past the session age limit is refused here as on the pages and the REST API.
    """
    if not token or len(token) > MAX_SECRET_CHARS:
        return None
    with engine.connect() as conn:
        row = token_repo.find_live_token(conn, token)
    if row is None or row["name"] == FEVER_TOKEN_NAME:
        return None
    if token_repo.is_expired_session(row, max_session_days):
        return None
    if token_repo.is_stale_use(row.get("last_used")):
        token_repo.touch_token(engine, int(row["id"]))
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
        return store_fever_key(conn, user_id, fever_key(str(user["name"]), password))


def store_fever_key(conn: Connection, user_id: int, key: str) -> str:
    """Make key the user's one Fever key (replacing any older one); returns it."""
    # Replace rather than revoke: the same password gives the same key, and token hashes are unique.
    token_repo.delete_named(conn, user_id, FEVER_TOKEN_NAME)
    stored = fever_hash(key, key_for(conn.engine))
    if token_repo.any_stored(conn, (stored, legacy_fever_hash(key))):  # "a:b"+"c" and "a"+"b:c": one md5
        raise ValueError("this name and password clash with another Fever key; choose another password")
    token_repo.insert_hashed(conn, user_id, FEVER_TOKEN_NAME, stored)
    return key


def revoke_fever(conn: Connection, user_id: int) -> int:
    """Revoke the user's Fever keys; returns how many were live."""
    return token_repo.revoke_named(conn, user_id, FEVER_TOKEN_NAME, FEVER_TOKEN_NAME, None)


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
        row = token_repo.live_named_with_user(conn, FEVER_TOKEN_NAME, (keyed, legacy))
    if row is None:
        return None
    if row["token_hash"] == legacy:  # migrate a key stored by an older version to the keyed form
        with engine.begin() as conn:
            token_repo.set_hash(conn, int(row["id"]), keyed)
    if token_repo.is_stale_use(row["last_used"]):
        token_repo.touch_token(engine, int(row["id"]))
    return {"user_id": int(row["user_id"]), "name": str(row["name"])}
