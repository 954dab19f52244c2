"""Google Reader requests: who is calling (GoogleLogin auth and the edit token T), errors and answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.web.compat import keys
from tidings.web.compat.common import Params, read_params


class ReaderError(Exception):
    """A plain-text error answer, as Google Reader servers give."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers


@dataclass(frozen=True)
class Call:
    """An authenticated Reader request: who, the login token's hash, the fields, the app's engine."""

    user_id: int
    name: str
    token_hash: str
    params: Params
    engine: Engine
    settings: Settings


async def handle_reader_error(request: Request, exc: Exception) -> Response:
    """ReaderError -> its plain-text response."""
    assert isinstance(exc, ReaderError)
    return PlainTextResponse(exc.text, status_code=exc.status, headers=exc.headers)


def unauthorized(bad_token: bool = False) -> ReaderError:
    """The 401 answer (with Google-Bad-Token when an edit token was missing or wrong)."""
    return ReaderError(401, "Unauthorized!", {"Google-Bad-Token": "true"} if bad_token else None)


def auth_token(request: Request) -> str:
    """The token of `Authorization: GoogleLogin auth=TOKEN` (empty when absent)."""
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "googlelogin":
        return ""
    rest = rest.strip()
    return rest[len("auth=") :].strip() if rest.lower().startswith("auth=") else ""


async def authorise(request: Request, edit: bool = False) -> Call:
    """The authenticated call; 401 without a live token, or (for edits) without the right T token."""
    params = await read_params(request)
    engine: Engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    days = settings.session_max_age_days
    found = await run_in_threadpool(keys.user_for_token, engine, auth_token(request), days)
    if found is None:
        raise unauthorized()
    # Leniently, as FreshRSS: T may come in the form, the query or a `T` header (some apps send it there).
    presented = params.get("T") or request.headers.get("T")
    if edit and not keys.is_valid_edit_token(found["token_hash"], presented):
        raise unauthorized(bad_token=True)
    return Call(found["user_id"], found["name"], found["token_hash"], params, engine, settings)


async def answer_json(request: Request, build: Callable[[Call], dict[str, Any]]) -> Response:
    """Authorise a read, then answer build(call), worked out in a thread, as JSON."""
    call = await authorise(request)
    return JSONResponse(await run_in_threadpool(build, call))


async def answer_edit(request: Request, apply: Callable[[Call], None]) -> Response:
    """Authorise an edit (T token required), apply it in a thread, and answer "OK"."""
    call = await authorise(request, edit=True)
    await run_in_threadpool(apply, call)
    return PlainTextResponse("OK")


def bad_request(message: str) -> ReaderError:
    """A 400 answer."""
    return ReaderError(400, message)
