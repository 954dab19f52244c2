"""The personalised feed and feedback events for one user."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from tidings.config import Settings
from tidings.rank import (
    FeedbackEvent,
    FeedResult,
    Profile,
    UserControls,
    build_feed,
    parse_target,
    preview,
    update_profile,
)
from tidings.ratelimit import TokenBucket
from tidings.service.candidate_pool import candidate_pool, load_candidates, pooled_candidate
from tidings.service.training import instance_weights, record_impressions
from tidings.store import reading as state_repo
from tidings.store import users as user_repo
from tidings.store.engine import read_only
from tidings.store.util import iso, utcnow

# Finds the acting user's row on the service call's own connection (the API authenticates there).
UserLookup = Callable[[Connection], dict[str, Any]]
EVENT_LIMITER = TokenBucket(rate=20.0, burst=100.0)
# Feedback events that are also article state (an opened article is read, a saved one is starred): the
# mark each one makes.
EVENT_MARKS: dict[str, str] = {
    "click": "read",
    "read": "read",
    "save": "saved",
    "hide": "hidden",
    "like": "liked",
    "dislike": "disliked",
}
CONTROL_FIELDS = (
    "weights",
    "disabled",
    "source_cap",
    "topic_cap",
    "mmr_lambda",
    "exploration_share",
)


class RateLimitedError(Exception):
    """Too many events from one user in a short time."""


def clock(settings: Settings, as_of: datetime | None = None) -> datetime:
    """The injectable clock: an explicit time, else TIDINGS_NOW, else now."""
    when = as_of or settings.now or utcnow()
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def load_profile(user: dict[str, Any]) -> Profile:
    """The user's stored profile (a fresh one when none or when it cannot be read)."""
    raw = user.get("profile")
    if raw:
        try:
            # Rows written before profiles were stored as JSON objects hold a JSON string.
            return Profile.from_json(raw) if isinstance(raw, str) else Profile.from_dict(raw)
        except ValueError:
            pass
    return Profile(user=user["name"])


def load_controls(conn: Any, user: dict[str, Any]) -> UserControls:
    """Follows, mutes and the reader's switches as the ranking stage's controls."""
    stored = dict(user.get("controls") or {})
    targets = user_repo.follows_and_mutes(conn, user["id"])
    follows, mutes = targets["follow"], targets["mute"]
    options = {k: stored[k] for k in CONTROL_FIELDS if k in stored}
    if "disabled" in options:
        options["disabled"] = set(options["disabled"])
    return UserControls(follows=follows, mutes=mutes, **options)


def feed_for(
    engine: Engine,
    settings: Settings,
    name: str,
    limit: int = 20,
    as_of: datetime | None = None,
    log_impressions: bool = False,
    show_read: bool = True,
    user_of: UserLookup | None = None,
) -> tuple[dict[str, Any], FeedResult]:
    """The contract's feed JSON for user name (or for the user `user_of` finds on the feed's own connection),
    and the ranking result behind it (without read items unless show_read)."""
    if not 1 <= limit <= 200:
        raise ValueError("limit must be between 1 and 200")
    with read_only(engine) as conn:
        user = user_of(conn) if user_of else user_repo.require_user(conn, name)
        controls = load_controls(conn, user)
        profile = with_stored_state(conn, load_profile(user), int(user["id"]))
        pool = candidate_pool(conn)
    controls.hide_read = not show_read
    now = clock(settings, as_of)
    weights = instance_weights(settings)
    result = build_feed(
        profile,
        controls,
        pool,
        now,
        limit=limit,
        settings=settings,
        weights=weights,
    )
    if log_impressions:
        record_impressions(engine, int(user["id"]), result)
    data = feed_json(str(user["name"]) if user_of else name, result)
    return data, result


def with_stored_state(conn: Any, profile: Profile, user_id: int) -> Profile:
    """The profile with the stored read and hidden state, whichever client set it (the store is the truth)."""
    read, hidden = state_repo.read_and_hidden(conn, user_id)
    profile.read_ids = {str(a) for a in read}
    profile.hidden_ids |= {str(a) for a in hidden}
    for aid, when in read.items():
        profile.seen_ids.setdefault(str(aid), when.timestamp() if when else 0.0)
    return profile


def feed_json(name: str, result: FeedResult) -> dict[str, Any]:
    """The contract's feed document."""
    return {
        "user": name,
        "as_of": iso(result.as_of),
        "window_anchored": result.window_anchored,
        "window_extended": result.window_extended,
        "window_hours": round(result.window_hours, 1),
        "caps_relaxed": result.caps_relaxed,
        "items": [
            {
                "article_id": it.article_id,
                "title": it.title,
                "story_id": it.story_id,
                "source": it.source,
                "score": it.score,
                "other_sources": it.other_sources,
                "exploration": it.is_exploration,
                "reasons": [dict(vars(r)) for r in it.reasons],  # flat records: asdict's deep copy is slow
            }
            for it in result.items
        ],
        "hidden": [dict(vars(h)) for h in result.hidden],
    }


def record_event(
    engine: Engine,
    settings: Settings,
    name: str,
    article_id: int,
    kind: str,
    dwell: float | None = None,
    user_of: UserLookup | None = None,
) -> dict[str, Any]:
    """Validate, rate-limit and store one feedback event, folding it into the profile incrementally (for user
    name, or for the user `user_of` finds on the event's own connection)."""
    with engine.begin() as conn:
        user = user_of(conn) if user_of else user_repo.require_user(conn, name)
        if not EVENT_LIMITER.allow(str(user["id"])):
            raise RateLimitedError("too many events; slow down")
        item = pooled_candidate(conn, article_id) or next(iter(load_candidates(conn, [article_id])), None)
        if item is None:
            raise user_repo.NotFoundError(f"no article with id {article_id}")
        now = clock(settings)
        event = FeedbackEvent(kind=kind, article_id=article_id, at=now, dwell_seconds=dwell)
        # The profile was just read from the row, so it is updated in place (a deep copy cost milliseconds).
        profile = update_profile(load_profile(user), event, item, now, in_place=True)
        story_id = item.story_id
        user_repo.record_event(
            conn, user["id"], article_id, int(story_id) if story_id is not None else None, kind, dwell, at=now
        )
        if kind in EVENT_MARKS:  # the event is also a state change, seen by every client
            state, value = state_repo.MARKS[EVENT_MARKS[kind]]
            state_repo.set_state(conn, int(user["id"]), [article_id], state, value, at=now)
        user_repo.set_user_fields(conn, user["id"], {"profile": profile.to_dict()})
    return {"ok": True}


def preview_change(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    mute: str | None = None,
    follow: str | None = None,
    weights: dict[str, float] | None = None,
    days: int = 7,
    limit: int = 20,
) -> dict[str, Any]:
    """How a new mute, follow or weight would have changed the last `days` feeds (nothing is saved)."""
    with engine.connect() as conn:
        user = user_repo.require_user(conn, name)
        before = load_controls(conn, user)
        pool = candidate_pool(conn)
    after = replace(
        before,
        mutes=[*before.mutes, *([parse_target(mute)] if mute else [])],
        follows=[*before.follows, *([parse_target(follow)] if follow else [])],
        weights={**before.weights, **(weights or {})},
    )
    now = clock(settings)
    result = preview(
        load_profile(user),
        before,
        after,
        pool,
        now=now,
        days=days,
        limit=limit,
        window_hours=settings.window_hours,
    )
    return {
        "user": name,
        "removed": result.removed_count,
        "added": result.added_count,
        "days": [
            {
                "as_of": iso(d.as_of),
                "removed": [{"article_id": i.article_id, "title": i.title} for i in d.removed],
                "added": [{"article_id": i.article_id, "title": i.title} for i in d.added],
            }
            for d in result.days
        ],
    }


def export_profile(engine: Engine, name: str) -> dict[str, Any]:
    """What Tidings has learnt about a reader, plus their follows, mutes and controls, as JSON."""
    with engine.connect() as conn:
        user = user_repo.require_user(conn, name)
        follows = user_repo.list_targets(conn, user["id"], "follow")
        mutes = user_repo.list_targets(conn, user["id"], "mute")
    profile = load_profile(user)
    return {
        "user": name,
        "profile": json.loads(profile.to_json()),
        "follows": [t["target"] for t in follows],
        "mutes": [t["target"] for t in mutes],
        "controls": dict(user.get("controls") or {}),
    }


def reset_profile(engine: Engine, name: str) -> dict[str, Any]:
    """Forget what was learnt from a reader's feedback (follows, mutes and controls stay)."""
    with engine.begin() as conn:
        user = user_repo.require_user(conn, name)
        user_repo.set_user_fields(conn, user["id"], {"profile": Profile(user=name).to_dict()})
    return {"ok": True}
