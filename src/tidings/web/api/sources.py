"""The caller's subscriptions: feed sources and OPML import/export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.datastructures import UploadFile

from tidings.ingest.opml import OpmlError, OpmlFeed, export_opml, parse_opml
from tidings.ingest.urls import canonicalize_url, is_http_url
from tidings.pipeline.subscriptions import subscribe_opml_feeds, subscribe_url
from tidings.store import subscriptions as subscription_repo
from tidings.web.api.deps import CurrentUser, EngineDep, SettingsDep
from tidings.web.api.errors import ApiError
from tidings.web.api.schemas import Source, SourceIn

router = APIRouter()
OPML_MEDIA_TYPE = "text/x-opml"
OPML_BODY_DOC = {
    "requestBody": {
        "description": "An OPML document, as the raw body or as a multipart form field named `file`.",
        "content": {
            "text/x-opml": {"schema": {"type": "string"}},
            "application/xml": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
        },
    }
}


class FeedCapError(ValueError):
    """A subscription would take the reader past TIDINGS_MAX_FEEDS_PER_USER."""


def ensure_room(engine: Engine, user_id: int, urls: list[str], cap: int) -> None:
    """Raise FeedCapError when subscribing to urls would give the user more than cap feeds.

    Checked before any shared source is created, so a refused import leaves nothing to fetch.
    """
    with engine.connect() as conn:
        have = {str(r["url"]) for r in subscription_repo.list_user_sources(conn, user_id)}
    new = {canonicalize_url(u) for u in urls} - have
    if len(have) + len(new) > cap:
        raise FeedCapError(
            f"a reader can follow at most {cap} feeds; you follow {len(have)} and this would add {len(new)}"
        )


@router.get("/sources", response_model=list[Source])
def get_sources(user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    """The caller's subscribed feeds with their fetch health."""
    with engine.connect() as conn:
        return subscription_repo.user_sources_json(conn, user.user_id)


@router.post("/sources", response_model=Source, status_code=201)
def post_source(
    body: SourceIn, user: CurrentUser, engine: EngineDep, settings: SettingsDep
) -> dict[str, Any]:
    """Subscribe the caller to a feed URL (shared sources are fetched once for everyone)."""
    url = body.url.strip()
    if not is_http_url(url):
        raise ApiError(422, f"not an http(s) URL: {url[:200]}")
    try:
        ensure_room(engine, user.user_id, [url], settings.max_feeds_per_user)
    except FeedCapError as exc:
        raise ApiError(422, str(exc)) from None
    source = subscribe_url(engine, url, shared_names=False)
    title = (body.title or "").strip() or None
    with engine.begin() as conn:
        subscription_repo.link_source(conn, user.user_id, int(source["id"]), None, title)
        return subscription_repo.user_source_json(conn, user.user_id, int(source["id"])) or source


@router.get("/opml", response_class=Response, responses={200: {"content": {OPML_MEDIA_TYPE: {}}}})
def get_opml(user: CurrentUser, engine: EngineDep) -> Response:
    """The caller's subscriptions as an OPML document, folders from categories."""
    with engine.connect() as conn:
        rows = subscription_repo.list_user_sources(conn, user.user_id)
    feeds = [
        OpmlFeed(url=r["url"], title=r.get("title"), html_url=r.get("site_url"), category=r.get("category"))
        for r in rows
    ]
    return Response(
        export_opml(feeds),
        media_type=OPML_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="tidings.opml"'},
    )


@router.post("/opml", response_model=list[Source], openapi_extra=OPML_BODY_DOC)
async def post_opml(
    request: Request, user: CurrentUser, engine: EngineDep, settings: SettingsDep
) -> list[dict[str, Any]]:
    """Subscribe the caller to every feed of an OPML document (raw body or multipart `file`)."""
    data = await read_opml_body(request)
    try:
        feeds = parse_opml(data)
    except OpmlError as exc:
        raise ApiError(422, str(exc)) from None
    usable = [f for f in feeds if is_http_url(f.url)]
    cap = settings.max_feeds_per_user
    try:
        return await run_in_threadpool(subscribe_feeds_for, engine, user.user_id, usable, cap)
    except FeedCapError as exc:
        raise ApiError(422, str(exc)) from None


async def read_opml_body(request: Request) -> bytes:
    """The OPML bytes of a request: the `file` field of a multipart form, else the raw body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "multipart OPML uploads need a file field named 'file'")
        data = await upload.read()
    else:
        data = await request.body()
    if not data.strip():
        raise ApiError(422, "the request has no OPML document")
    return data


def subscribe_feeds_for(
    engine: Engine, user_id: int, feeds: list[OpmlFeed], cap: int
) -> list[dict[str, Any]]:
    """Store the feeds as sources and subscribe the user to them, keeping the OPML titles and folders as
    the user's own (a shared source is never renamed or moved for its other subscribers).

    Raises FeedCapError, subscribing to none, when the user would pass cap feeds.
    """
    ensure_room(engine, user_id, [f.url for f in feeds], cap)
    stored = subscribe_opml_feeds(engine, feeds, shared_names=False)
    linked: list[subscription_repo.Link] = [
        (int(s["id"]), f.category, f.title) for s, f in zip(stored, feeds, strict=True)
    ]
    subscription_repo.link_sources(engine, user_id, linked)
    with engine.connect() as conn:
        mine = {s["id"]: s for s in subscription_repo.user_sources_json(conn, user_id)}
    return [mine.get(s["id"], s) for s in stored]
