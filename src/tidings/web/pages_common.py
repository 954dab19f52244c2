"""What every page shares: templates, rendering with security headers, sign-in guards and error pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings.auth import PASSWORD_RULE
from tidings.ingest.urls import safe_http_url
from tidings.store.util import as_utc, utcnow
from tidings.web.api.errors import handle_http_error, handle_validation_error, is_api_request
from tidings.web.csrf import CSRF_FIELD, attach_anon_cookie, csrf_token_for
from tidings.web.session import WebUser, current_web_user

TEMPLATES_DIR = Path(__file__).parent / "ui" / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
# Scripts only from this origin: a stored page that slipped a <script> past sanitising still cannot run it.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
NOTES = {
    "saved": "Saved.",
    "liked": "Liked. You will see more like this.",
    "hidden": "Hidden. It will not come back.",
    "more": "Noted: more like this.",
    "fewer": "Noted: fewer like this.",
    "muted": "Muted.",
    "unmuted": "Unmuted.",
    "followed": "Followed.",
    "unfollowed": "Unfollowed.",
    "signed-out": "You are signed out.",
    "password": "Password changed. Your other sessions, API tokens, app logins and Fever key were revoked.",
    "feeds": "Feeds added.",
    "token-revoked": "Token revoked.",
    "controls": "Your feed settings are saved.",
    "display": "Display settings saved.",
    "deleted": "The account is deleted.",
    "marked-read": "Marked as read.",
    "marked-unread": "Marked as unread.",
    "marked-all-read": "Marked all as read.",
    "nothing-unread": "Nothing left unread there.",
    "unsaved": "Removed from Saved.",
    "unhidden": "It can come back to your feed.",
    "disliked": "Noted: you did not like it.",
    "unliked": "Like removed.",
    "undone": "Undone.",
    "feed-deleted": "The feed is deleted; its subscribers no longer get it.",
    "app-password": "App password created. Copy it now: it is shown only once.",
    "app-password-revoked": "App password revoked.",
}


class LoginRequiredError(Exception):
    """A page needs a signed-in reader; the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def time_ago(value: datetime | None) -> str:
    """A short relative time such as "3 h ago" or a date for old items."""
    when = as_utc(value)
    if when is None:
        return ""
    seconds = (utcnow() - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return when.strftime("%d %b %Y")


def iso_time(value: datetime | None) -> str:
    """A machine-readable time for <time datetime>."""
    when = as_utc(value)
    return when.isoformat() if when else ""


templates.env.filters["ago"] = time_ago
templates.env.filters["isotime"] = iso_time
templates.env.filters["safe_url"] = safe_http_url  # only http(s) URLs become links


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a template with the reader, the CSRF token and a note; adds security headers."""
    user = current_web_user(request)
    note = NOTES.get(request.query_params.get("note", ""))
    full = {
        "user": user,
        "csrf": csrf_token_for(request),
        "csrf_field": CSRF_FIELD,
        "note": note,
        "password_rule": PASSWORD_RULE,
        **context,
    }
    full.setdefault("undo", undo_offer(request) if user else None)
    response = templates.TemplateResponse(request, name, full, status_code=status)
    if full["undo"]:
        response.delete_cookie(UNDO_COOKIE, path="/")
    return secure(request, response)


UNDO_LABELS = {"unhide": "Undo hide", "unmute": "Undo mute", "read-all": "Undo mark as read"}


UNDO_COOKIE = "tidings_undo"


def undo_offer(request: Request) -> dict[str, str] | None:
    """The Undo button a page shows after a hide, mute or mark-all-as-read ({"code", "label", "next"}).

    The code travels in a short-lived cookie, so that the page's URL stays the plain note."""
    code = request.cookies.get(UNDO_COOKIE, "")[:600]
    kind = code.partition(":")[0]
    if kind not in UNDO_LABELS or "note" not in request.query_params:
        return None
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {"code": code, "label": UNDO_LABELS[kind], "next": here.split("note=")[0].rstrip("?&") or "/"}


def offer_undo(response: Response, code: str) -> Response:
    """Remember an Undo code for the next page (the one the redirect leads to)."""
    response.set_cookie(UNDO_COOKIE, code[:600], max_age=300, httponly=True, samesite="strict", path="/")
    return response


def secure(request: Request, response: Response) -> Response:
    """Add the security headers (and a new anonymous CSRF cookie, if any) to a page response."""
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    attach_anon_cookie(request, response)
    return response


def require_user(request: Request) -> WebUser:
    """The signed-in reader; otherwise the page redirects to sign in and come back."""
    user = current_web_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # After signing in the reader comes back with a GET; a form's target would answer 405.
        raise LoginRequiredError(target if request.method == "GET" else "/")
    return user


def require_reader(request: Request) -> None:
    """Reading pages are for signed-in readers, unless the admin turned on TIDINGS_PUBLIC_READING."""
    if not request.app.state.settings.public_reading:
        require_user(request)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to; anything else (other hosts, schemes) falls back to default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value[:2000]


def redirect(url: str, note: str | None = None) -> RedirectResponse:
    """A 303 See Other to a local URL, optionally with a note code shown on arrival."""
    if note:
        # The note goes in the query, before any #fragment, or the browser never sends it.
        path, hash_mark, fragment = url.partition("#")
        url = f"{path}{'&' if '?' in path else '?'}note={note}{hash_mark}{fragment}"
    return RedirectResponse(url, status_code=303)


def wants_json(request: Request) -> bool:
    """True when a script (progressive enhancement) asked for a JSON answer instead of a redirect."""
    return "application/json" in request.headers.get("accept", "")


def accepts_html(request: Request) -> bool:
    """True when the client asked for HTML (browsers do); scripts keep FastAPI's JSON error bodies."""
    return "text/html" in request.headers.get("accept", "")


async def handle_login_required(request: Request, exc: Exception) -> Response:
    """Redirect to sign-in, remembering where the reader was going."""
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse(f"/login?next={quote(safe_next(exc.next_path), safe='/')}", status_code=303)


async def handle_page_http_error(request: Request, exc: Exception) -> Response:
    """HTTP errors: the API keeps its JSON bodies, pages get a short HTML error page."""
    assert isinstance(exc, StarletteHTTPException)
    if is_api_request(request) or exc.status_code < 400 or not accepts_html(request):
        return await handle_http_error(request, exc)
    message = exc.detail if isinstance(exc.detail, str) else "Something went wrong."
    return error_page(request, exc.status_code, message)


async def handle_page_validation_error(request: Request, exc: Exception) -> Response:
    """Bad form or query input on a page: 422 with a readable page, never a traceback."""
    if is_api_request(request) or not accepts_html(request):
        return await handle_validation_error(request, exc)
    assert isinstance(exc, RequestValidationError)
    fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors()[:3])
    return error_page(request, 422, f"Some of what was sent is not valid ({fields}).")


def error_page(request: Request, status: int, message: str) -> Response:
    """A small HTML error page."""
    titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 413: "Too large", 429: "Slow down"}
    context = {"status": status, "title": titles.get(status, "Something went wrong"), "message": message}
    return render(request, "error.html", context, status=status)


async def handle_id_overflow(request: Request, exc: Exception) -> Response:
    """An id too large for the database's integers cannot name anything: answer 404, not 500."""
    return await handle_page_http_error(request, StarletteHTTPException(404, "Not found."))


NUMERIC_OUT_OF_RANGE = "22003"  # PostgreSQL's SQLSTATE for an integer past its column's range


async def handle_unstorable_value(request: Request, exc: Exception) -> Response:
    """A value PostgreSQL cannot hold: an id past its integers names nothing (404, as SQLite's OverflowError);
    another (a NUL character in a text) is refused with a 422. Never a 500."""
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == NUMERIC_OUT_OF_RANGE:
        return await handle_id_overflow(request, exc)
    message = "A value holds a character or a number the database cannot store."
    return await handle_page_http_error(request, StarletteHTTPException(422, message))


def install_page_handlers(app: FastAPI) -> None:
    """Register the pages' exception handlers (after the API's, so that these win and delegate)."""
    app.add_exception_handler(OverflowError, handle_id_overflow)
    app.add_exception_handler(
        DataError, handle_unstorable_value
    )  # beats the DBAPIError handler: more specific
    app.add_exception_handler(LoginRequiredError, handle_login_required)
    app.add_exception_handler(StarletteHTTPException, handle_page_http_error)
    app.add_exception_handler(RequestValidationError, handle_page_validation_error)
