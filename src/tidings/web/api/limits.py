"""A request-body size guard for the API that answers 413 in the API's JSON error shape."""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.digits import ascii_int
from tidings.web.api.errors import API_PREFIX, CODES


class BodyLimitMiddleware:
    """Refuse /api/ request bodies over max_bytes with a JSON 413, before any handler reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer up to max_bytes of an API request body, then replay it to the app (or answer 413)."""
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        size = ascii_int(declared)
        if size is not None and size > self.max_bytes:
            await send_too_large(send, self.max_bytes)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await send_too_large(send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def send_too_large(send: Send, max_bytes: int) -> None:
    """Send the JSON 413 response."""
    body = json.dumps(
        {"error": {"code": CODES[413], "message": f"request body over {max_bytes} bytes"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Add the body guard to app (call before the app starts serving)."""
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)
