"""Real reader apps against a live server on loopback: newsboat (feedhq), google-reader, a Fever client.

One state everywhere: what an app marks shows in the web app and REST, and what the web marks shows in
the apps; app reads teach the profile; bulk marks do not flood it.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.live import csrf_of
from tests.web.test_greader import PASSWORDS, READ, STARRED, Site, login, running_site

pytestmark = pytest.mark.client


@dataclass
class Web:
    """Signed-in web and REST clients for one user."""

    page: httpx.Client
    api: httpx.Client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The two-user site of the Google Reader tests."""
    with running_site(tmp_path_factory.mktemp("clients")) as live:
        yield live


def web_for(site: Site, name: str) -> Web:
    """A web session (signed in through the form) and a REST client with a token, for a user."""
    page = httpx.Client(base_url=site.base, timeout=30)
    token = csrf_of(page.get("/login").text)
    signed = page.post("/login", data={"csrf": token, "name": name, "password": PASSWORDS[name]})
    assert signed.status_code == 303, signed.text
    from tidings.store import users as repo

    with site.app.state.engine.begin() as conn:
        _, api_token = repo.create_token(conn, site.user_ids[name], "test")
    api = httpx.Client(
        base_url=f"{site.base}/api/v1", headers={"Authorization": f"Bearer {api_token}"}, timeout=30
    )
    return Web(page, api)


def rest_state(web: Web, article_id: int) -> dict[str, Any]:
    """The REST state of one article."""
    resp = web.api.get(f"/articles/{article_id}/state")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def events_of(site: Site, name: str) -> int:
    """How many feedback events a user has."""
    from tidings.store.tables import events

    with site.app.state.engine.connect() as conn:
        query = select(func.count()).select_from(events).where(events.c.user_id == site.user_ids[name])
        return int(conn.execute(query).scalar_one())


# --- newsboat ----------------------------------------------------------------------------------------------


def newsboat_unread(site: Site, folder: Path, name: str) -> int:
    """Run newsboat 2.21 non-interactively with the feedhq backend: reload, then the unread count."""
    folder.mkdir(exist_ok=True)
    (folder / "config").write_text(
        f'urls-source "feedhq"\nfeedhq-url "{site.base}"\nfeedhq-login "{name}"\n'
        f'feedhq-password "{PASSWORDS[name]}"\nfeedhq-show-special-feeds no\n'
    )
    (folder / "urls").write_text("")
    args = [
        "newsboat",
        "-C",
        str(folder / "config"),
        "-c",
        str(folder / "cache.db"),
        "-u",
        str(folder / "urls"),
    ]
    done = subprocess.run(
        [*args, "-x", "reload", "print-unread"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HOME": str(folder), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    match = re.search(r"(\d+) unread articles", done.stdout)
    assert match, done.stdout + done.stderr
    return int(match.group(1))


@pytest.mark.skipif(
    shutil.which("newsboat") is None, reason="newsboat is not installed (apt-get install newsboat)"
)
def test_newsboat_feedhq_reads_and_syncs_state(site: Site, tmp_path: Path) -> None:
    alice = login(site, "alice")
    web = web_for(site, "alice")
    visible = site.visible_slugs("alice")
    unread_before = len(alice.unread_ids())
    assert unread_before == len(visible)
    assert newsboat_unread(site, tmp_path / "nb", "alice") == unread_before
    # A read through the protocol (the request newsboat sends) shows read in REST and in the web app.
    wall = site.article_ids["wall"]
    sent = alice.edit(
        "edit-tag?client=newsboat",
        [
            ("i", f"tag:google.com,2005:reader/item/{wall:016x}"),
            ("a", READ),
            ("r", "user/-/state/com.google/kept-unread"),
            ("ac", "edit"),
        ],
    )
    assert sent.status_code == 200
    assert rest_state(web, wall)["read"] is True
    unread_page = web.page.get("/unread").text
    assert f'<span class="count">{unread_before - 1}</span>' in unread_page
    assert newsboat_unread(site, tmp_path / "nb", "alice") == unread_before - 1
    # A read in the web app (opening the article) shows read in newsboat after reload.
    ferry = site.article_ids["ferry"]
    assert web.page.get(f"/articles/{ferry}").status_code == 200
    assert rest_state(web, ferry)["read"] is True
    assert newsboat_unread(site, tmp_path / "nb", "alice") == unread_before - 2
    # Bob's state is his own.
    assert wall in login(site, "bob").unread_ids()
    for article in (wall, ferry):
        web.api.patch(f"/articles/{article}/state", json={"read": False})


def test_atom_streams_carry_state_and_plain_titles(site: Site) -> None:
    import feedparser

    alice = login(site, "alice")
    orchard = site.article_ids["orchard"]
    alice.edit("edit-tag", [("i", str(orchard)), ("a", STARRED)])
    headers = alice.headers
    doc = httpx.get(f"{site.base}/reader/atom/user/-/state/com.google/starred", headers=headers, timeout=60)
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(doc.content)
    assert [e.id for e in parsed.entries] == [f"tag:google.com,2005:reader/item/{orchard:016x}"]
    entry = parsed.entries[0]
    assert (
        entry.title == "Orchard festival <script>alert(1)</script> draws record crowds"
    )  # text, escaped once
    assert STARRED in {t.term for t in entry.tags}
    valley = site.source_ids["valley.example"]
    feed = feedparser.parse(
        httpx.get(f"{site.base}/reader/atom/feed/{valley}?n=1", headers=headers, timeout=60).content
    )
    assert feed.feed.title == "Valley Gazette" and feed.feed.link == "https://valley.example/"
    assert len(feed.entries) == 1
    for stream in (
        "user/-/state/com.google/broadcast",
        "user/-/label/Local",
        "user/-/state/com.google/reading-list",
    ):
        assert httpx.get(f"{site.base}/reader/atom/{stream}", headers=headers, timeout=60).status_code == 200
    assert httpx.get(f"{site.base}/reader/atom/user/-/bogus", headers=headers, timeout=60).status_code == 400
    assert httpx.get(f"{site.base}/reader/atom/feed/{valley}", timeout=60).status_code == 401
    alice.edit("edit-tag", [("i", str(orchard)), ("r", STARRED)])


# --- the google-reader PyPI client ------------------------------------------------------------------------


def test_google_reader_client_session(site: Site) -> None:
    gr = pytest.importorskip("google_reader")
    client = gr.Client(site.base)
    auth = client.login("alice", PASSWORDS["alice"])
    assert client.login("alice", PASSWORDS["alice"]).AccessToken == auth.AccessToken  # the live token, reused
    token = client.get_token(auth)
    subs = {s.id: s for s in client.list_subscriptions(auth)}
    harbour = subs[f"feed/{site.source_ids['harbour.example']}"]
    assert harbour.html_url == "https://harbour.example/" and harbour.title == "Harbour News"
    assert {c.label for c in harbour.categories} == {"Local"}
    reader = login(site, "alice")
    assert reader.unread_count(f"feed/{site.source_ids['harbour.example']}") == 2
    assert reader.unread_count("user/-/label/Local") == 4
    ids = client.get_stream_items_ids(auth, "user/-/label/Local", limit=2, exclude_target=READ)
    more = client.get_stream_items_ids(auth, "user/-/label/Local", limit=2, continuation=ids.continuation)
    assert len({r.id for r in ids.item_refs} | {r.id for r in more.item_refs}) == 4
    contents = client.get_stream_items_contents(auth, token, [r.id for r in ids.item_refs])
    assert [int(i.id[-16:], 16) for i in contents.items] == [int(r.id) for r in ids.item_refs]
    first = int(ids.item_refs[0].id)
    web = web_for(site, "alice")
    before = events_of(site, "alice")
    client.edit_tags(auth, token, [str(first)], add_tags=[STARRED, READ])
    state = rest_state(web, first)
    assert state["saved"] is True and state["read"] is True
    assert events_of(site, "alice") == before + 2  # a read and a save: reading signals, as in the web
    assert f'href="/articles/{first}"' in web.page.get("/saved").text
    starred = client.get_stream_items_ids(auth, STARRED)
    assert [int(r.id) for r in starred.item_refs] == [first]
    # Mark all as read is one bulk change: every item read, no flood of events.
    before = events_of(site, "alice")
    assert client.mark_all_as_read(auth, token, "user/-/label/Local")
    assert reader.unread_count("user/-/label/Local") == 0
    assert events_of(site, "alice") == before
    # Undo in the web brings them back.
    undone = web.api.post(
        "/state/mark-read",
        json={"ids": [site.article_ids[s] for s in site.visible_slugs("alice")], "read": False},
    )
    assert undone.status_code == 200 and reader.unread_count("user/-/label/Local") == 4
    client.edit_tags(auth, token, [str(first)], remove_tags=[STARRED])


def test_stale_cursors_unknown_ids_and_floods_get_protocol_errors(site: Site) -> None:
    reader = login(site, "alice")
    assert reader.get("stream/items/ids", s="user/-/label/Local", c="garbage").status_code == 400
    assert reader.get("stream/items/ids", s="user/-/label/For you", c="r999999").status_code == 400
    assert reader.edit("edit-tag", [("i", "999999"), ("a", READ)]).status_code == 400
    storm = site.article_ids["storm"]  # bob's feed only
    assert reader.edit("edit-tag", [("i", str(storm)), ("a", READ)]).status_code == 400
    assert storm in login(site, "bob").unread_ids()
    flood = [("i", str(n)) for n in range(2500)]
    resp = reader.edit("edit-tag", [*flood, ("a", READ)])
    assert 400 <= resp.status_code < 500 and "Traceback" not in resp.text
    fever = httpx.post(
        f"{site.base}/fever/?api",
        data={"api_key": site.fever_keys["alice"], "mark": "item", "as": "read", "id": "zz"},
        timeout=60,
    )
    assert fever.status_code == 400 and fever.json()["auth"] == 1


# --- a Fever client library -------------------------------------------------------------------------------


def test_fever_client_library(site: Site) -> None:
    fr = pytest.importorskip("freshrss_api")
    client = fr.FreshRSSAPI(host=site.base, username="alice", password=PASSWORDS["alice"])
    feeds = {f["id"]: f for f in client.get_feeds()["feeds"]}
    harbour = feeds[site.source_ids["harbour.example"]]
    assert (
        harbour["site_url"] == "https://harbour.example/"
        and harbour["url"] == "https://harbour.example/feed.xml"
    )
    groups = {g["title"]: g["id"] for g in client.get_groups()["groups"]}
    assert {"For you", "Local"} <= set(groups)
    unread = {i.id for i in client.get_unreads()}
    assert unread == {site.article_ids[s] for s in site.visible_slugs("alice")}
    library = site.article_ids["library"]
    web = web_for(site, "alice")
    before = events_of(site, "alice")
    client.set_mark("read", library)
    client.set_mark("saved", library)
    assert rest_state(web, library)["read"] is True and rest_state(web, library)["saved"] is True
    assert events_of(site, "alice") == before + 2
    assert library in {i.id for i in client.get_saved()}
    by_feed = client._call("items", feed_ids=str(site.source_ids["valley.example"]))["items"]
    assert {i["feed_id"] for i in by_feed} == {site.source_ids["valley.example"]}
    by_group = client._call("items", group_ids=str(groups["Local"]))["items"]
    assert {i["feed_id"] for i in by_group} == {
        site.source_ids[h] for h in ("harbour.example", "valley.example")
    }
    # What the web marks, the app sees.
    wall = site.article_ids["wall"]
    web.page.get(f"/articles/{wall}")
    assert wall not in {i.id for i in client.get_unreads()}
    for article in (library, wall):
        web.api.patch(f"/articles/{article}/state", json={"read": False, "saved": False})


# --- subscriptions: quickadd validates, rename is per user, feed hints schedule the next fetch -------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cf0000"
    "0301010018dd8db00000000049454e44ae426082"
)
POND_FEED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>
<title>Pond Weekly</title><link>https://pond.example/</link><description>Ducks</description><ttl>90</ttl>
<image><url>LOGO</url><title>Pond Weekly</title><link>https://pond.example/</link></image>
<item><title>Ducklings hatch by the reeds</title><link>https://pond.example/ducklings</link>
<guid>https://pond.example/ducklings</guid>
<description>Five ducklings were seen on Sunday.</description></item>
</channel></rss>"""


def test_quickadd_validates_and_rename_is_per_user(site: Site) -> None:
    from datetime import timedelta

    from tests.ingest.conftest import LoopbackServer, send_bytes
    from tidings.ingest.fetcher import Fetcher
    from tidings.pipeline.ingest import IngestReport
    from tidings.pipeline.refresh import refresh_source
    from tidings.store import sources as source_repo
    from tidings.store.util import as_utc, utcnow

    server = LoopbackServer()
    feed = POND_FEED.replace(b"LOGO", server.url("/logo.png").encode())
    server.routes["/pond.xml"] = lambda h: send_bytes(h, 200, feed, "application/rss+xml")
    server.routes["/logo.png"] = lambda h: send_bytes(h, 200, PNG, "image/png")
    server.routes["/page"] = lambda h: send_bytes(h, 200, b"<html><body>Hello</body></html>", "text/html")
    server.start()
    try:
        alice, bob = login(site, "alice"), login(site, "bob")
        junk = alice.edit("subscription/quickadd", [("quickadd", server.url("/page"))])
        assert junk.status_code == 400 and junk.json()["numResults"] == 0
        missing = alice.edit("subscription/quickadd", [("quickadd", server.url("/gone.xml"))])
        assert missing.status_code == 400
        added = alice.edit("subscription/quickadd", [("quickadd", server.url("/pond.xml"))])
        assert added.status_code == 200, added.text
        stream = added.json()["streamId"]
        subs = {s["id"]: s for s in alice.get("subscription/list").json()["subscriptions"]}
        assert subs[stream]["title"] == "Pond Weekly" and subs[stream]["htmlUrl"] == "https://pond.example/"
        rename = [("ac", "edit"), ("s", stream), ("t", "My pond")]
        assert alice.edit("subscription/edit", rename).text == "OK"
        assert bob.edit("subscription/quickadd", [("quickadd", server.url("/pond.xml"))]).status_code == 200
        titles = {
            name: {s["id"]: s["title"] for s in c.get("subscription/list").json()["subscriptions"]}[stream]
            for name, c in (("alice", alice), ("bob", bob))
        }
        assert titles == {"alice": "My pond", "bob": "Pond Weekly"}
        # The feed's <ttl> (90 minutes) sets its next fetch.
        engine = site.app.state.engine
        with engine.connect() as conn:
            source = source_repo.get_source(conn, int(stream.split("/")[1]))
        assert source is not None
        with Fetcher(site.app.state.settings) as fetcher:
            refresh_source(engine, site.app.state.settings, fetcher, source, IngestReport())
        with engine.connect() as conn:
            after = source_repo.get_source(conn, int(stream.split("/")[1]))
        assert after is not None and after["ttl_seconds"] == 5400
        due = as_utc(after["next_due"])
        assert due is not None and timedelta(minutes=85) < due - utcnow() <= timedelta(minutes=90)
        assert bob.unread_count(stream) == 1
        # The feed's image became its icon, which Fever apps get as a favicon.
        fever = httpx.post(
            f"{site.base}/fever/?api&feeds&favicons", data={"api_key": site.fever_keys["alice"]}, timeout=60
        )
        pond = next(f for f in fever.json()["feeds"] if f["id"] == int(stream.split("/")[1]))
        icons = {i["id"]: i["data"] for i in fever.json()["favicons"]}
        assert icons[pond["favicon_id"]] == "image/png;base64," + base64.b64encode(PNG).decode()
        for client in (alice, bob):
            client.edit("subscription/edit", [("ac", "unsubscribe"), ("s", stream)])
    finally:
        server.stop()


def test_settings_create_and_revoke_app_passwords(site: Site) -> None:
    import hashlib

    from tests.web.test_greader import client_login

    web = web_for(site, "bob")
    page = web.page.get("/settings").text
    assert "Reader apps" in page and f"{site.base}/fever/" in page
    made = web.page.post(
        "/settings/app-passwords", data={"csrf": csrf_of(page), "label": "Reeder", "fever": "on"}
    )
    assert made.status_code == 200
    password = re.search(r'shown only once\): <code class="token">(tid_[^<]+)</code>', made.text)
    assert password, made.text
    first = client_login(site.base, "bob", password.group(1))
    again = client_login(site.base, "bob", password.group(1))
    assert first.status_code == 200 and first.text == again.text  # the client's live token, reused
    key = hashlib.md5(f"bob:{password.group(1)}".encode()).hexdigest()
    fever = httpx.post(f"{site.base}/fever/?api", data={"api_key": key}, timeout=60).json()
    assert fever["auth"] == 1
    listing = web.page.get("/settings").text
    ids = re.findall(r'action="/settings/app-passwords/(\d+)/revoke"', listing)
    assert len(ids) == 2  # the app password and the Fever key
    for token_id in ids:
        resp = web.page.post(f"/settings/app-passwords/{token_id}/revoke", data={"csrf": csrf_of(listing)})
        assert resp.status_code == 303
    assert client_login(site.base, "bob", password.group(1)).status_code == 401
    assert httpx.post(f"{site.base}/fever/?api", data={"api_key": key}, timeout=60).json()["auth"] == 0
    gone = web.page.post("/settings/app-passwords/999999/revoke", data={"csrf": csrf_of(listing)})
    assert gone.status_code == 404
    # The account password still works for apps, and Fever with the account password is unchanged.
    assert client_login(site.base, "bob", PASSWORDS["bob"]).status_code == 200


def test_admin_deletes_a_feed(site: Site) -> None:
    from tidings.store import sources as source_repo

    engine = site.app.state.engine
    with engine.begin() as conn:
        doomed, _ = source_repo.get_or_create_source(conn, "https://doomed.example/rss", title="Doomed")
    admin, reader = web_for(site, "alice"), web_for(site, "bob")
    page = admin.page.get("/admin").text
    assert f'action="/admin/feeds/{doomed}/delete"' in page
    refused = reader.page.post(
        f"/admin/feeds/{doomed}/delete", data={"csrf": csrf_of(reader.page.get("/settings").text)}
    )
    assert refused.status_code == 403
    done = admin.page.post(f"/admin/feeds/{doomed}/delete", data={"csrf": csrf_of(page)})
    assert done.status_code == 303
    with engine.connect() as conn:
        assert source_repo.get_source(conn, doomed) is None
    assert admin.page.post(f"/admin/feeds/{doomed}/delete", data={"csrf": csrf_of(page)}).status_code == 404
