"""Glue between stored articles and the stories stage (runs inside the ingest write transaction)."""

from __future__ import annotations

from sqlalchemy import Connection

from tidings.config import Settings
from tidings.models import Enrichment


def assign_stories(
    conn: Connection, written: list[tuple[int, Enrichment | None]], settings: Settings
) -> None:
    """Join each newly written article to a story or start one (placeholder until the stories stage lands)."""
    return None
