"""A reader's own account data: controls, password, data export and deletion."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine

from tidings.auth import hash_password
from tidings.rank import FEATURES, UserControls
from tidings.store import subscriptions as subscription_repo
from tidings.store import tokens as token_repo
from tidings.store import users as user_repo
from tidings.store.util import iso

WEIGHT_RANGE = (-10.0, 10.0)


def display_prefs(conn: Connection, user_id: int | None) -> dict[str, bool]:
    """How the reader wants lists shown: compact (titles only) and with or without pictures."""
    stored = user_repo.get_controls(conn, user_id) if user_id is not None else {}
    return {"compact": stored.get("view") == "compact", "images": stored.get("images", True) is not False}


def save_controls(engine: Engine, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge changes into the user's controls after validating them; raises ValueError."""
    with engine.begin() as conn:
        merged = {**user_repo.get_controls(conn, user_id), **changes}
        validate_controls(merged)
        user_repo.set_user_fields(conn, user_id, {"controls": merged})
    return merged


def validate_controls(controls: dict[str, Any]) -> None:
    """Raise ValueError when controls would not build a UserControls or name unknown signals."""
    disabled = controls.get("disabled", [])
    weights = controls.get("weights", {})
    unknown = [s for s in [*disabled, *weights] if s not in FEATURES]
    if unknown:
        raise ValueError(f"unknown signal {unknown[0]!r}")
    if any(not WEIGHT_RANGE[0] <= float(w) <= WEIGHT_RANGE[1] for w in weights.values()):
        raise ValueError("weights are between -10 and 10")
    options = {
        k: controls[k]
        for k in ("source_cap", "topic_cap", "mmr_lambda", "exploration_share")
        if k in controls
    }
    UserControls(**options)


def change_password(
    engine: Engine, user_id: int, new_password: str, keep_token_id: int | None, name: str = ""
) -> int:
    """Store a new password hash and revoke every other credential (sessions, API and Google Reader
    tokens, the Fever key, whose key is derived from the old password) but the current session.

    Returns how many credentials were revoked; raises ValueError when the password is refused.
    """
    hashed = hash_password(new_password, (name,))
    with engine.begin() as conn:
        user_repo.set_user_fields(conn, user_id, {"password_hash": hashed})
        return user_repo.revoke_other_tokens(conn, user_id, keep_token_id)


def as_object(stored: Any) -> Any:
    """A stored profile as a JSON object: older rows hold it as a JSON string."""
    if isinstance(stored, str):
        try:
            return json.loads(stored)
        except ValueError:
            return stored
    return stored


def export_data(engine: Engine, user_id: int) -> dict[str, Any]:
    """Everything stored about a reader, as JSON-ready data (no password or token hashes)."""
    with engine.connect() as conn:
        account = user_repo.get_user(conn, user_id) or {}
        own_events = [
            {
                "article_id": e["article_id"],
                "story_id": e["story_id"],
                "kind": e["kind"],
                "dwell_seconds": e["dwell_seconds"],
                "at": iso(e["created_at"]),
            }
            for e in user_repo.list_events(conn, user_id, limit=1_000_000)
        ]
        return {
            "user": {
                "id": user_id,
                "name": account.get("name"),
                "created_at": iso(account.get("created_at")),
            },
            "controls": account.get("controls") or {},
            "profile": as_object(account.get("profile")),
            "follows": user_repo.list_targets(conn, user_id, "follow"),
            "mutes": user_repo.list_targets(conn, user_id, "mute"),
            "sources": subscription_repo.user_sources_json(conn, user_id),
            "tokens": token_repo.list_tokens(conn, user_id),
            "events": own_events,
        }


def delete_account(engine: Engine, user_id: int) -> None:
    """Delete a reader and every row that belongs to them."""
    with engine.begin() as conn:
        user_repo.delete_user(conn, user_id)
