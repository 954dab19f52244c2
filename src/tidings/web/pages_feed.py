"""For you: ranked story cards, their actions, "Why this?" with signal switches, and what was hidden."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from tidings.rank import DEFAULT_WEIGHTS, FEATURES, FeedItem, FeedResult
from tidings.service.feed import RateLimitedError, feed_for, record_event
from tidings.service.users import change_target
from tidings.store import articles as article_repo
from tidings.store import reading as state_repo
from tidings.store import stories as story_repo
from tidings.store import users as user_repo
from tidings.store.users import NotFoundError
from tidings.store.util import utcnow
from tidings.web import account
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import offer_undo, redirect, render, require_user, safe_next, wants_json
from tidings.web.pages_settings import settings_page_with
from tidings.web.session import WebUser

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
PAGE_SIZE = 20
MAX_PAGES = 10  # 200 stories: the depth the ranking plans for (rank.feed.DEPTH)
HIDDEN_PAGE_SIZE = 50
WHY_DEPTH = 100
EVENT_ACTIONS = {"like": "liked", "save": "saved", "hide": "hidden", "more": "more", "fewer": "fewer"}
SIGNAL_LABELS = {
    "sim_long": "Similar to your long-term reading",
    "sim_short": "Similar to your recent reading",
    "sim_item": "Like one article you read",
    "negative": "Like things you hid",
    "follow_topic": "Topics you follow",
    "follow_entity": "People and places you follow",
    "follow_source": "Sources you follow",
    "follow_story": "Stories you follow",
    "follow_keyword": "Keywords you follow",
    "topic_affinity": "Topics you often read",
    "entity_affinity": "People you often read about",
    "source_affinity": "Sources you often read",
    "freshness": "Freshness",
    "story_size": "Many sources cover it",
    "story_velocity": "Fast-growing stories",
    "popularity": "Popular with other readers",
    "seen": "Already shown",
    "read": "Already read",
}
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGES)]


def top_reason(item: FeedItem) -> str:
    """The chip text: the largest positive reason (exploration picks say so)."""
    if item.is_exploration:
        return "Something new to explore"
    positive = [r for r in item.reasons if r.contribution > 0]
    return positive[0].detail if positive else "Latest news"


def build_cards(request: Request, items: list[FeedItem]) -> list[dict[str, Any]]:
    """Cards for feed items: the ranking's fields plus time, sources, key points and topics."""
    ids = [int(it.article_id) for it in items]
    story_ids = [int(it.story_id) for it in items if it.story_id is not None]
    with request.app.state.engine.connect() as conn:
        details = article_repo.card_details(conn, ids)
        sources = story_repo.story_sources(conn, story_ids)
    cards = []
    for it in items:
        extra = details.get(int(it.article_id), {})
        story_sources = sources.get(int(it.story_id), []) if it.story_id is not None else []
        cards.append(
            {
                "item": it,
                "id": int(it.article_id),
                "source": extra.get("source") or it.source,
                "sources": story_sources[:3],
                "more_sources": max(it.other_sources, len(story_sources) - 1),
                "time": extra.get("published_at") and extra.get("sort_time"),  # None: date unknown
                "standfirst": extra.get("standfirst"),
                "key_points": list(extra.get("key_points") or [])[:3],
                "topic": (extra.get("topics") or [None])[0],
                "chip": top_reason(it),
                "image": extra.get("lead_image"),
                "image_alt": (extra.get("meta") or {}).get("lead_image_alt") or "",
            }
        )
    return cards


def reach_of(result: FeedResult, base_hours: float) -> str | None:
    """The date the feed reaches back to when its window had to widen for old or sparse news."""
    if result.window_hours <= base_hours:
        return None
    return (
        ((result.as_of or utcnow()) - timedelta(hours=result.window_hours)).strftime("%d %B %Y").lstrip("0")
    )


def ranked(
    request: Request, user: WebUser, limit: int, show_read: bool = True
) -> tuple[dict[str, Any], FeedResult]:
    """The reader's feed (JSON and result) with `limit` items."""
    engine, settings = request.app.state.engine, request.app.state.settings
    return feed_for(engine, settings, user.name, limit=limit, show_read=show_read)


def mark_read_cards(request: Request, user: WebUser, cards: list[dict[str, Any]]) -> None:
    """Flag the cards the reader has read (shown when "show read" is on)."""
    with request.app.state.engine.connect() as conn:
        read = state_repo.ids_with(conn, user.id, "read")
    for card in cards:
        card["read"] = card["id"] in read


@router.get("/for-you")
async def for_you(
    request: Request, page: PageNumber = 1, read: Annotated[int, Query(ge=0, le=1)] = 0
) -> Response:
    """The personalised feed, one card per story, paginated; read stories leave it unless ?read=1."""
    user = require_user(request)
    if not user.onboarded:
        return redirect("/welcome")
    _, result = await run_in_threadpool(ranked, request, user, page * PAGE_SIZE, bool(read))
    items = result.items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    cards = await run_in_threadpool(build_cards, request, items)
    await run_in_threadpool(mark_read_cards, request, user, cards)
    settings = request.app.state.settings
    with request.app.state.engine.connect() as conn:
        prefs = account.display_prefs(conn, user.id)
    context = {
        **prefs,
        "cards": cards,
        "page": page,
        "has_more": len(result.items) == page * PAGE_SIZE and page < MAX_PAGES,
        "reaches_back_to": reach_of(result, settings.window_hours),
        "anchored": result.window_anchored,
        "as_of": result.as_of,
        "hidden_count": len(result.hidden),
        "moved_count": len(result.moved),
        "today": (result.as_of or utcnow()).strftime("%A %d %B %Y"),
        "here": request.url.path + query_of(page, read),
        "show_read": bool(read),
        "toggle_read": "/for-you" + query_of(1, 0 if read else 1),
    }
    return render(request, "for_you.html", context)


def query_of(page: int, read: int) -> str:
    """The For you query string for a page and the "show read" switch."""
    parts = [f"page={page}"] if page > 1 else []
    parts += ["read=1"] if read else []
    return "?" + "&".join(parts) if parts else ""


@router.get("/why/{article_id}")
async def why(request: Request, article_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """The full score breakdown of one card, with a switch per signal."""
    return await why_response(request, article_id)


async def why_response(
    request: Request,
    article_id: int,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    """The "Why this?" page, optionally with weight errors shown beside their fields as typed."""
    user = require_user(request)
    _, result = await run_in_threadpool(ranked, request, user, WHY_DEPTH)
    item = next((it for it in result.items if int(it.article_id) == article_id), None)
    hidden = next((h for h in result.hidden if int(h.article_id) == article_id), None)
    with request.app.state.engine.connect() as conn:
        controls = user_repo.get_controls(conn, user.id)
        rows = article_repo.article_rows(conn, [article_id])
    if not rows:
        raise HTTPException(status_code=404, detail="No such article.")
    context = {
        "article": rows[0],
        "item": item,
        "max_abs": max((abs(r.contribution) for r in item.reasons), default=1.0) or 1.0 if item else 1.0,
        "hidden": hidden,
        "signals": signal_rows(controls),
        "labels": SIGNAL_LABELS,
        "here": f"/why/{article_id}",
        "errors": errors or {},
        "typed": typed or {},
    }
    return render(request, "why.html", context, status=422 if errors else 200)


def signal_rows(controls: dict[str, Any]) -> list[dict[str, Any]]:
    """Each ranking signal with its label, on/off state and effective weight."""
    disabled = set(controls.get("disabled") or [])
    weights = dict(controls.get("weights") or {})
    return [
        {
            "name": name,
            "label": SIGNAL_LABELS.get(name, name),
            "on": name not in disabled,
            "weight": float(weights.get(name, DEFAULT_WEIGHTS[name])),
            "default": DEFAULT_WEIGHTS[name],
        }
        for name in FEATURES
    ]


@router.post("/controls/signals")
async def save_signals(request: Request) -> Response:
    """Save the signal switches (and weights, when sent) into the reader's controls."""
    user = require_user(request)
    form = await request.form()
    on = {str(v) for v in form.getlist("on")}
    changes: dict[str, Any] = {"disabled": [s for s in FEATURES if s not in on]}
    weights: dict[str, float] = {}
    errors: dict[str, str] = {}
    typed = {n: raw for n in FEATURES if isinstance(raw := form.get(f"w_{n}"), str)}
    for name, raw in typed.items():
        if not raw.strip():
            continue
        try:
            value = float(raw)
        except ValueError:
            errors[name] = "Enter a number from -10 to 10."
            continue
        if not -10.0 <= value <= 10.0:
            errors[name] = "Enter a number from -10 to 10."
        elif value != DEFAULT_WEIGHTS[name]:
            weights[name] = value
    next_value = form.get("next")
    back = safe_next(next_value if isinstance(next_value, str) else None, "/settings")
    if errors and (shown := re.fullmatch(r"/why/(\d{1,18})", back)):
        return await why_response(request, int(shown.group(1)), errors, typed)
    if errors:
        raise HTTPException(status_code=422, detail=next(iter(errors.values())))
    if any(f"w_{n}" in form for n in FEATURES):
        changes["weights"] = weights
    try:
        await run_in_threadpool(account.save_controls, request.app.state.engine, user.id, changes)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return redirect(back, "controls")


@router.get("/hidden")
async def hidden_page(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """Everything mutes and hides removed from the feed, and what diversity caps moved down, paged, with the
    rule behind each."""
    user = require_user(request)
    _, result = await run_in_threadpool(ranked, request, user, PAGE_SIZE)
    with request.app.state.engine.connect() as conn:
        mutes = user_repo.list_targets(conn, user.id, "mute")
    rows = [(h, "removed") for h in result.hidden] + [(h, "moved") for h in result.moved]
    start = (page - 1) * HIDDEN_PAGE_SIZE
    context = {
        "rows": rows[start : start + HIDDEN_PAGE_SIZE],
        "total": len(rows),
        "removed": len(result.hidden),
        "moved": len(result.moved),
        "page": page,
        "has_more": start + HIDDEN_PAGE_SIZE < len(rows),
        "mutes": mutes,
        "here": "/hidden" + (f"?page={page}" if page > 1 else ""),
    }
    return render(request, "hidden.html", context)


ActionField = Annotated[str, Form(max_length=32)]
ArticleField = Annotated[int, Form(ge=1, le=2**62)]
TargetField = Annotated[str, Form(max_length=520)]


@router.post("/act")
def act(
    request: Request,
    article_id: ArticleField,
    action: ActionField,
    source: TargetField = "",
    topic: TargetField = "",
    next: TargetField = "/",
) -> Response:
    """A card action: like, save, hide, more or fewer like this (events), or mute its source or topic."""
    user = require_user(request)
    engine, settings = request.app.state.engine, request.app.state.settings
    if action in EVENT_ACTIONS:
        try:
            record_event(engine, settings, user.name, article_id, action)
        except RateLimitedError:
            raise HTTPException(status_code=429, detail="Too many actions at once; slow down.") from None
        except NotFoundError:
            raise HTTPException(status_code=404, detail="No such article.") from None
        note = EVENT_ACTIONS[action]
        undo = f"unhide:{article_id}" if action == "hide" else None
    elif action == "mute_source" and source.strip():
        apply_target(user, engine, "mute", f"source:{source}")
        note, undo = "muted", f"unmute:source:{source}"
    elif action == "mute_topic" and topic.strip():
        apply_target(user, engine, "mute", f"topic:{topic}")
        note, undo = "muted", f"unmute:topic:{topic}"
    else:
        raise HTTPException(status_code=422, detail="Unknown action.")
    return done(request, next, note, undo)


@router.post("/targets")
def targets(request: Request, action: ActionField, target: TargetField, next: TargetField = "/") -> Response:
    """Follow, unfollow, mute or unmute a target such as topic:North Korea."""
    user = require_user(request)
    if action not in ("follow", "unfollow", "mute", "unmute"):
        raise HTTPException(status_code=422, detail="Unknown action.")
    section = "follows" if action in ("follow", "unfollow") else "mutes"
    if next.startswith("/settings") and not wants_json(request):
        # The Settings form shows a bad target beside its field, with what was typed kept.
        try:
            change_target(request.app.state.engine, user.name, action, target)
        except ValueError as exc:
            message = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
            return settings_page_with(request, user, 422, errors={section: message}, typed={section: target})
    else:
        apply_target(user, request.app.state.engine, action, target)
    return done(request, next, f"{action}ed" if action.endswith("w") else f"{action}d")


def apply_target(user: WebUser, engine: Any, action: str, target: str) -> None:
    """Change a follow or mute, turning bad targets into 422."""
    try:
        change_target(engine, user.name, action, target)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


def done(request: Request, next_path: str, note: str, undo: str | None = None) -> Response:
    """JSON for scripts, else a redirect back with a note (and an Undo code for hides and mutes)."""
    response: Response = JSONResponse({"ok": True, "note": note})
    if not wants_json(request):
        response = redirect(safe_next(next_path), note)
    return offer_undo(response, undo) if undo else response
