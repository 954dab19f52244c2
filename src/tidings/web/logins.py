"""Password sign-in shared by the web form, `POST /api/v1/session` and Google Reader's ClientLogin.

Every path normalises the name once (store.users.name_key) and passes two throttles before the password
is checked: one per account and client (slows one guesser) and one per account over all clients (slows a
guesser with many addresses). Successful sign-ins give their tokens back, so only failures add up.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Engine

from tidings.auth import hash_password, verify_password
from tidings.ratelimit import TokenBucket
from tidings.store import users as user_repo

# A burst of 10 tries per account and client, then one every 10 seconds.
PER_CLIENT = TokenBucket(rate=0.1, burst=10.0)
# A burst of 30 tries per account from all clients together, then one every 30 seconds.
PER_ACCOUNT = TokenBucket(rate=1 / 30, burst=30.0)


class LoginError(Exception):
    """Sign-in refused; `status` is 401 (wrong credentials) or 429 (too many tries)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@cache
def dummy_hash() -> str:
    """A throwaway argon2 hash to verify against when the account does not exist."""
    return hash_password("no-such-account-password")


def throttle_keys(name: str, client: str) -> tuple[str, str]:
    """(per-client key, per-account key) of a sign-in attempt, both on the normalised name."""
    key = user_repo.name_key(name)
    return f"{key}|{client}", key


def take_attempt(name: str, client: str) -> bool:
    """Take one try from both throttles; False when either is used up."""
    per_client, per_account = throttle_keys(name, client)
    if not PER_CLIENT.allow(per_client):
        return False
    if not PER_ACCOUNT.allow(per_account):
        PER_CLIENT.refund(per_client)
        return False
    return True


def give_back(name: str, client: str) -> None:
    """Return the tries of a successful sign-in."""
    per_client, per_account = throttle_keys(name, client)
    PER_CLIENT.refund(per_client)
    PER_ACCOUNT.refund(per_account)


def check_credentials(engine: Engine, name: str, password: str, client: str) -> dict[str, Any]:
    """The account for name and password; raises LoginError (throttled per account and client)."""
    if not take_attempt(name, client):
        raise LoginError(429, "Too many sign-in attempts. Wait a minute and try again.")
    account = None
    if len(name) <= 256:
        with engine.connect() as conn:
            account = user_repo.get_user_by_name(conn, name)
    stored = account.get("password_hash") if account else None
    # Unknown names still pay for one hash check, so timing does not reveal which accounts exist.
    if not verify_password(stored or dummy_hash(), password) or account is None or stored is None:
        raise LoginError(401, "Wrong user name or password.")
    give_back(name, client)
    return account


def reset() -> None:
    """Forget every throttle (tests)."""
    PER_CLIENT.reset()
    PER_ACCOUNT.reset()
