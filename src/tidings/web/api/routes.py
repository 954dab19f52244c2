"""The REST API's router under /api/v1, and `install_api(app)`, which mounts it with its error handlers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tidings.web.api import content, personal, sources, state
from tidings.web.api.errors import install_error_handlers
from tidings.web.api.limits import install_body_limit
from tidings.web.api.schemas import ErrorBody

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Malformed request"),
        (401, "Missing, wrong or revoked token"),
        (404, "No such item"),
        (413, "Request body over 1 MiB"),
        (422, "Invalid parameters or body"),
        (429, "Rate limited"),
    )
}

router = APIRouter(prefix=API_PREFIX, max_body_size=MAX_BODY_BYTES, responses=ERROR_RESPONSES)
router.include_router(content.router, tags=["reading"])
router.include_router(personal.router, tags=["personal"])
router.include_router(sources.router, tags=["sources"])
router.include_router(state.router, tags=["state"])


def install_api(app: FastAPI) -> None:
    """Mount the API router with its JSON error handlers and its 1 MiB body guard (idempotent)."""
    if getattr(app.state, "api_installed", False):
        return
    app.state.api_installed = True
    app.include_router(router)
    install_error_handlers(app)
    install_body_limit(app, MAX_BODY_BYTES)
