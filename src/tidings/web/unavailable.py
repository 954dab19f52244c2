"""A database that is down or saturated answers 503 with Retry-After, quickly, instead of a 500 or a hang."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from tidings.store.engine import is_unavailable
from tidings.web.api.errors import error_response, is_api_request

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_last_warning = [0.0]


async def handle_database_error(request: Request, exc: Exception) -> Response:
    """503 + Retry-After for an unreachable database (one log line per 10 s, no traceback); else re-raise."""
    if not is_unavailable(exc):
        raise exc
    now = time.monotonic()
    if now - _last_warning[0] > 10:
        _last_warning[0] = now
        log.warning("database unavailable: %s", str(getattr(exc, "orig", exc)).splitlines()[0][:300])
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    message = "the database is unavailable; try again shortly"
    if is_api_request(request) or request.url.path == "/healthz":
        return error_response(503, message, "unavailable", headers)
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Tidings: back shortly</title>"
        f'<meta http-equiv="refresh" content="{RETRY_AFTER_SECONDS}">'
        "<h1>Back shortly</h1><p>Tidings cannot reach its database right now. "
        "This page retries by itself.</p>"
    )
    return HTMLResponse(page, status_code=503, headers=headers)


def install_unavailable_handler(app: FastAPI) -> None:
    """Register the handler for database errors (SQLAlchemy's, including a pool that timed out)."""
    app.add_exception_handler(DBAPIError, handle_database_error)
    app.add_exception_handler(PoolTimeoutError, handle_database_error)
