"""The Fever API (`/fever/?api`) as FreshRSS and Miniflux serve it, plus a "For you" group.

The "For you" group (id 1) lists the feeds of the ranked feed; `items&group_id=1` (an extension) returns
those items in ranked order, so clients that can ask for a group's items get Tidings' ranking.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ingest.urls import safe_http_url
from tidings.service import reading
from tidings.store import streams as stream_repo
from tidings.store.streams import IdPage, Window
from tidings.web.compat import common, keys
from tidings.web.compat.common import (
    FailureLimiter,
    Params,
    client_key,
    epoch_seconds,
    ranked_ids,
    read_params,
    website_of,
)
from tidings.web.compat.streams import FOR_YOU_LABEL, Stream, is_small_id, parse_epoch, selection

API_VERSION = 3
FOR_YOU_GROUP_ID = 1
ALL_GROUP_ID = 0  # Fever's "Kindling": every feed
PAGE = 50
KEY_FAILURES = FailureLimiter(limit=20, window=300.0)
router = APIRouter(include_in_schema=False)


class FeverError(ValueError):
    """A malformed Fever request (answered 400 with the base document)."""


@dataclass(frozen=True)
class Call:
    """An authenticated Fever request."""

    user_id: int
    name: str
    params: Params
    engine: Engine
    settings: Settings


def group_id(category: str) -> int:
    """A stable positive group id for a folder name (ids 0 and 1 are reserved)."""
    return 2 + zlib.crc32(category.encode()) % (2**31 - 3)


def int_field(params: Params, key: str) -> int | None:
    """An integer field, None when absent; FeverError when malformed."""
    raw = params.get(key)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not is_small_id(text.removeprefix("-")):
        raise FeverError(f"{key} must be an integer")
    return int(text)


def id_list(raw: str | None, limit: int = PAGE) -> list[int]:
    """Comma-separated ids (at most limit); FeverError when malformed."""
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not all(is_small_id(p) for p in parts):
        raise FeverError("ids are comma-separated integers")
    return [int(p) for p in parts[:limit]]


def joined(ids: list[int]) -> str:
    """Ids as Fever's comma-separated string."""
    return ",".join(str(i) for i in ids)


# --- sections ---------------------------------------------------------------------------------------


def groups_section(call: Call, subs: list[dict[str, Any]]) -> dict[str, Any]:
    """groups and feeds_groups: the user's folders plus the For you group."""
    folders = sorted({str(s["category"]) for s in subs if s.get("category")} - {FOR_YOU_LABEL})
    ranked = ranked_ids(call.engine, call.settings, call.user_id, call.name)
    with call.engine.connect() as conn:
        ranked_feeds = sorted(
            {int(r["source_id"]) for r in stream_repo.load_items(conn, call.user_id, ranked)}
        )
    groups = [{"id": FOR_YOU_GROUP_ID, "title": FOR_YOU_LABEL}]
    groups += [{"id": group_id(f), "title": f} for f in folders]
    links = [{"group_id": FOR_YOU_GROUP_ID, "feed_ids": joined(ranked_feeds)}]
    links += [
        {"group_id": group_id(f), "feed_ids": joined([int(s["id"]) for s in subs if s.get("category") == f])}
        for f in folders
    ]
    return {"groups": groups, "feeds_groups": links}


def feeds_section(subs: list[dict[str, Any]]) -> dict[str, Any]:
    """The user's feeds."""
    feeds = [
        {
            "id": int(s["id"]),
            "favicon_id": int(s["id"]) if s.get("icon") else 0,
            "title": s.get("title") or s["url"],
            "url": safe_http_url(s["url"]) or "",
            "site_url": website_of(s),
            "is_spark": 0,
            "last_updated_on_time": epoch_seconds(s.get("last_success")),
        }
        for s in subs
    ]
    return {"feeds": feeds}


def fever_item(row: dict[str, Any]) -> dict[str, Any]:
    """One article as a Fever item."""
    return {
        "id": int(row["id"]),
        "feed_id": int(row["source_id"]),
        "title": common.item_title(row),
        "author": common.item_author(row),
        "html": common.item_html(row),
        "url": safe_http_url(row.get("url")) or "",
        "is_saved": int(bool(row["is_starred"])),
        "is_read": int(bool(row["is_read"])),
        "created_on_time": epoch_seconds(row["sort_time"]),
    }


def items_section(call: Call) -> dict[str, Any]:
    """Up to 50 items: with_ids, since_id (ascending), max_id (descending), or the For you group's order;
    feed_ids and group_ids (FreshRSS's extension) narrow the items to some feeds or folders."""
    params = call.params
    since_id, max_id = int_field(params, "since_id"), int_field(params, "max_id")
    with_ids = params.get("with_ids")
    if int_field(params, "group_id") == FOR_YOU_GROUP_ID:
        rows = ranked_items(call, since_id, max_id)
    elif with_ids is not None:
        with call.engine.connect() as conn:
            rows = stream_repo.load_items(conn, call.user_id, id_list(with_ids))
    else:
        newest_first = max_id is not None and since_id is None
        page = IdPage(since_id, max_id, feed_filter(call), newest_first)
        with call.engine.connect() as conn:
            rows = stream_repo.item_page(conn, call.user_id, page, PAGE)
    with call.engine.connect() as conn:
        total = stream_repo.count_visible(conn, call.user_id)
    return {"items": [fever_item(r) for r in rows], "total_items": total}


def ranked_items(call: Call, since_id: int | None, max_id: int | None) -> list[dict[str, Any]]:
    """A page of the For you group in ranked order: max_id pages on after that item, since_id keeps only
    items newer than it (by id), both without leaving the ranking's order."""
    ids = ranked_ids(call.engine, call.settings, call.user_id, call.name)
    if max_id is not None:
        ids = ids[ids.index(max_id) + 1 :] if max_id in ids else []
    if since_id is not None:
        ids = [i for i in ids if i > since_id]
    with call.engine.connect() as conn:
        return stream_repo.load_items(conn, call.user_id, ids[:PAGE])


def feed_filter(call: Call) -> list[int] | None:
    """The feeds that feed_ids and group_ids (comma-separated; a group is a folder) name; None: all."""
    feeds = id_list(call.params.get("feed_ids"), limit=1000) if call.params.has("feed_ids") else None
    groups = id_list(call.params.get("group_ids"), limit=1000) if call.params.has("group_ids") else None
    if groups is not None:
        with call.engine.connect() as conn:
            subs = stream_repo.app_sources(conn, call.user_id)
        in_groups = [
            int(s["id"]) for s in subs if s.get("category") and group_id(str(s["category"])) in groups
        ]
        feeds = in_groups if feeds is None else [f for f in feeds if f in in_groups]
    return feeds


def unread_section(call: Call) -> dict[str, Any]:
    """Every unread item id."""
    with call.engine.connect() as conn:
        return {"unread_item_ids": joined(stream_repo.state_ids(conn, call.user_id, "is_read", False))}


def saved_section(call: Call) -> dict[str, Any]:
    """Every saved (starred) item id."""
    with call.engine.connect() as conn:
        return {"saved_item_ids": joined(stream_repo.state_ids(conn, call.user_id, "is_starred", True))}


ITEM_MARKS = {"read": ("is_read", True), "unread": ("is_read", False), "saved": ("is_starred", True)}
ITEM_MARKS["unsaved"] = ("is_starred", False)


def apply_mark(call: Call) -> dict[str, Any]:
    """mark=item|feed|group; returns the id list the change affects, as Fever does."""
    params = call.params
    what, how, target = params.get("mark"), params.get("as"), int_field(params, "id")
    if target is None:
        raise FeverError("mark needs an id")
    if what == "item" and how in ITEM_MARKS:
        field, value = ITEM_MARKS[how]
        with call.engine.connect() as conn:
            mine = stream_repo.filter_ids(conn, call.user_id, [target], Window())
        # Fever has no error answer: a mark on an unknown or invisible item changes nothing, as in FreshRSS.
        # A read or a save in the app is a reading signal, as in the web.
        reading.mark(call.engine, call.settings, call.user_id, mine, stream_repo.STATE_NAMES[field], value)
        return saved_section(call) if field == "is_starred" else unread_section(call)
    if what in ("feed", "group") and how == "read":
        before = parse_epoch(params.get("before"))
        mark_many_read(call, what, target, before)
        return unread_section(call)
    raise FeverError("mark is item (as read, unread, saved, unsaved) or feed/group (as read)")


def mark_many_read(call: Call, what: str | None, target: int, before: Any) -> None:
    """Mark a feed, a folder, everything (group 0) or the For you group read up to `before`."""
    if what == "group" and target == FOR_YOU_GROUP_ID:
        ranked = ranked_ids(call.engine, call.settings, call.user_id, call.name)
        with call.engine.connect() as conn:
            ids = stream_repo.filter_ids(conn, call.user_id, ranked, Window(older_than=before))
        reading.mark(call.engine, call.settings, call.user_id, ids, "read", True, bulk=True)
        return
    stream = Stream("feed", str(target)) if what == "feed" else None
    if what == "group" and target == ALL_GROUP_ID:
        stream = Stream("reading-list")
    elif what == "group":
        with call.engine.connect() as conn:
            subs = stream_repo.app_sources(conn, call.user_id)
        names = {str(s["category"]) for s in subs if s.get("category")}
        folder = next((n for n in names if group_id(n) == target), None)
        if folder is None:
            return
        stream = Stream("label", folder)
    if stream is not None:
        with call.engine.connect() as conn:
            ids = stream_repo.stream_unread_ids(conn, call.user_id, selection(stream), before)
        reading.mark(call.engine, call.settings, call.user_id, ids, "read", True, bulk=True)


def answer(call: Call) -> dict[str, Any]:
    """The whole Fever document for an authenticated request (several sections may be asked at once)."""
    params = call.params
    with call.engine.connect() as conn:
        refreshed = stream_repo.newest_ingest(conn, call.user_id)
        subs = stream_repo.app_sources(conn, call.user_id)
    doc: dict[str, Any] = {"api_version": API_VERSION, "auth": 1}
    doc["last_refreshed_on_time"] = epoch_seconds(refreshed)
    if params.has("mark"):
        doc.update(apply_mark(call))
    if params.has("groups"):
        doc.update(groups_section(call, subs))
    if params.has("feeds"):
        doc.update(feeds_section(subs))
        if "feeds_groups" not in doc:
            doc["feeds_groups"] = groups_section(call, subs)["feeds_groups"]
    if params.has("items"):
        doc.update(items_section(call))
    if params.has("unread_item_ids"):
        doc.update(unread_section(call))
    if params.has("saved_item_ids"):
        doc.update(saved_section(call))
    if params.has("favicons"):
        doc["favicons"] = [{"id": int(s["id"]), "data": str(s["icon"])} for s in subs if s.get("icon")]
    if params.has("links"):
        doc["links"] = []
    return doc


@router.api_route("/api/fever.php", methods=["GET", "POST"])
@router.api_route("/fever", methods=["GET", "POST"])
@router.api_route("/fever/", methods=["GET", "POST"])
async def fever(request: Request) -> Response:
    """The single Fever endpoint."""
    base = {"api_version": API_VERSION, "auth": 0}
    params = await read_params(request)
    if not params.has("api"):
        return JSONResponse(base, status_code=400)
    who = client_key(request)
    if KEY_FAILURES.is_blocked(who):
        return JSONResponse(base, status_code=429, headers={"Retry-After": "300"})
    engine: Engine = request.app.state.engine
    found = await run_in_threadpool(keys.user_for_fever_key, engine, params.get("api_key"))
    if found is None:
        KEY_FAILURES.record_failure(who)
        return JSONResponse(base)
    call = Call(found["user_id"], found["name"], params, engine, request.app.state.settings)
    try:
        return JSONResponse(await run_in_threadpool(answer, call))
    except (FeverError, ValueError) as exc:
        return JSONResponse({**base, "auth": 1, "error": str(exc)[:200]}, status_code=400)
