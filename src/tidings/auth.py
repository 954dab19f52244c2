"""Password hashing with argon2 (the library's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024


def hash_password(password: str) -> str:
    """An argon2id hash of password; raises ValueError when it is too short or too long."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ValueError(f"passwords are {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when password matches the stored hash."""
    if not stored_hash or len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
