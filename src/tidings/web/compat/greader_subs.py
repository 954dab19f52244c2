"""Google Reader subscriptions, folders and unread counts: listing them, and editing them as apps do."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from tidings.ingest.urls import canonicalize_url, is_http_url, safe_http_url
from tidings.pipeline.subscriptions import NotAFeedError, subscribe_checked, subscribe_url
from tidings.store import sources as source_repo
from tidings.store import streams as stream_repo
from tidings.store import subscriptions as subscription_repo
from tidings.store.streams import Window
from tidings.web.api.sources import FeedCapError, ensure_room
from tidings.web.compat.common import epoch_micros, ranked_ids, website_of
from tidings.web.compat.greader import PREFIX
from tidings.web.compat.greader_auth import Call, answer_edit, answer_json, authorise, bad_request
from tidings.web.compat.streams import (
    FOR_YOU,
    FOR_YOU_LABEL,
    LABEL_PREFIX,
    READING_LIST,
    STARRED,
    feed_ref,
    label_id,
    normalise_stream_id,
)

MAX_EDITS = 100
router = APIRouter(include_in_schema=False)


# --- lists and counts ----------------------------------------------------------------------------


def subscriptions_json(call: Call) -> dict[str, Any]:
    """The user's feeds with their folders."""
    with call.engine.connect() as conn:
        rows = stream_repo.app_sources(conn, call.user_id)
    subs = []
    for r in rows:
        category = r.get("category")
        subs.append(
            {
                "id": f"feed/{r['id']}",
                "title": r.get("title") or r["url"],
                "categories": [{"id": label_id(category), "label": category}] if category else [],
                "url": safe_http_url(r["url"]) or "",
                "htmlUrl": website_of(r),
                "iconUrl": urljoin(website_of(r), "/favicon.ico") if website_of(r) else "",  # the site's icon
            }
        )
    return {"subscriptions": subs}


@router.get(PREFIX + "/subscription/list")
async def subscription_list(request: Request) -> Response:
    """The user's subscriptions."""
    return await answer_json(request, subscriptions_json)


def tags_json(call: Call) -> dict[str, Any]:
    """Starred, the user's folders, and the For you tag."""
    with call.engine.connect() as conn:
        rows = stream_repo.app_sources(conn, call.user_id)
    folders = sorted({str(r["category"]) for r in rows if r.get("category")} - {FOR_YOU_LABEL})
    tags: list[dict[str, Any]] = [{"id": STARRED}]
    tags += [{"id": label_id(f), "type": "folder"} for f in folders]
    tags.append({"id": FOR_YOU, "type": "tag"})
    return {"tags": tags}


@router.get(PREFIX + "/tag/list")
async def tag_list(request: Request) -> Response:
    """Folders and tags."""
    return await answer_json(request, tags_json)


def unread_json(call: Call) -> dict[str, Any]:
    """Unread counts per feed, per folder, for the reading list and for the For you tag."""
    ranked = ranked_ids(call.engine, call.settings, call.user_id, call.name)
    with call.engine.connect() as conn:
        rows = stream_repo.unread_counts(conn, call.user_id)
        for_you = stream_repo.filter_ids(conn, call.user_id, ranked, Window(unread_only=True))
    per_stream: dict[str, list[Any]] = {}
    for r in rows:
        streams = [f"feed/{r['source_id']}", READING_LIST]
        if r.get("category"):
            streams.append(label_id(str(r["category"])))
        for sid in streams:
            count, newest = per_stream.get(sid, [0, 0])
            per_stream[sid] = [count + int(r["count"]), max(newest, epoch_micros(r["newest"]))]
    counts = [
        {"id": sid, "count": count, "newestItemTimestampUsec": str(newest)}
        for sid, (count, newest) in per_stream.items()
    ]
    if for_you:
        counts.append({"id": FOR_YOU, "count": len(for_you), "newestItemTimestampUsec": "0"})
    return {"max": sum(int(r["count"]) for r in rows), "unreadcounts": counts}


@router.get(PREFIX + "/unread-count")
async def unread_count(request: Request) -> Response:
    """Unread counts."""
    return await answer_json(request, unread_json)


# --- edits ------------------------------------------------------------------------------------------


def folder_of(raw: str | None) -> str | None:
    """The folder name of a `user/-/label/<name>` id (None when absent or not a label)."""
    sid = normalise_stream_id(raw or "")
    name = sid[len(LABEL_PREFIX) :].strip() if sid.startswith(LABEL_PREFIX) else ""
    if not name or name == FOR_YOU_LABEL or len(name) > 200:
        return None
    return name


def feed_of(raw: str) -> str:
    """The id or URL part of a `feed/...` stream id; 400 for anything else."""
    sid = raw.strip()
    if not sid.startswith("feed/") or len(sid) <= len("feed/"):
        raise bad_request(f"not a feed stream id: {raw[:200]!r}")
    return sid[len("feed/") :]


def add_feed(call: Call, feed: str, folder: str | None) -> dict[str, Any]:
    """Subscribe the user to a feed URL (shared sources are stored once); the source object."""
    if not is_http_url(feed):
        raise bad_request(f"not an http(s) feed URL: {feed[:200]!r}")
    try:
        ensure_room(call.engine, call.user_id, [feed.strip()], call.settings.max_feeds_per_user)
    except FeedCapError as exc:
        raise bad_request(str(exc)) from None
    # No title: a shared source's title is not one user's to change.
    source = subscribe_url(call.engine, feed.strip(), shared_names=False)
    with call.engine.begin() as conn:
        subscription_repo.link_source(conn, call.user_id, int(source["id"]), folder)
    return source


def edit_subscriptions(call: Call) -> None:
    """subscription/edit: ac=subscribe|unsubscribe|edit for each s, with a=/r= folders."""
    action, streams = call.params.get("ac") or "edit", call.params.getlist("s")[:MAX_EDITS]
    added, removed = folder_of(call.params.get("a")), folder_of(call.params.get("r"))
    if action not in ("subscribe", "unsubscribe", "edit") or not streams:
        raise bad_request("subscription/edit needs ac=subscribe|unsubscribe|edit and at least one s")
    for feed in [feed_of(s) for s in streams]:
        if action == "subscribe":
            add_feed(call, feed, added)
            continue
        with call.engine.begin() as conn:
            source_id = subscription_repo.subscribed_source_id(conn, call.user_id, feed_ref(feed))
            if source_id is None:
                raise bad_request(f"not subscribed to feed/{feed[:200]}")
            if action == "unsubscribe":
                subscription_repo.unsubscribe(conn, call.user_id, source_id)
                continue
            if added or removed:
                subscription_repo.set_folder(conn, call.user_id, source_id, added)
            if call.params.has("t"):  # a rename: the caller's own title, never the shared feed's
                source_repo.set_subscription_title(conn, call.user_id, source_id, call.params.get("t"))


@router.post(PREFIX + "/subscription/edit")
async def subscription_edit(request: Request) -> Response:
    """Subscribe, unsubscribe, or move feeds between folders."""
    return await answer_edit(request, edit_subscriptions)


def is_known_feed(call: Call, url: str) -> bool:
    """True when the URL is already a feed this instance fetches (its health is already tracked)."""
    with call.engine.connect() as conn:
        return source_repo.find_source(conn, canonicalize_url(url)) is not None


@router.post(PREFIX + "/subscription/quickadd")
async def subscription_quickadd(request: Request) -> Response:
    """Subscribe to a feed URL given as quickadd."""
    call = await authorise(request, edit=True)
    raw = (call.params.get("quickadd") or "").strip()
    url = raw[len("feed/") :] if raw.startswith("feed/") else raw
    if not is_http_url(url):
        raise bad_request(f"not an http(s) feed URL: {url[:200]!r}")
    try:  # a new feed is fetched and validated first: an app must not show a subscription that cannot work
        if not await run_in_threadpool(is_known_feed, call, url.strip()):
            await run_in_threadpool(subscribe_checked, call.engine, call.settings, url.strip())
    except NotAFeedError as exc:
        return JSONResponse({"numResults": 0, "query": url, "error": str(exc)[:300]}, status_code=400)
    source = await run_in_threadpool(add_feed, call, url, None)
    return JSONResponse(
        {
            "numResults": 1,
            "query": url,
            "streamId": f"feed/{source['id']}",
            "streamName": source.get("title") or url,
        }
    )


def move_folder(call: Call, new: str | None, usage: str) -> None:
    """Move the feeds of the folder in s (or t) to folder new (None: back to their own); 400 with usage."""
    old = folder_of(call.params.get("s")) or folder_of(label_id(call.params.get("t") or ""))
    if old is None:
        raise bad_request(usage)
    with call.engine.begin() as conn:
        subscription_repo.rename_folder(conn, call.user_id, old, new)


def rename_folder(call: Call) -> None:
    """rename-tag: s (or t) is the old folder, dest the new one."""
    usage = "rename-tag needs s=user/-/label/OLD and dest=user/-/label/NEW"
    new = folder_of(call.params.get("dest"))
    if new is None:
        raise bad_request(usage)
    move_folder(call, new, usage)


@router.post(PREFIX + "/rename-tag")
async def rename_tag(request: Request) -> Response:
    """Rename a folder."""
    return await answer_edit(request, rename_folder)


def drop_folder(call: Call) -> None:
    """disable-tag: feeds in the folder go back to their own folder (or none)."""
    move_folder(call, None, "disable-tag needs s=user/-/label/NAME")


@router.post(PREFIX + "/disable-tag")
async def disable_tag(request: Request) -> Response:
    """Remove a folder."""
    return await answer_edit(request, drop_folder)
