"""The server's secret key (TIDINGS_SECRET_KEY, else a random key kept in TIDINGS_HOME/secret_key).

It keys the CSRF form tokens and the stored Fever key hashes, so a copy of the database alone is not enough
to check guesses against them. Each use derives its own sub-key. The web app binds its key to its engine
at start-up so that code holding only the engine (the reader-app credentials) uses the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from sqlalchemy import Engine

from tidings.config import Settings, get_settings

KEY_FILE = "secret_key"
_BOUND: dict[str, bytes] = {}
_LOCK = threading.Lock()


def server_key(settings: Settings) -> bytes:
    """TIDINGS_SECRET_KEY, else the key file in TIDINGS_HOME (created 0600 with 32 random bytes)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.home) / KEY_FILE
    with _LOCK:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                pass
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(32))
        return path.read_text(encoding="ascii").strip().encode()


def bind_engine(engine: Engine, key: bytes) -> None:
    """Remember the key of the server using this engine."""
    _BOUND[engine.url.render_as_string(hide_password=False)] = key


def key_for(engine: Engine) -> bytes:
    """The key bound to engine, else the key of the environment's settings."""
    bound = _BOUND.get(engine.url.render_as_string(hide_password=False))
    return bound if bound is not None else server_key(get_settings())


def subkey(key: bytes, purpose: str) -> bytes:
    """A key for one purpose (e.g. "csrf", "fever"), so that no two uses share a key."""
    return hmac.new(key, f"tidings:{purpose}".encode(), hashlib.sha256).digest()
