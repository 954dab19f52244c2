"""Item 5: control characters in titles and folders made OPML export fail (500 in the API, ValueError in
the CLI). They are stripped when stored, and export copes with rows stored before the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from lxml import etree
from sqlalchemy import update

from tests.hostile.web_site import Site, live_site, make_user
from tidings.ingest.opml import OpmlFeed, export_opml, parse_opml
from tidings.store.sources import clean_label
from tidings.store.tables import sources, user_sources

pytestmark = pytest.mark.hostile
NASTY = [
    "Evil\x00Title",
    "Bell\x07 and \x1b[31mred\x1b[0m",
    "Tab\tNew\nline\r",
    "Del\x7fete",
    "Surro\ud800gate",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with one reader."""
    with live_site(tmp_path_factory.mktemp("opmlctl")) as live:
        live.extra["reader"] = make_user(live, "reader")
        yield live


@pytest.mark.parametrize("title", NASTY)
def test_clean_label_strips_control_characters(title: str) -> None:
    cleaned = clean_label(title)
    assert cleaned and all(c.isprintable() for c in cleaned)


@pytest.mark.parametrize("k", range(len(NASTY)))
def test_rest_titles_with_control_characters_export(site: Site, k: int) -> None:
    reader = site.extra["reader"]
    url = f"https://ctl{k}.example/feed"
    body = json.dumps({"url": url, "title": NASTY[k]})  # ASCII escapes: even a lone surrogate travels
    made = httpx.post(
        f"{site.base}/api/v1/sources",
        content=body,
        headers={**reader.bearer(), "Content-Type": "application/json"},
    )
    if "\ud800" in NASTY[k]:  # not valid Unicode text: refused with a clear 422 instead
        assert made.status_code == 422 and "unicode" in made.text
        return
    assert made.status_code == 201, made.text
    assert all(c.isprintable() for c in made.json()["title"])
    exported = httpx.get(f"{site.base}/api/v1/opml", headers=reader.bearer())
    assert exported.status_code == 200
    assert url in [f.url for f in parse_opml(exported.content)]


def test_rows_stored_before_the_fix_still_export(site: Site) -> None:
    reader = site.extra["reader"]
    made = httpx.post(
        f"{site.base}/api/v1/sources", json={"url": "https://legacy.example/rss"}, headers=reader.bearer()
    )
    source_id = made.json()["id"]
    with site.app.state.engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(title="Old\x01title\x0b"))
        conn.execute(
            update(user_sources)
            .where(user_sources.c.source_id == source_id, user_sources.c.user_id == reader.id)
            .values(category="Fold\x02er")
        )
    api = httpx.get(f"{site.base}/api/v1/opml", headers=reader.bearer())
    page = reader.web.get("/settings/opml")
    for reply in (api, page):
        assert reply.status_code == 200
        etree.fromstring(reply.content)  # well-formed XML
    env = {
        **os.environ,
        "TIDINGS_HOME": str(site.settings.home),
        "TIDINGS_DATABASE_URL": site.settings.database_url or "",
    }
    cli = subprocess.run(
        [sys.executable, "-m", "tidings.cli.main", "feeds", "export"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "legacy.example" in cli.stdout


def test_export_opml_never_raises_on_control_characters() -> None:
    feeds = [OpmlFeed(url="https://x.example/\x01", title=t, category=t) for t in NASTY]
    etree.fromstring(export_opml(feeds).encode())
