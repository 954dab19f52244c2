"""Reader-app compatibility: the Google Reader API and the Fever API; `install_compat(app)` mounts both."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from tidings.web.compat import fever, greader, greader_subs
from tidings.web.compat.common import MAX_BODY_BYTES, MAX_FIELDS, BodyTooLargeError, TooManyFieldsError
from tidings.web.compat.keys import disable_fever, set_fever_password


async def handle_too_large(request: Request, exc: Exception) -> Response:
    """A body over the limit -> 413 in plain text."""
    return PlainTextResponse(f"request body over {MAX_BODY_BYTES} bytes", status_code=413)


async def handle_too_many_fields(request: Request, exc: Exception) -> Response:
    """A request with too many fields -> 413 in plain text (never a 500)."""
    return PlainTextResponse(f"more than {MAX_FIELDS} fields", status_code=413)


def install_compat(app: FastAPI) -> None:
    """Mount /accounts/ClientLogin, /reader/api/0/... and /fever/ on app (idempotent)."""
    if getattr(app.state, "compat_installed", False):
        return
    app.state.compat_installed = True
    app.include_router(greader.router)
    app.include_router(greader_subs.router)
    app.include_router(fever.router)
    app.add_exception_handler(greader.ReaderError, greader.handle_reader_error)
    app.add_exception_handler(BodyTooLargeError, handle_too_large)
    app.add_exception_handler(TooManyFieldsError, handle_too_many_fields)


__all__ = ["disable_fever", "install_compat", "set_fever_password"]
