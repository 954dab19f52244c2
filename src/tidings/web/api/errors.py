"""Consistent JSON error bodies for the API: {"error": {"code", "message"}}, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
}


class ApiError(Exception):
    """An error the API reports to the client with a status, a stable code and a one-line message."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message


def error_response(status: int, message: str, code: str | None = None, headers: Any = None) -> JSONResponse:
    """The JSON error response for status."""
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def is_api_request(request: Request) -> bool:
    """True for paths under /api/ (other paths keep FastAPI's default error pages)."""
    return request.url.path.startswith(API_PREFIX)


def describe_validation(exc: RequestValidationError) -> str:
    """One line naming the first few invalid fields and why."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def is_malformed_body(exc: RequestValidationError) -> bool:
    """True when the body is not parseable JSON at all (a 400 rather than a 422)."""
    return any(err.get("type") == "json_invalid" for err in exc.errors())


async def handle_api_error(request: Request, exc: Exception) -> Response:
    """ApiError -> its JSON body."""
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.message, exc.code, headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Starlette/FastAPI HTTPException (404 routes, 405, 413 body limit) in the API's shape."""
    assert isinstance(exc, StarletteHTTPException)
    if not is_api_request(request):
        return await http_exception_handler(request, exc)
    message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """Request validation failures: 400 for unparseable JSON, 422 otherwise."""
    assert isinstance(exc, RequestValidationError)
    if not is_api_request(request):
        return await request_validation_exception_handler(request, exc)
    if is_malformed_body(exc):
        return error_response(400, "the request body is not valid JSON")
    return error_response(422, describe_validation(exc))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Anything unhandled: logged with its traceback, answered with a bare 500."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the API's exception handlers on app (pages outside /api/ keep FastAPI's defaults)."""
    app.add_exception_handler(ApiError, handle_api_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)
