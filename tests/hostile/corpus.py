"""Shared helpers for the hostile corpus: ingest one hostile file for real and read back what was stored."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from tidings.config import Settings
from tidings.ingest.urls import safe_http_url
from tidings.pipeline.ingest import IngestReport, ingest_sources
from tidings.store import open_engine
from tidings.store.tables import articles

_counter = itertools.count()

# Filler in our own words, so hostile fields ride on an otherwise ordinary article.
FILLER = (
    "The county council agreed on Tuesday to reopen the coastal path between the two villages, after "
    "engineers said the cliff edge had been made safe with new fencing and drainage along the worst stretch."
)


def settings_for(home: Path) -> Settings:
    """Offline settings for ingesting hostile files (no enrichment, no starter feeds)."""
    return Settings(home=home, enrich=False, subscribe_starter=False, background_refresh=False)


def ingest_bytes(tmp_path: Path, name: str, data: bytes) -> tuple[IngestReport, list[dict[str, Any]], Engine]:
    """Write `data` as a file called `name` and ingest it; returns the report and every stored article row."""
    folder = tmp_path / f"case{next(_counter)}"
    folder.mkdir()
    path = folder / name
    path.write_bytes(data)
    settings = settings_for(folder / "home")
    engine = open_engine(settings)
    report = ingest_sources([str(path)], settings, engine)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(articles)).mappings()]
    return report, rows, engine


def unsafe_urls(row: dict[str, Any]) -> list[str]:
    """Every URL of a stored article that is neither empty nor an absolute http(s) URL."""
    candidates = [row.get("url"), row.get("canonical_url"), row.get("lead_image")]
    candidates += [link.get("url") for link in row.get("related_links") or [] if isinstance(link, dict)]
    return [str(u) for u in candidates if u and safe_http_url(u) != u and not str(u).startswith("mind:")]


def xml_escape(text: str) -> str:
    """Escape text for an XML attribute or element."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
