"""Change a reader's article state from anywhere (web, REST, CLI, reader apps) and learn from it.

Every single change that says something about taste (a read, a save, a hide, a like) is also a feedback
event folded into the profile, whatever client made it. Bulk changes ("mark all as read") change the
state only: skimming past a hundred headlines says nothing about any one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from tidings.config import Settings
from tidings.rank import FeedbackEvent, update_profile
from tidings.service.candidate_pool import load_candidates
from tidings.service.feed import clock, load_profile
from tidings.store import reading as state_repo
from tidings.store import users as user_repo
from tidings.store.util import iso

# (state, value) -> the feedback event it is. Undoing a state (unread, unsave) teaches nothing.
SIGNALS: dict[tuple[str, int], str] = {
    ("read", 1): "read",
    ("saved", 1): "save",
    ("hidden", 1): "hide",
    ("liked", 1): "like",
    ("liked", -1): "dislike",
}
MAX_SIGNALS = 200  # per request: more than this at once is a bulk change, not reading


@dataclass(frozen=True)
class Change:
    """What one mark did: the ids whose state changed, and the time stamped on them."""

    changed: list[int]
    at: datetime
    signals: int = 0

    def as_json(self) -> dict[str, Any]:
        """The REST answer."""
        return {"ok": True, "changed": len(self.changed), "ids": self.changed, "at": iso(self.at)}


def mark(
    engine: Engine,
    settings: Settings,
    user_id: int,
    ids: list[int],
    name: str,
    value: bool | int,
    bulk: bool = False,
) -> Change:
    """Set state `name` on ids for a user; single changes also become feedback events."""
    now = clock(settings)
    with engine.begin() as conn:
        present = state_repo.existing_ids(conn, ids)
        changed = state_repo.set_state(conn, user_id, present, name, value, at=now)
        kind = SIGNALS.get((name, int(value)))
        signals = 0
        if kind is not None and not bulk and changed:
            signals = learn(conn, user_id, changed[:MAX_SIGNALS], kind, now)
    return Change(changed, now, signals)


def learn(conn: Connection, user_id: int, ids: list[int], kind: str, now: datetime) -> int:
    """Record one `kind` event per article and fold them into the user's profile; returns how many."""
    user = user_repo.get_user(conn, user_id)
    if user is None:
        return 0
    profile = load_profile(user)
    items = {int(c.article_id): c for c in load_candidates(conn, ids)}
    done = 0
    for aid in ids:
        item = items.get(aid)
        if item is None:  # a near-duplicate is not a candidate; its state still changed
            continue
        event = FeedbackEvent(kind=kind, article_id=item.article_id, at=now)
        profile = update_profile(profile, event, item, now, in_place=True)
        story = int(item.story_id) if item.story_id is not None else None
        user_repo.record_event(conn, user_id, aid, story, kind, None, at=now)
        done += 1
    if kind == "hide":
        profile.hidden_ids |= {str(i) for i in ids}
    if done:
        user_repo.set_user_fields(conn, user_id, {"profile": profile.to_dict()})
    return done


def unhide(engine: Engine, settings: Settings, user_id: int, article_id: int) -> Change:
    """Undo a hide: the article (and its story) may come back to the feed."""
    change = mark(engine, settings, user_id, [article_id], "hidden", False)
    with engine.begin() as conn:
        user = user_repo.get_user(conn, user_id)
        if user is None:
            return change
        profile = load_profile(user)
        profile.hidden_ids.discard(str(article_id))
        story = next((c.story_id for c in load_candidates(conn, [article_id])), None)
        if story is not None:
            profile.hidden_story_ids.discard(str(story))
        user_repo.set_user_fields(conn, user_id, {"profile": profile.to_dict()})
    return change


def undo_bulk_read(engine: Engine, user_id: int, at: datetime) -> int:
    """Undo one "mark all as read": what it marked is unread again."""
    with engine.begin() as conn:
        return state_repo.undo_batch(conn, user_id, "read", at)


def state_of(engine: Engine, user_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The user's state of each existing article among ids (defaults for untouched ones)."""
    with engine.connect() as conn:
        present = state_repo.existing_ids(conn, ids)
        stored = state_repo.states(conn, user_id, present)
    return {i: stored.get(i, state_repo.empty_state()) for i in present}
