"""Privacy by default: signed-out visitors see only sign-in; feed errors reach only subscribers and admins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import SEED_ARTICLES, csrf_of, is_seeded, make_settings, running, serve, sign_up, write_seed
from tidings.store import sources as source_repo
from tidings.web.app import create_app

BROWSER = {"Accept": "text/html"}
SECRET_FEED = "https://private.example/feeds/kate-only.xml"
DNS_ERROR = "DNS lookup failed for private.example"
NAMES = ("root", "kate", "leo")


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the default settings (no public reading)."""
    folder = tmp_path_factory.mktemp("privacy")
    (folder / "home").mkdir()
    with serve(make_settings(folder / "home", [write_seed(folder)]), expect_articles=4) as url:
        yield url


def test_signed_out_visitors_see_only_sign_in(private: str) -> None:
    for path in ("/", "/latest", "/articles/1", "/stories/1", "/topics/Science", "/search?q=ferry"):
        reply = httpx.get(f"{private}{path}", headers=BROWSER, follow_redirects=True)
        assert reply.status_code == 200, path
        assert str(reply.url.path) == "/login", path
        assert 'class="card"' not in reply.text, path
        assert not any(a["title"] in reply.text for a in SEED_ARTICLES), path


def test_feed_errors_reach_only_their_subscribers_and_admins(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    app = create_app(make_settings(tmp_path / "home", [write_seed(tmp_path)], public_reading=True))
    with running(app, lambda url: is_seeded(url, 4, app)) as base:
        clients = {
            name: httpx.Client(base_url=base, headers=BROWSER, follow_redirects=True) for name in NAMES
        }
        for name in NAMES:  # the first account is the admin
            sign_up(clients[name], name)
        kate = clients["kate"]
        kate.post("/settings/sources", data={"csrf": csrf_of(kate.get("/settings").text), "url": SECRET_FEED})
        with app.state.engine.begin() as conn:
            source_id, _ = source_repo.get_or_create_source(conn, SECRET_FEED)
            source_repo.record_fetch(conn, source_id, {"last_error": DNS_ERROR, "consecutive_failures": 3})
        seen = {name: DNS_ERROR in clients[name].get("/latest").text for name in NAMES}
        assert seen == {"root": True, "kate": True, "leo": False}
        anon = httpx.get(f"{base}/latest", headers=BROWSER).text
        assert DNS_ERROR not in anon and "private.example" not in anon and "Feeds with errors" not in anon
        for c in clients.values():
            c.close()
