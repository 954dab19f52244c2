"""`install_compat(app)`: mounts the Google Reader and Fever APIs with their error handlers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tidings.web.compat import atom, fever, greader, greader_subs
from tidings.web.compat.common import MAX_BODY_BYTES, MAX_FIELDS, BodyTooLargeError, TooManyFieldsError
from tidings.web.compat.greader_auth import ReaderError, handle_reader_error


async def handle_too_large(request: Request, exc: Exception) -> Response:
    """A body over the limit -> 413 in plain text."""
    return PlainTextResponse(f"request body over {MAX_BODY_BYTES} bytes", status_code=413)


async def handle_too_many_fields(request: Request, exc: Exception) -> Response:
    """A form with too many fields -> 400 in plain text (Fever clients get their JSON base document)."""
    if request.url.path.rstrip("/").endswith(("/fever", "fever.php")):
        return JSONResponse({"api_version": 3, "auth": 0, "error": "too many fields"}, status_code=400)
    return PlainTextResponse(f"more than {MAX_FIELDS} form fields", status_code=400)


def install_compat(app: FastAPI) -> None:
    """Mount /accounts/ClientLogin, /reader/api/0/... and /fever/ on app (idempotent)."""
    if getattr(app.state, "compat_installed", False):
        return
    app.state.compat_installed = True
    app.include_router(greader.router)
    app.include_router(greader_subs.router)
    app.include_router(fever.router)
    app.include_router(atom.router)
    app.add_exception_handler(ReaderError, handle_reader_error)
    app.add_exception_handler(BodyTooLargeError, handle_too_large)
    app.add_exception_handler(TooManyFieldsError, handle_too_many_fields)
    app.add_middleware(CollapseSlashes)


class CollapseSlashes:
    """Serve `//reader/...` as `/reader/...`: newsboat adds a slash to a `feedhq-url` that ends in one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the path of compat requests with repeated leading slashes."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("//"):
            clean = "/" + path.lstrip("/")
            if clean.startswith(("/reader/", "/accounts/", "/fever")):
                scope = {**scope, "path": clean, "raw_path": clean.encode()}
        await self.app(scope, receive, send)
