"""The Google Reader API over real HTTP on loopback, replaying the requests reader apps send."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from tests.live import running
from tidings.config import Settings

READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
READING_LIST = "user/-/state/com.google/reading-list"
PASSWORDS = {"alice": "alice-secret-1", "bob": "bob-secret-22"}
FEEDS = {
    "harbour.example": ("https://harbour.example/feed.xml", "Harbour News", "Local"),
    "valley.example": ("https://valley.example/rss", "Valley Gazette", "Local"),
    "coast.example": ("https://coast.example/atom", "Coast Weather", "Weather"),
}
SUBSCRIPTIONS = {"alice": ["harbour.example", "valley.example"], "bob": ["harbour.example", "coast.example"]}
SEED_ARTICLES = [
    ("harbour.example", "ferry", "Night ferry returns to the island after winter pause", 8),
    ("harbour.example", "wall", "Harbour wall repairs finish ahead of the spring tides", 9),
    ("valley.example", "library", "Valley library reopens with a new reading garden", 10),
    ("valley.example", "orchard", "Orchard festival <script>alert(1)</script> draws record crowds", 11),
    ("coast.example", "storm", "Forecasters warn of gales along the coast", 12),
    ("coast.example", "lifeboat", "Lifeboat crew trains new volunteers at night", 13),
]


def seed_lines() -> str:
    """The seed articles as JSONL (texts written for these tests)."""
    rows = []
    for host, slug, title, hour in SEED_ARTICLES:
        text = (
            f"{title}, local officials said on Friday.\n\n"
            f"Residents of the area described the {slug} news as welcome <b>after</b> a long wait."
        )
        rows.append(
            {
                "url": f"https://{host}/{slug}",
                "title": title,
                "text": text,
                "source": host,
                "published_at": f"2024-03-01T{hour:02d}:00:00Z",
            }
        )
    return "".join(json.dumps(r) + "\n" for r in rows)


@dataclass
class Site:
    """A running server with two users: its base URL, app, source ids and article ids by slug."""

    base: str
    app: FastAPI
    source_ids: dict[str, int] = field(default_factory=dict)
    article_ids: dict[str, int] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    fever_keys: dict[str, str] = field(default_factory=dict)

    def visible_slugs(self, user: str) -> set[str]:
        """Slugs of the articles a user's subscriptions carry."""
        return {slug for host, slug, *_ in SEED_ARTICLES if host in SUBSCRIPTIONS[user]}


def wait_for_seed(engine: object, expected: int) -> None:
    """Block until the background seeding stored every article."""
    from tidings.store.tables import articles

    deadline = time.time() + 60
    while time.time() < deadline:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            if conn.execute(select(func.count()).select_from(articles)).scalar_one() >= expected:
                return
        time.sleep(0.1)
    raise AssertionError("seeding did not finish")


def prepare_site(site: Site) -> None:
    """Give the seeded articles feeds, create alice and bob, subscribe them and enable Fever."""
    from tidings.service.users import add_user
    from tidings.store.sources import get_or_create_source
    from tidings.store.subscriptions import link_sources
    from tidings.store.tables import articles, sources
    from tidings.web.compat.keys import set_fever_password

    engine = site.app.state.engine
    with engine.begin() as conn:
        for host, (url, title, category) in FEEDS.items():
            source_id, _ = get_or_create_source(conn, url, title=title, category=category)
            conn.execute(update(sources).where(sources.c.id == source_id).values(site_url=f"https://{host}/"))
            conn.execute(update(articles).where(articles.c.source == host).values(source_id=source_id))
            site.source_ids[host] = source_id
        for row in conn.execute(select(articles.c.id, articles.c.url)):
            site.article_ids[row.url.rsplit("/", 1)[-1]] = row.id
    for name, password in PASSWORDS.items():
        user = add_user(engine, name, password)
        site.user_ids[name] = user["id"]
        link_sources(engine, user["id"], [(site.source_ids[h], FEEDS[h][2]) for h in SUBSCRIPTIONS[name]])
        site.fever_keys[name] = set_fever_password(engine, user["id"], password)


@contextmanager
def running_site(root: Path) -> Iterator[Site]:
    """A real uvicorn server on loopback with the compat APIs installed, six articles and two users."""
    from tidings.web.app import create_app

    seed = root / "seed.jsonl"
    seed.write_text(seed_lines())
    settings = Settings(
        home=root / "home",
        seed_paths=str(seed),
        enrich=False,
        background_refresh=False,
        subscribe_starter=False,
        allow_private_networks=True,
    )
    app = create_app(settings)
    with running(app) as base:
        wait_for_seed(app.state.engine, len(SEED_ARTICLES))
        live = Site(base, app)
        prepare_site(live)
        yield live


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The running site, shared by this module's tests."""
    with running_site(tmp_path_factory.mktemp("greader")) as live:
        yield live


# --- a Reader client, as the apps speak it -----------------------------------------------------------


class ReaderClient:
    """The requests a Google Reader app sends, after ClientLogin."""

    def __init__(self, base: str, auth: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"GoogleLogin auth={auth}"}
        self._edit_token: str | None = None

    def get(self, path: str, **params: object) -> httpx.Response:
        """GET /reader/api/0/<path>."""
        return httpx.get(f"{self.base}/reader/api/0/{path}", params=params, headers=self.headers, timeout=60)  # type: ignore[arg-type]

    def post(self, path: str, data: list[tuple[str, str]]) -> httpx.Response:
        """POST a form to /reader/api/0/<path>."""
        return httpx.post(
            f"{self.base}/reader/api/0/{path}",
            content=urlencode(data).encode(),
            headers={**self.headers, "Content-Type": "application/x-www-form-urlencoded"},
            timeout=60,
        )

    def edit_token(self) -> str:
        """The T token (fetched once)."""
        if self._edit_token is None:
            resp = self.get("token")
            assert resp.status_code == 200
            self._edit_token = resp.text.strip()
        return self._edit_token

    def edit(self, path: str, data: list[tuple[str, str]]) -> httpx.Response:
        """POST an edit carrying T."""
        return self.post(path, [*data, ("T", self.edit_token())])

    def unread_ids(self, stream: str = "user/-/state/com.google/reading-list") -> list[int]:
        """Every unread item id of a stream, following continuations two at a time."""
        ids: list[int] = []
        cont: str | None = None
        while True:
            params: dict[str, object] = {"s": stream, "xt": "user/-/state/com.google/read", "n": 2}
            if cont:
                params["c"] = cont
            body = self.get("stream/items/ids", output="json", **params).json()
            ids += [int(ref["id"]) for ref in body["itemRefs"]]
            cont = body.get("continuation")
            if not cont:
                return ids

    def unread_count(self, stream_id: str) -> int:
        """The unread count the server reports for a stream id (0 when absent)."""
        counts = self.get("unread-count", output="json").json()["unreadcounts"]
        return next((int(c["count"]) for c in counts if c["id"] == stream_id), 0)


def client_login(base: str, email: str, password: str) -> httpx.Response:
    """POST /accounts/ClientLogin as the apps do."""
    return httpx.post(f"{base}/accounts/ClientLogin", data={"Email": email, "Passwd": password}, timeout=60)


def login(site: Site, name: str, password: str | None = None) -> ReaderClient:
    """A signed-in client for a user (password default: the fixture's)."""
    resp = client_login(site.base, name, password or PASSWORDS[name])
    assert resp.status_code == 200, resp.text
    fields = dict(line.split("=", 1) for line in resp.text.strip().splitlines())
    assert set(fields) == {"SID", "LSID", "Auth"}
    return ReaderClient(site.base, fields["Auth"])


def long_id(article_id: int) -> str:
    """The long form of an item id."""
    return f"tag:google.com,2005:reader/item/{article_id:016x}"


# --- the session --------------------------------------------------------------------------------------


def test_reader_session_login_to_star(site: Site) -> None:
    reader = login(site, "alice")
    assert len(reader.edit_token()) >= 32
    info = reader.get("user-info", output="json").json()
    assert info["userName"] == "alice" and info["userId"] == str(site.user_ids["alice"])

    subs = reader.get("subscription/list", output="json").json()["subscriptions"]
    assert sorted(s["id"] for s in subs) == sorted(
        f"feed/{site.source_ids[h]}" for h in SUBSCRIPTIONS["alice"]
    )
    harbour = next(s for s in subs if s["id"] == f"feed/{site.source_ids['harbour.example']}")
    assert harbour["title"] == "Harbour News" and harbour["url"] == "https://harbour.example/feed.xml"
    assert harbour["htmlUrl"] == "https://harbour.example/"
    assert harbour["categories"] == [{"id": "user/-/label/Local", "label": "Local"}]
    tags = [t["id"] for t in reader.get("tag/list", output="json").json()["tags"]]
    assert "user/-/label/Local" in tags and "user/-/label/For you" in tags
    assert "user/-/label/Weather" not in tags  # bob's folder

    unread = reader.unread_ids()
    expected = {site.article_ids[s] for s in site.visible_slugs("alice")}
    assert set(unread) == expected and len(unread) == len(expected)
    assert reader.unread_count(READING_LIST) == len(expected)

    # Contents in both id forms; summary HTML is sanitised, origin names the feed.
    ferry, orchard = site.article_ids["ferry"], site.article_ids["orchard"]
    resp = reader.post("stream/items/contents", [("i", long_id(ferry)), ("i", str(orchard))])
    items = resp.json()["items"]
    assert [i["id"] for i in items] == [long_id(ferry), long_id(orchard)]
    assert items[0]["title"] == "Night ferry returns to the island after winter pause"
    assert items[0]["origin"]["streamId"] == f"feed/{site.source_ids['harbour.example']}"
    assert items[0]["origin"]["title"] == "Harbour News"
    assert items[0]["canonical"] == [{"href": "https://harbour.example/ferry"}]
    assert READING_LIST in items[0]["categories"]
    assert READ not in items[0]["categories"]
    # Markup in publisher text arrives escaped, never as live tags (titles escaped as FreshRSS does).
    assert "<script" not in items[1]["summary"]["content"] and "<script" not in items[1]["title"]
    assert "&lt;script&gt;" in items[1]["title"]
    assert "&lt;b&gt;after&lt;/b&gt;" in items[1]["summary"]["content"]
    assert int(items[0]["timestampUsec"]) // 1_000_000 == items[0]["published"]

    # Mark read, then star: the unread count drops and the starred stream lists the item.
    assert reader.edit("edit-tag", [("i", long_id(ferry)), ("a", READ)]).text == "OK"
    assert ferry not in reader.unread_ids()
    assert reader.unread_count(READING_LIST) == len(expected) - 1
    assert reader.unread_count(f"feed/{site.source_ids['harbour.example']}") == 1
    assert reader.edit("edit-tag", [("i", str(ferry)), ("a", STARRED)]).text == "OK"
    starred = reader.get(f"stream/contents/{STARRED}", output="json").json()["items"]
    assert [i["id"] for i in starred] == [long_id(ferry)]
    assert {READ, STARRED} <= set(starred[0]["categories"])
    starred_ids = reader.get("stream/items/ids", s=STARRED).json()["itemRefs"]
    assert [r["id"] for r in starred_ids] == [str(ferry)]

    # Unstar and mark unread again.
    reader.edit("edit-tag", [("i", str(ferry)), ("r", STARRED)])
    reader.edit("edit-tag", [("i", str(ferry)), ("r", READ)])
    assert reader.get(f"stream/contents/{STARRED}").json()["items"] == []
    assert reader.unread_count(READING_LIST) == len(expected)


def test_streams_by_feed_label_and_paging(site: Site) -> None:
    reader = login(site, "alice")
    valley = site.source_ids["valley.example"]
    feed_items = reader.get(f"stream/contents/feed/{valley}", n=10).json()["items"]
    assert [i["title"][:7] for i in feed_items] == ["Orchard", "Valley "]  # newest first
    oldest_first = reader.get(f"stream/contents/feed/{valley}", n=10, r="o").json()["items"]
    assert [i["id"] for i in oldest_first] == [i["id"] for i in reversed(feed_items)]
    label = reader.get("stream/contents/user/-/label/Local", n=3).json()
    # The continuation names the last item shown (its time and id), so arrivals never shift a page.
    last = label["items"][-1]
    assert (
        len(label["items"]) == 3
        and label["continuation"] == f"{last['timestampUsec']}-{int(last['id'][-16:], 16)}"
    )
    rest = reader.get("stream/contents/user/-/label/Local", n=3, c=label["continuation"]).json()
    assert len(rest["items"]) == 1 and "continuation" not in rest
    # Feeds may also be named by URL, raw or percent-encoded as apps send them.
    by_url = reader.get("stream/contents/feed/https://harbour.example/feed.xml").json()["items"]
    assert {i["origin"]["streamId"] for i in by_url} == {f"feed/{site.source_ids['harbour.example']}"}
    encoded = reader.get("stream/contents/feed%2Fhttps%3A%2F%2Fharbour.example%2Ffeed.xml").json()["items"]
    assert len(by_url) == len(encoded) == 2
    # The stream may also come as s=, and an explicit user id means the same as "-".
    by_query = reader.get("stream/contents", s=f"user/{site.user_ids['alice']}/label/Local", n=3).json()
    assert [i["id"] for i in by_query["items"]] == [i["id"] for i in label["items"]]


def test_mark_all_as_read_respects_ts(site: Site) -> None:
    reader = login(site, "alice")
    valley = f"feed/{site.source_ids['valley.example']}"
    assert reader.unread_count(valley) == 2
    # A ts before anything was stored marks nothing; then without ts the whole feed goes.
    assert reader.edit("mark-all-as-read", [("s", valley), ("ts", "1000000")]).text == "OK"
    assert reader.unread_count(valley) == 2
    assert (
        reader.edit("mark-all-as-read", [("s", valley), ("ts", str(int(time.time() * 1e6) + 10**6))]).text
        == "OK"
    )
    assert reader.unread_count(valley) == 0
    assert reader.unread_count(f"feed/{site.source_ids['harbour.example']}") == 2
    reader.edit(
        "edit-tag",
        [("i", str(site.article_ids[s])) for s in ("library", "orchard")] + [("r", READ)],
    )
    assert reader.unread_count(valley) == 2


def test_for_you_stream_is_the_ranked_feed(site: Site) -> None:
    from tidings.service.feed import feed_for

    reader = login(site, "alice")
    body = reader.get("stream/contents/user/-/label/For you", n=20).json()
    got = [int(i["id"].rsplit("/", 1)[-1], 16) for i in body["items"]]
    _, result = feed_for(site.app.state.engine, site.app.state.settings, "alice", 200)
    mine = {site.article_ids[s] for s in site.visible_slugs("alice")}
    ranked = [int(it.article_id) for it in result.items if int(it.article_id) in mine]
    assert got and got == ranked
    assert set(got) <= mine  # bob's coast feed never shows up
    assert reader.unread_count("user/-/label/For you") == len(ranked)
    ids = reader.get("stream/items/ids", s="user/-/label/For you", n=2).json()
    assert [int(r["id"]) for r in ids["itemRefs"]] == ranked[:2]
    assert ids.get("continuation") == (f"r{ranked[1]}" if len(ranked) > 2 else None)  # after the 2nd item
    if len(ranked) > 2:
        rest = reader.get("stream/items/ids", s="user/-/label/For you", n=20, c=ids["continuation"]).json()
        assert [int(r["id"]) for r in rest["itemRefs"]] == ranked[2:]


def test_wrong_password_and_bad_tokens_are_401_without_traceback(site: Site) -> None:
    resp = client_login(site.base, "alice", "not-the-password")
    assert resp.status_code == 401 and "BadAuthentication" in resp.text
    assert "Traceback" not in resp.text and "Auth=" not in resp.text
    assert client_login(site.base, "nobody", "whatever-123").status_code == 401
    for headers in ({}, {"Authorization": "GoogleLogin auth=tid_forged"}, {"Authorization": "Bearer x"}):
        for path in ("subscription/list", "unread-count", "stream/items/ids", "token"):
            resp = httpx.get(f"{site.base}/reader/api/0/{path}", headers=headers)
            assert resp.status_code == 401 and "Traceback" not in resp.text
    # A Fever key is not a Reader token.
    forged = ReaderClient(site.base, site.fever_keys["alice"])
    assert forged.get("subscription/list").status_code == 401


def test_edits_need_the_t_token(site: Site) -> None:
    reader = login(site, "alice")
    ferry = str(site.article_ids["ferry"])
    no_t = reader.post("edit-tag", [("i", ferry), ("a", READ)])
    assert no_t.status_code == 401 and no_t.headers.get("Google-Bad-Token") == "true"
    for bad in ("x" * 57, "é" * 57):
        wrong = reader.post("edit-tag", [("i", ferry), ("a", READ), ("T", bad)])
        assert wrong.status_code == 401
    other = login(site, "bob")  # bob's T does not work with alice's login
    stolen = reader.post("mark-all-as-read", [("s", READING_LIST), ("T", other.edit_token())])
    assert stolen.status_code == 401
    assert ferry in {str(i) for i in reader.unread_ids()}


def test_users_never_see_each_others_items_or_states(site: Site) -> None:
    alice, bob = login(site, "alice"), login(site, "bob")
    storm, wall = site.article_ids["storm"], site.article_ids["wall"]
    # Bob's own feed is invisible to alice, by stream, by id and by edit.
    assert f"feed/{site.source_ids['coast.example']}" not in str(alice.get("subscription/list").json())
    assert alice.get(f"stream/contents/feed/{site.source_ids['coast.example']}").json()["items"] == []
    assert alice.post("stream/items/contents", [("i", str(storm))]).json()["items"] == []
    alice.edit("edit-tag", [("i", str(storm)), ("a", STARRED)])
    assert storm in bob.unread_ids()
    assert bob.get(f"stream/contents/{STARRED}").json()["items"] == []
    # A shared feed keeps separate state per user.
    alice.edit("edit-tag", [("i", str(wall)), ("a", READ)])
    alice.edit("edit-tag", [("i", str(wall)), ("a", STARRED)])
    assert wall not in alice.unread_ids() and wall in bob.unread_ids()
    bob_items = bob.post("stream/items/contents", [("i", str(wall))]).json()["items"]
    assert STARRED not in bob_items[0]["categories"]
    assert bob.get(f"stream/contents/{STARRED}").json()["items"] == []
    alice.edit("edit-tag", [("i", str(wall)), ("r", READ)])
    alice.edit("edit-tag", [("i", str(wall)), ("r", STARRED)])


def test_bad_input_gets_clear_4xx(site: Site) -> None:
    reader = login(site, "alice")
    assert reader.get("stream/contents/user/-/bogus/thing").status_code == 400
    assert reader.get("stream/items/ids", s="feed/1", n="many").status_code == 400
    assert reader.get("stream/items/ids", s="feed/1", ot="yesterday").status_code == 400
    assert reader.edit("edit-tag", [("i", "not-an-id"), ("a", READ)]).status_code == 400
    assert reader.get("stream/contents/feed/" + "9" * 30).status_code == 400
    assert reader.get("stream/contents/feed/²").json()["items"] == []
    assert reader.get("stream/items/ids", s="feed/1", n="²").status_code == 400
    # A continuation of superscript digits ("²" passes str.isdigit, not int) is refused, not a 500.
    assert reader.get("stream/items/ids", s="feed/1", c="²-1").status_code == 400
    assert reader.post("stream/items/contents", [("i", "9" * 30)]).json()["items"] == []
    huge = reader.post("stream/items/contents", [("i", "1" * 300_000)])
    assert huge.status_code == 413
    for resp in (huge, reader.get("stream/contents/user/-/bogus/thing")):
        assert "Traceback" not in resp.text


def test_login_is_throttled_after_repeated_failures(site: Site) -> None:
    from tidings.web import logins
    from tidings.web.compat.greader import LOGIN_FAILURES

    LOGIN_FAILURES.reset()
    logins.reset()  # earlier sign-ins of this process (other modules) must not count here
    try:
        for _ in range(LOGIN_FAILURES.limit):
            assert client_login(site.base, "alice", "guess-guess").status_code == 401
        # Even the right password is refused while throttled, so guessing learns nothing.
        assert client_login(site.base, "alice", PASSWORDS["alice"]).status_code == 429
    finally:
        LOGIN_FAILURES.reset()
        logins.reset()  # the per-account throttles shared with the other sign-in paths
    assert client_login(site.base, "alice", PASSWORDS["alice"]).status_code == 200


def test_apps_manage_subscriptions_and_folders(site: Site) -> None:
    from tidings.service.users import add_user

    add_user(site.app.state.engine, "carol", "carol-secret-3")
    carol = login(site, "carol", "carol-secret-3")
    harbour = site.source_ids["harbour.example"]

    def folders() -> dict[str, list[str]]:
        subs = carol.get("subscription/list").json()["subscriptions"]
        return {s["id"]: [c["label"] for c in s["categories"]] for s in subs}

    added = carol.edit("subscription/quickadd", [("quickadd", "https://harbour.example/feed.xml")]).json()
    assert added["streamId"] == f"feed/{harbour}" and added["numResults"] == 1
    assert folders() == {f"feed/{harbour}": ["Local"]}  # the feed's own folder
    assert carol.unread_count(f"feed/{harbour}") == 2

    edit = [("ac", "edit"), ("s", f"feed/{harbour}"), ("a", "user/-/label/Boats")]
    assert carol.edit("subscription/edit", edit).text == "OK"
    assert folders() == {f"feed/{harbour}": ["Boats"]}
    assert len(carol.get("stream/contents/user/-/label/Boats").json()["items"]) == 2
    rename = [("s", "user/-/label/Boats"), ("dest", "user/-/label/Ships")]
    assert carol.edit("rename-tag", rename).text == "OK"
    assert folders() == {f"feed/{harbour}": ["Ships"]}
    assert carol.edit("disable-tag", [("s", "user/-/label/Ships")]).text == "OK"
    assert folders() == {f"feed/{harbour}": ["Local"]}

    subscribe = [("ac", "subscribe"), ("s", "feed/https://pier.example/rss"), ("a", "user/-/label/New")]
    assert carol.edit("subscription/edit", subscribe).text == "OK"
    pier = next(k for k in folders() if k != f"feed/{harbour}")
    assert folders()[pier] == ["New"]
    assert carol.get("stream/contents/feed/https://pier.example/rss").json()["items"] == []

    assert carol.edit("subscription/edit", [("ac", "unsubscribe"), ("s", f"feed/{harbour}")]).text == "OK"
    assert list(folders()) == [pier] and carol.unread_ids() == []
    bad = carol.edit("subscription/quickadd", [("quickadd", "javascript:alert(1)")])
    assert bad.status_code == 400 and "Traceback" not in bad.text
    unknown = carol.edit("subscription/edit", [("ac", "unsubscribe"), ("s", f"feed/{harbour}")])
    assert unknown.status_code == 400
    # Other users' subscriptions and folders are untouched, and their edits need their own T.
    alice = login(site, "alice")
    alice_subs = alice.get("subscription/list").json()["subscriptions"]
    assert {s["id"] for s in alice_subs} == {f"feed/{site.source_ids[h]}" for h in SUBSCRIPTIONS["alice"]}
    assert all(s["categories"] == [{"id": "user/-/label/Local", "label": "Local"}] for s in alice_subs)
    no_t = carol.post("subscription/edit", [("ac", "unsubscribe"), ("s", pier)])
    assert no_t.status_code == 401


def test_stream_and_item_ids_parse_as_clients_write_them() -> None:
    from tidings.web.compat.streams import Stream, format_item_id, parse_epoch, parse_item_id, parse_stream

    assert format_item_id(255) == "tag:google.com,2005:reader/item/00000000000000ff"
    assert parse_item_id(format_item_id(255)) == parse_item_id("255") == 255
    for bad in ("", "-3", "0", "abc", "tag:google.com,2005:reader/item/xyz", "9" * 20, "²"):
        with pytest.raises(ValueError):
            parse_item_id(bad)
    assert parse_stream("user/1005/state/com.google/starred") == Stream("starred")
    assert parse_stream("user/-/label/For you") == Stream("for-you")
    assert parse_stream("user/-/label/Local") == Stream("label", "Local")
    assert parse_stream("feed/https://a.example/rss") == Stream("feed", "https://a.example/rss")
    with pytest.raises(ValueError):
        parse_stream("user/-/state/com.google/broadcast")
    seconds, millis, micros = (
        parse_epoch("1709280000"),
        parse_epoch("1709280000000"),
        parse_epoch("1709280000000000"),
    )
    assert seconds == millis == micros and seconds is not None and seconds.year == 2024
