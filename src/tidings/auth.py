"""Password hashing with argon2 (the library's recommended parameters) and the password rule."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_HASHER = PasswordHasher()
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
MIN_STRENGTH = 2  # zxcvbn's score 0-4; 2 means "more than 10^6 guesses", i.e. not a common pattern
ZXCVBN_MAX_CHARS = 72  # zxcvbn's own limit; its cost grows with the length
PASSWORD_RULE = (
    "Use 8 to 1024 characters. Common passwords, names, repeats (aaaa), sequences (1234) and keyboard "
    "patterns are refused; a few unrelated words make a strong password."
)


def check_password(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Raise ValueError (saying why) when password breaks PASSWORD_RULE (zxcvbn score below 2)."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ValueError(f"passwords are {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    if len(password.strip()) < MIN_PASSWORD_CHARS:
        raise ValueError(f"passwords need {MIN_PASSWORD_CHARS} characters besides spaces")
    verdict = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=[u for u in user_inputs if u])
    if verdict["score"] < MIN_STRENGTH:
        feedback = verdict.get("feedback") or {}
        hint = feedback.get("warning") or "it would be easy to guess"
        raise ValueError(
            f"this password is too weak ({hint.rstrip('.')}); a few unrelated words are stronger"
        )


def hash_password(password: str, user_inputs: tuple[str, ...] = ()) -> str:
    """An argon2id hash of password; raises ValueError when the password breaks the rule."""
    check_password(password, user_inputs)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when password matches the stored hash."""
    if not stored_hash or len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
