"""A request-body cap for the pages' forms (the API has its own): oversized posts get a plain 413."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.digits import ascii_int
from tidings.web.api.errors import API_PREFIX

MAX_FORM_BYTES = 3 * 1024 * 1024  # room for a 2 MB OPML upload and the multipart framing


class FormBodyLimit:
    """Refuse page request bodies over max_bytes with 413, by declared length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_FORM_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass API and non-HTTP traffic through; count the bytes of everything else."""
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        size = ascii_int(declared)
        if size is not None and size > self.max_bytes:
            await send_too_large(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await send_too_large(send)


class BodyTooLargeError(Exception):
    """The streamed body passed the cap."""


async def send_too_large(send: Send) -> None:
    """A short plain-text 413."""
    body = b"Request body too large."
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]}
    )
    await send({"type": "http.response.body", "body": body})
