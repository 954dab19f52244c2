"""CSRF protection for the pages' forms: a per-session token in a hidden field, checked on every POST."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request
from fastapi.responses import Response

from tidings.secret import key_for, subkey
from tidings.web.session import current_web_user, is_https

CSRF_FIELD = "csrf"
ANON_COOKIE = "tidings_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LABEL = b"tidings-csrf-v1"


def derive_token(secret: str, server_key: bytes) -> str:
    """The form token for a session secret: an HMAC under the server's key, so the secret itself never
    reaches the page and tokens cannot be made without the key."""
    key = subkey(server_key, "csrf")
    return hmac.new(key, _LABEL + b":" + secret.encode(), hashlib.sha256).hexdigest()


def request_token(request: Request, secret: str) -> str:
    """derive_token with the key of the serving app."""
    return derive_token(secret, key_for(request.app.state.engine))


def anon_secret(request: Request) -> str:
    """The anonymous visitor's CSRF secret (cookie), created on first use and set by `attach_anon_cookie`."""
    secret = request.cookies.get(ANON_COOKIE) or getattr(request.state, "new_anon_secret", None)
    if not secret or len(secret) > 128:
        secret = secrets.token_urlsafe(24)
        request.state.new_anon_secret = secret
    return secret


def csrf_token_for(request: Request) -> str:
    """The token forms on this page must carry: bound to the session, or to the anonymous cookie."""
    user = current_web_user(request)
    return request_token(request, user.session_token if user else anon_secret(request))


def attach_anon_cookie(request: Request, response: Response) -> None:
    """Set the anonymous CSRF cookie when this request created one."""
    secret = getattr(request.state, "new_anon_secret", None)
    if secret:
        response.set_cookie(
            ANON_COOKIE, secret, httponly=True, samesite="lax", secure=is_https(request), path="/"
        )


def expected_tokens(request: Request) -> list[str]:
    """Tokens acceptable for this request (session-bound, else the anonymous cookie's)."""
    user = current_web_user(request)
    if user:
        return [request_token(request, user.session_token)]
    secret = request.cookies.get(ANON_COOKIE)
    return [request_token(request, secret)] if secret and len(secret) <= 128 else []


async def require_csrf(request: Request) -> None:
    """Router dependency: a state-changing request must carry a valid CSRF field, else 403."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        try:
            form = await request.form(max_files=2, max_fields=200)
        except Exception:  # an unreadable body carries no token
            raise HTTPException(status_code=403, detail="missing CSRF token") from None
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not any(hmac.compare_digest(sent, token) for token in expected_tokens(request)):
        raise HTTPException(status_code=403, detail="missing or invalid CSRF token; reload the page")
