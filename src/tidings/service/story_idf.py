"""The stories stage's IDF over the store's newest articles, kept per process for reads (related articles).

Ingest weighs shared names and body words by how rare they are among the newest IDF_WINDOW articles (see
`stories.centroid_index.EntityIdf`). A process that only reads (the web server, `tidings related`) keeps the
same window here, so the scores it shows are the pair model's own: without it every name and word would weigh
1, and two unrelated reports that share a country would read as likely the same story.

The window is brought up to date on each call from the newest article id, reading only the articles added
since. Like ingest's own cache it does not notice an older article's entities being re-enriched; a store that
was emptied and refilled (its newest id went down) is counted afresh.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from tidings.pipeline.story_placement import observe_newest
from tidings.store import articles as article_repo
from tidings.stories import EntityIdf


@dataclass
class _Window:
    idf: EntityIdf = field(default_factory=EntityIdf)
    newest: int = 0  # the newest article id counted
    # What readers get: a copy taken after each update, so a later update never changes it mid-read.
    snapshot: EntityIdf = field(default_factory=EntityIdf)


_LOCK = threading.Lock()
_WINDOWS: dict[str, _Window] = {}


def store_idf(conn: Connection) -> EntityIdf:
    """The IDF of the store's newest articles, as ingest counts it (updated from the store on each call)."""
    key = conn.engine.url.render_as_string(hide_password=True)
    with _LOCK:
        window = _WINDOWS.setdefault(key, _Window())
        newest = article_repo.newest_id(conn)
        if newest < window.newest:
            window = _WINDOWS[key] = _Window()
        if newest > window.newest:
            ids = article_repo.newest_ids_after(conn, window.newest, window.idf.window)
            observe_newest(conn, window.idf, ids)
            window.newest = max([newest, *ids])  # an article added between the two reads is counted now
            window.snapshot = window.idf.copy()
        return window.snapshot


def refresh_idf(engine: Engine) -> None:
    """Bring this process's window up to date (the server's warm-up, so the first request does not wait)."""
    with engine.connect() as conn:
        store_idf(conn)
