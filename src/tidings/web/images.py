"""The image proxy: readers' browsers load article images from Tidings, never from publishers or trackers.

Image URLs in pages become /img/<signature>/<encoded url>; the signature (an HMAC with this install's
key) keeps the proxy from being an open relay. Fetches go through the fetcher (its limits, timeouts and SSRF
rules), only raster images are accepted (sniffed from their bytes, never SVG, which can carry script), and
each image is cached on disk under TIDINGS_HOME/images.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from pathlib import Path
from typing import Annotated, Any

import lxml.html
from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from jinja2 import pass_context
from lxml import etree

from tidings.config import Settings
from tidings.ingest.fetcher import Fetcher, FetchError
from tidings.secret import server_key, subkey
from tidings.web.pages_common import require_reader, templates

router = APIRouter(include_in_schema=False)
MAX_IMAGE_BYTES = 8 * 1024 * 1024
SIGNATURE_CHARS = 32
# Magic numbers of the raster formats browsers show; anything else is refused.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_LOCK = threading.Lock()


def install_key(settings: Settings) -> bytes:
    """The image-proxy signing key: a sub-key of the server key (TIDINGS_SECRET_KEY or its key file)."""
    return subkey(server_key(settings), "images")


def sign(key: bytes, url: str) -> str:
    """The signature of one image URL."""
    return hmac.new(key, url.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def proxy_path(key: bytes, url: str | None) -> str | None:
    """The local path that serves `url` (http(s) only; data: URIs stay as they are; others are dropped)."""
    if not url:
        return None
    url = url.strip()
    if url.startswith("data:image/"):
        return url
    if not url.lower().startswith(("http://", "https://")) or len(url) > 2048:
        return None
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return f"/img/{sign(key, url)}/{encoded}"


def decode_target(signature: str, encoded: str, key: bytes) -> str:
    """The URL behind a proxy path; 404 when the signature does not match."""
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise HTTPException(status_code=404, detail="No such image.") from None
    if not hmac.compare_digest(sign(key, url), signature):
        raise HTTPException(status_code=404, detail="No such image.")
    return url


def sniff(data: bytes) -> str | None:
    """The image type from the first bytes (JPEG, PNG, GIF, WebP, AVIF), else None."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    return None


def app_key(request: Request) -> bytes:
    """This app's signing key (read once)."""
    state = request.app.state
    if not hasattr(state, "image_key"):
        state.image_key = install_key(state.settings)
    key: bytes = state.image_key
    return key


@pass_context
def proxied(context: Any, url: str | None) -> str:
    """Jinja filter: an image URL as its proxy path ("" when it cannot be shown)."""
    return proxy_path(app_key(context["request"]), url) or ""


templates.env.filters["proxied"] = proxied


def rewrite_images(html: str, key: bytes) -> str:
    """Article HTML with every <img> served through the proxy, lazy-loaded; <source>, srcset and images
    that cannot be proxied are removed."""
    if "<img" not in html and "<source" not in html:
        return html
    try:
        tree = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return html
    for source in list(tree.iter("source")):
        source.drop_tag()  # the HTML parser may nest the <img> inside an unclosed <source>
    for img in list(tree.iter("img")):
        local = proxy_path(key, img.get("src"))
        if local is None:
            img.drop_tree()
            continue
        for name in ("srcset", "sizes"):
            img.attrib.pop(name, None)
        img.set("src", local)
        img.set("loading", "lazy")
        img.set("decoding", "async")
        img.set("alt", img.get("alt") or "")
    inner = "".join(lxml.html.tostring(child, encoding="unicode") for child in tree)
    return (tree.text or "") + inner


def cache_dir(settings: Settings) -> Path:
    """Where fetched images are kept."""
    return settings.home / "images"


def load_image(settings: Settings, fetcher: Fetcher, url: str) -> tuple[bytes, str]:
    """The image at url, from the cache or fetched (raises HTTPException when it is not an image)."""
    folder = cache_dir(settings)
    name = hashlib.sha256(url.encode()).hexdigest()
    path = folder / name
    if path.exists():
        data = path.read_bytes()
        kind = sniff(data)
        if kind:
            return data, kind
    try:
        result = fetcher.fetch(url, check_robots=False)
    except FetchError as exc:
        raise HTTPException(status_code=502, detail=f"The image could not be fetched ({exc.kind}).") from None
    data = result.content
    kind = sniff(data)
    if kind is None or len(data) > MAX_IMAGE_BYTES:
        raise HTTPException(status_code=415, detail="That is not an image Tidings shows.")
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.{secrets.token_hex(4)}"
    partial.write_bytes(data)
    partial.replace(path)
    return data, kind


def app_fetcher(request: Request) -> Fetcher:
    """One fetcher per app for images (its own per-host politeness and limits)."""
    state = request.app.state
    with _LOCK:
        if not hasattr(state, "image_fetcher"):
            settings: Settings = state.settings
            cap = min(settings.max_body_bytes, MAX_IMAGE_BYTES)
            limited = settings.model_copy(update={"max_body_bytes": cap, "politeness_delay": 0})
            state.image_fetcher = Fetcher(limited)
    fetcher: Fetcher = state.image_fetcher
    return fetcher


@router.get("/img/{signature}/{encoded}")
async def image(
    request: Request,
    signature: Annotated[str, PathParam(min_length=SIGNATURE_CHARS, max_length=SIGNATURE_CHARS)],
    encoded: Annotated[str, PathParam(min_length=1, max_length=4096)],
) -> Response:
    """Serve one proxied image (readers only, unless public reading is on)."""
    require_reader(request)
    url = decode_target(signature, encoded, app_key(request))
    settings = request.app.state.settings
    data, kind = await run_in_threadpool(load_image, settings, app_fetcher(request), url)
    headers = {
        "Cache-Control": "private, max-age=604800, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Referrer-Policy": "no-referrer",
    }
    return Response(data, media_type=kind, headers=headers)
