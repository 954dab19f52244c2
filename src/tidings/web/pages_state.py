"""The reader's article state in the web: Saved, Unread (counts, mark all as read), state buttons, Undo."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from tidings.digits import ascii_int, is_ascii_digits
from tidings.service import reading
from tidings.service.feed import feed_for
from tidings.service.users import change_target
from tidings.store import articles as article_repo
from tidings.store import reading as state_repo
from tidings.store import streams as stream_repo
from tidings.store import topics as topic_repo
from tidings.web.compat.streams import Stream, selection
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import offer_undo, redirect, render, require_user, safe_next
from tidings.web.session import WebUser

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
SAVED_PAGE = 50
FOR_YOU_DEPTH = 200


class StateAction(NamedTuple):
    """What a single-article state button does: set state to value, then show note."""

    state: str
    value: bool | int
    note: str


# Single-article state buttons by action.
STATE_ACTIONS: dict[str, StateAction] = {
    "read": StateAction("read", True, "marked-read"),
    "unread": StateAction("read", False, "marked-unread"),
    "save": StateAction("saved", True, "saved"),
    "unsave": StateAction("saved", False, "unsaved"),
    "like": StateAction("liked", 1, "liked"),
    "dislike": StateAction("liked", -1, "disliked"),
    "unlike": StateAction("liked", 0, "unliked"),
}
SCOPES = ("feed", "folder", "topic", "for-you", "all")
Short = Annotated[str, Form(max_length=520)]


@router.get("/saved")
def saved_page(request: Request, page: Annotated[int, Query(ge=1, le=1000)] = 1) -> Response:
    """The reader's saved articles, most recently saved first, each with Unsave."""
    user = require_user(request)
    with request.app.state.engine.connect() as conn:
        ids = state_repo.saved_ids(conn, user.id, SAVED_PAGE + 1, (page - 1) * SAVED_PAGE)
        rows = article_repo.article_rows(conn, ids[:SAVED_PAGE])
    context = {"rows": rows, "page": page, "has_more": len(ids) > SAVED_PAGE, "here": request.url.path}
    return render(request, "saved.html", context)


def unread_summary(engine: Any, user_id: int) -> dict[str, Any]:
    """Unread counts per feed, per folder and per topic over the reader's feeds (as the apps count)."""
    with engine.connect() as conn:
        per_feed = stream_repo.unread_counts(conn, user_id)
        feeds = {int(s["id"]): s for s in stream_repo.app_sources(conn, user_id)}
        topics = stream_repo.unread_topic_counts(conn, user_id)
    folders: dict[str, int] = {}
    rows = []
    for r in per_feed:
        source = feeds.get(int(r["source_id"]), {})
        rows.append({"id": int(r["source_id"]), "title": source.get("title") or source.get("url"), **r})
        if r.get("category"):
            folders[str(r["category"])] = folders.get(str(r["category"]), 0) + int(r["count"])
    rows.sort(key=lambda r: (-int(r["count"]), str(r["title"]).casefold()))
    return {
        "feeds": rows,
        "folders": sorted(folders.items(), key=lambda kv: (-kv[1], kv[0].casefold())),
        "topics": topics,
        "total": sum(int(r["count"]) for r in per_feed),
    }


@router.get("/unread")
async def unread_page(request: Request) -> Response:
    """Unread counts per feed, folder and topic, each with "Mark all as read"."""
    user = require_user(request)
    summary = await run_in_threadpool(unread_summary, request.app.state.engine, user.id)
    return render(request, "unread.html", {**summary, "here": "/unread"})


def scope_ids(request: Request, user: WebUser, scope: str, value: str) -> list[int]:
    """The unread article ids a "mark all as read" covers."""
    engine = request.app.state.engine
    if scope == "for-you":
        _, result = feed_for(engine, request.app.state.settings, user.name, FOR_YOU_DEPTH, show_read=False)
        return [int(it.article_id) for it in result.items]
    with engine.connect() as conn:
        if scope == "topic":
            listed = topic_repo.topic_article_ids(conn, value, limit=FOR_YOU_DEPTH)
            read = state_repo.ids_with(conn, user.id, "read")
            mine = stream_repo.topic_unread_ids(conn, user.id, value)
            return list(dict.fromkeys([*(i for i in listed if i not in read), *mine]))
        streams = {"feed": Stream("feed", value), "folder": Stream("label", value)}
        stream = streams.get(scope, Stream("reading-list"))
        return stream_repo.stream_unread_ids(conn, user.id, selection(stream), None)


@router.post("/mark-read")
def mark_all_read(
    request: Request, scope: Annotated[str, Form(max_length=16)], value: Short = "", next: Short = "/unread"
) -> Response:
    """Mark everything unread in a feed, folder, topic, For you or all feeds as read: one bulk change."""
    user = require_user(request)
    if scope not in SCOPES or (scope in ("feed", "folder", "topic") and not value.strip()):
        raise HTTPException(status_code=422, detail="Mark as read needs a scope: feed, folder, topic or all.")
    if scope == "feed" and not is_ascii_digits(value):
        raise HTTPException(status_code=422, detail="A feed is named by its number.")
    ids = scope_ids(request, user, scope, value.strip())
    engine, settings = request.app.state.engine, request.app.state.settings
    change = reading.mark(engine, settings, user.id, ids, "read", True, bulk=True)
    if not change.changed:
        return redirect(safe_next(next), "nothing-unread")
    return offer_undo(redirect(safe_next(next), "marked-all-read"), f"read-all:{change.at.isoformat()}")


@router.post("/state")
def set_state(
    request: Request,
    article_id: Annotated[int, Form(ge=1, le=2**62)],
    action: Annotated[str, Form(max_length=16)],
    next: Short = "/",
) -> Response:
    """One state change on one article: read/unread, save/unsave, like/dislike/unlike, unhide."""
    user = require_user(request)
    engine, settings = request.app.state.engine, request.app.state.settings
    if not reading.state_of(engine, user.id, [article_id]):
        raise HTTPException(status_code=404, detail="No such article.")
    if action == "unhide":
        change, note = reading.unhide(engine, settings, user.id, article_id), "unhidden"
    elif action in STATE_ACTIONS:
        name, value, note = STATE_ACTIONS[action]
        change = reading.mark(engine, settings, user.id, [article_id], name, value)
    else:
        raise HTTPException(status_code=422, detail="Unknown action.")
    return redirect(safe_next(next), note if change.changed else None)


@router.post("/undo")
def undo(request: Request, undo: Short, next: Short = "/") -> Response:
    """Undo the last hide, mute or mark-all-as-read (the code came with the note that offered Undo)."""
    user = require_user(request)
    kind, _, value = undo.partition(":")
    engine, settings = request.app.state.engine, request.app.state.settings
    article_id = ascii_int(value) if kind == "unhide" else None
    if article_id is not None:
        reading.unhide(engine, settings, user.id, article_id)
    elif kind == "unmute" and value:
        try:
            change_target(engine, user.name, "unmute", value)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
    elif kind == "read-all":
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise HTTPException(status_code=422, detail="Nothing to undo.") from None
        reading.undo_bulk_read(engine, user.id, at)
    else:
        raise HTTPException(status_code=422, detail="Nothing to undo.")
    return redirect(safe_next(next), "undone")
