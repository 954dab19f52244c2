"""The authorisation matrix: every route of the app x the other user's ids x every way of authenticating.

The routes come from the app's own route table, so a new route without an entry in EXPECT fails the test
until someone decides who may call it. An intruder (mallory) calls every route with each of her
credentials (session cookie, Bearer token, Google Reader token, Fever key, none) aimed at the owner's
(alice's) ids. No answer may be a 5xx or carry any of alice's private data, admin routes refuse her, and
afterwards alice's data is exactly as it was. A positive control proves the markers are visible to alice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select, update

from tests.hostile.web_site import PASSWORD, Site, User, live_site, make_user
from tests.live import CSRF_PATTERN
from tidings.store.tables import api_tokens, articles, read_state, user_sources
from tidings.store.util import utcnow
from tidings.web import logins

pytestmark = pytest.mark.hostile
AUTHS = ("cookie", "bearer", "greader", "fever", "none")
# Strings only alice's stored data contains; none of them appears in any request of the matrix.
MARKERS = (
    "AliceFollowMarker",
    "alicemutemarker",
    "alice-token-marker",
    "AliceFeedMarker",
    "AliceFolderMarker",
)
ALICE_FEED = "https://alice-only.example/feed"


@dataclass(frozen=True)
class Expect:
    """Who may call a route: "public", "user" (own data only), "admin", or "owned" (a path id of alice's
    must be refused); `revokes` routes end the credential used, so they run last."""

    kind: str
    json: Any = None
    data: dict[str, str] = field(default_factory=dict)
    revokes: bool = False


PUBLIC, USER, ADMIN, OWNED = Expect("public"), Expect("user"), Expect("admin"), Expect("owned")
GREADER_EDIT = Expect("user", data={"i": "{article_id}", "a": "user/-/state/com.google/read", "s": "{feed}"})
EXPECT: dict[tuple[str, str], Expect] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/latest"): PUBLIC,
    ("GET", "/signup"): PUBLIC,
    ("POST", "/signup"): Expect("public", data={"name": "alicemarker", "password": "x", "confirm": "y"}),
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): Expect("public", data={"name": "alicemarker", "password": "wrong guess 7"}),
    ("POST", "/logout"): Expect("user", revokes=True),
    ("GET", "/welcome"): USER,
    ("POST", "/welcome"): Expect("user", data={"topic": "Science"}),
    ("GET", "/for-you"): USER,
    ("GET", "/why/{article_id}"): USER,
    ("POST", "/controls/signals"): Expect("user", data={"weight_recency": "1.0"}),
    ("GET", "/hidden"): USER,
    ("POST", "/act"): Expect("user", data={"article_id": "{article_id}", "action": "like"}),
    ("POST", "/targets"): Expect("user", data={"action": "unfollow", "target": "topic:Transport"}),
    ("GET", "/articles/{article_id}"): PUBLIC,
    ("GET", "/stories/{story_id}"): PUBLIC,
    ("GET", "/topics/{name:path}"): PUBLIC,
    ("GET", "/entities/{key:path}"): PUBLIC,
    ("GET", "/search"): PUBLIC,
    ("GET", "/reading"): USER,
    ("GET", "/settings"): USER,
    ("POST", "/settings/sources"): Expect("user", data={"url": ALICE_FEED}),
    ("POST", "/settings/opml"): USER,
    ("GET", "/settings/opml"): USER,
    ("POST", "/settings/controls"): Expect("user", data={"source_cap": "0.5"}),
    ("POST", "/settings/tokens"): Expect("user", data={"name": "intruder"}),
    ("POST", "/settings/tokens/{token_id}/revoke"): OWNED,
    ("POST", "/settings/password"): Expect(
        "user", data={"current": PASSWORD + "!", "new": "another good passphrase", "confirm": "x"}
    ),
    ("GET", "/settings/export"): USER,
    ("POST", "/settings/delete"): Expect("user", data={"password": "not mallorys password"}),
    ("GET", "/admin"): ADMIN,
    ("POST", "/admin/invites"): ADMIN,
    ("POST", "/admin/users/{user_id}/delete"): ADMIN,
    ("POST", "/settings/display"): Expect("user", data={"view": "compact"}),
    ("POST", "/settings/app-passwords"): Expect("user", data={"label": "intruder"}),
    ("POST", "/settings/app-passwords/{token_id}/revoke"): OWNED,
    ("POST", "/admin/feeds/{source_id}/delete"): ADMIN,
    ("GET", "/saved"): USER,
    ("GET", "/unread"): USER,
    ("POST", "/mark-read"): Expect("user", data={"scope": "feed", "value": "{feed_id}"}),
    ("POST", "/state"): Expect("user", data={"article_id": "{article_id}", "action": "unsave"}),
    ("POST", "/undo"): Expect("user", data={"undo": "read-all:2020-01-01T00:00:00+00:00"}),
    # Signed image URLs: a wrong signature is refused before anything is fetched.
    ("GET", "/img/{signature}/{encoded}"): PUBLIC,
    ("GET", "/api/v1/articles/{article_id}/state"): USER,
    ("PATCH", "/api/v1/articles/{article_id}/state"): Expect("user", json={"read": False, "saved": False}),
    ("POST", "/api/v1/state/mark-read"): Expect("user", json={"ids": ["{article_id}"], "read": False}),
    ("GET", "/api/v1/state/{which}"): USER,
    ("GET", "/api/fever.php"): Expect("user", data={"api": "", "saved_item_ids": ""}),
    ("POST", "/api/fever.php"): Expect(
        "user", data={"api": "", "mark": "item", "as": "unsaved", "id": "{article_id}"}
    ),
    ("GET", "/reader/atom/{stream_id:path}"): USER,
    ("GET", "/api/v1/feed"): USER,
    ("GET", "/api/v1/articles/{article_id}"): USER,
    ("GET", "/api/v1/articles/{article_id}/related"): USER,
    ("GET", "/api/v1/stories"): USER,
    ("GET", "/api/v1/stories/{story_id}"): USER,
    ("GET", "/api/v1/search"): USER,
    ("POST", "/api/v1/events"): Expect("user", json={"article_id": "{article_id}", "kind": "click"}),
    ("GET", "/api/v1/profile"): USER,
    ("DELETE", "/api/v1/profile"): USER,
    ("GET", "/api/v1/follows"): USER,
    ("POST", "/api/v1/follows"): Expect("user", json={"target": "topic:Science"}),
    ("DELETE", "/api/v1/follows"): Expect("user", json={"target": "topic:Transport"}),
    ("GET", "/api/v1/mutes"): USER,
    ("POST", "/api/v1/mutes"): Expect("user", json={"target": "topic:Business"}),
    ("DELETE", "/api/v1/mutes"): Expect("user", json={"target": "topic:Transport"}),
    ("GET", "/api/v1/tokens"): USER,
    ("POST", "/api/v1/tokens"): Expect("user", json={"name": "intruder"}),
    ("DELETE", "/api/v1/tokens/{token_id}"): OWNED,
    ("POST", "/api/v1/session"): Expect("public", json={"name": "alicemarker", "password": "wrong guess 8"}),
    ("DELETE", "/api/v1/session"): Expect("user", revokes=True),
    ("GET", "/api/v1/sources"): USER,
    ("POST", "/api/v1/sources"): Expect("user", json={"url": ALICE_FEED, "title": "intruder title"}),
    ("GET", "/api/v1/opml"): USER,
    ("POST", "/api/v1/opml"): USER,
    ("GET", "/accounts/ClientLogin"): Expect("public", data={"Email": "alicemarker"}),
    ("POST", "/accounts/ClientLogin"): Expect("public", data={"Email": "alicemarker", "Passwd": "guess 9"}),
    ("GET", "/reader/api/0/token"): USER,
    ("GET", "/reader/api/0/user-info"): USER,
    ("GET", "/reader/api/0/stream/contents"): Expect("user", data={"s": "{feed}"}),
    ("POST", "/reader/api/0/stream/contents"): Expect("user", data={"s": "{feed}"}),
    ("GET", "/reader/api/0/stream/contents/{stream_id:path}"): USER,
    ("POST", "/reader/api/0/stream/contents/{stream_id:path}"): USER,
    ("GET", "/reader/api/0/stream/items/ids"): Expect("user", data={"s": "user/-/state/com.google/starred"}),
    ("GET", "/reader/api/0/stream/items/contents"): Expect("user", data={"i": "{article_id}"}),
    ("POST", "/reader/api/0/stream/items/contents"): Expect("user", data={"i": "{article_id}"}),
    ("POST", "/reader/api/0/edit-tag"): GREADER_EDIT,
    ("POST", "/reader/api/0/mark-all-as-read"): Expect("user", data={"s": "{feed}"}),
    ("GET", "/reader/api/0/subscription/list"): USER,
    ("GET", "/reader/api/0/tag/list"): USER,
    ("GET", "/reader/api/0/unread-count"): USER,
    ("POST", "/reader/api/0/subscription/edit"): Expect(
        "user", data={"ac": "edit", "s": "{feed}", "a": "user/-/label/Moved"}
    ),
    ("POST", "/reader/api/0/subscription/quickadd"): Expect("user", data={"quickadd": ALICE_FEED}),
    ("POST", "/reader/api/0/rename-tag"): Expect(
        "user", data={"s": "user/-/label/Local", "dest": "user/-/label/Renamed"}
    ),
    ("POST", "/reader/api/0/disable-tag"): Expect("user", data={"s": "user/-/label/Local"}),
    ("GET", "/fever/"): Expect("user", data={"api": "", "feeds": "", "groups": "", "saved_item_ids": ""}),
    ("POST", "/fever/"): Expect(
        "user", data={"api": "", "mark": "item", "as": "unread", "id": "{article_id}"}
    ),
    ("GET", "/fever"): Expect("user", data={"api": "", "items": "", "with_ids": "{article_id}"}),
    ("POST", "/fever"): Expect("user", data={"api": "", "mark": "feed", "as": "read", "id": "{feed_id}"}),
}


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, HEAD aside, read from its route table."""
    try:
        from fastapi.routing import iter_route_contexts

        contexts: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI: the routes are flat
        contexts = list(app.routes)
    table = []
    for ctx in contexts:
        route = getattr(ctx, "original_route", ctx)
        path = getattr(ctx, "path", None) or getattr(route, "path", "")
        methods = getattr(route, "methods", None) or {"GET"}  # mounts (static files) answer GET
        table += [(m, path) for m in sorted(methods) if m != "HEAD"]
    return table


@dataclass
class World:
    """The server, its admin, the owner (alice) with her ids, and the intruder (mallory)."""

    site: Site
    alice: User
    mallory: User
    ids: dict[str, str]
    secrets: tuple[str, ...]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Alice with follows, mutes, a named token, her own feed and folder, starred and read articles."""
    with live_site(tmp_path_factory.mktemp("authz")) as site:
        make_user(site, "root")  # the first account is the admin; neither alice nor mallory is
        alice, mallory = make_user(site, "alicemarker"), make_user(site, "mallory")
        bearer = alice.bearer()
        for path, target in (("follows", "topic:AliceFollowMarker"), ("mutes", "keyword:alicemutemarker")):
            assert httpx.post(
                f"{site.base}/api/v1/{path}", json={"target": target}, headers=bearer
            ).status_code
        token = httpx.post(f"{site.base}/api/v1/tokens", json={"name": "alice-token-marker"}, headers=bearer)
        feed = httpx.post(
            f"{site.base}/api/v1/sources",
            json={"url": ALICE_FEED, "title": "AliceFeedMarker"},
            headers=bearer,
        ).json()
        engine = site.app.state.engine
        with engine.begin() as conn:
            conn.execute(
                update(user_sources)
                .where(user_sources.c.user_id == alice.id, user_sources.c.source_id == feed["id"])
                .values(category="AliceFolderMarker")
            )
            article_ids = [int(r[0]) for r in conn.execute(select(articles.c.id, articles.c.story_id))]
            conn.execute(update(articles).where(articles.c.id == article_ids[0]).values(source_id=feed["id"]))
            conn.execute(
                insert(read_state).values(
                    user_id=alice.id,
                    article_id=article_ids[0],
                    is_read=True,
                    is_starred=True,
                    updated_at=utcnow(),
                )
            )
            story = conn.execute(select(articles.c.story_id).where(articles.c.story_id.is_not(None))).first()
        ids = {
            "article_id": str(article_ids[0]),
            "story_id": str(story[0] if story else 1),
            "token_id": str(token.json()["id"]),
            "user_id": str(alice.id),
            "name": "Transport",
            "key": "harbour",
            "stream_id": f"feed/{feed['id']}",
            "feed": f"feed/{feed['id']}",
            "feed_id": str(feed["id"]),
            "source_id": str(feed["id"]),
            "which": "saved",
            "signature": "0" * 32,
            "encoded": "aHR0cHM6Ly9hbGljZS1vbmx5LmV4YW1wbGUvcGljLnBuZw",
        }
        session = alice.web.cookies["tidings_session"]
        secrets = (alice.token, alice.greader, alice.fever, session, token.json()["token"])
        yield World(site, alice, mallory, ids, secrets)


def alice_state(world: World) -> dict[str, Any]:
    """Everything of alice's that an intruder might try to change."""
    engine = world.site.app.state.engine
    bearer = world.alice.bearer()
    with engine.connect() as conn:
        tokens = conn.execute(
            select(api_tokens.c.id, api_tokens.c.revoked_at).where(api_tokens.c.user_id == world.alice.id)
        ).all()
        states = conn.execute(select(read_state).where(read_state.c.user_id == world.alice.id)).all()
    base = world.site.base
    return {
        "follows": httpx.get(f"{base}/api/v1/follows", headers=bearer).json(),
        "mutes": httpx.get(f"{base}/api/v1/mutes", headers=bearer).json(),
        "sources": httpx.get(f"{base}/api/v1/sources", headers=bearer).json(),
        "tokens": sorted((t.id, t.revoked_at is None) for t in tokens),
        "read_state": sorted((s.article_id, s.is_read, s.is_starred) for s in states),
    }


def fill(text: str, ids: dict[str, str]) -> str:
    """A path or value with {placeholders} (and {name:path} forms) replaced by alice's ids."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids[m.group(1)], text)


def fill_json(value: Any, ids: dict[str, str]) -> Any:
    """A JSON value with "{article_id}" (also inside lists) replaced by alice's article id."""
    if isinstance(value, list):
        return [fill_json(v, ids) for v in value]
    return int(fill(value, ids)) if value == "{article_id}" else value


def request_for(world: World, method: str, path: str, auth: str, expect: Expect) -> httpx.Response:
    """Call one route as mallory with one way of authenticating, aimed at alice's ids."""
    mallory, ids = world.mallory, world.ids
    url = world.site.base + fill(path, ids)
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    data = {k: fill(v, ids) for k, v in expect.data.items()}
    body = {k: fill_json(v, ids) for k, v in (expect.json or {}).items()}
    params: dict[str, str] = {}
    if auth == "cookie":
        cookies["tidings_session"] = mallory.web.cookies["tidings_session"]
        page = httpx.get(world.site.base + "/settings", cookies=cookies).text
        match = CSRF_PATTERN.search(page)
        data["csrf"] = match.group(1) if match else ""
    elif auth == "bearer":
        headers["Authorization"] = f"Bearer {mallory.token}"
    elif auth == "greader":
        headers["Authorization"] = f"GoogleLogin auth={mallory.greader}"
        t = httpx.get(f"{world.site.base}/reader/api/0/token", headers=headers).text.strip()
        data["T"] = t
    elif auth == "fever":
        data["api_key"] = mallory.fever
    if path.startswith("/fever"):
        params = {k: v for k, v in data.items() if k != "api_key" and k != "csrf" and not v} | {"api": ""}
    kwargs: dict[str, Any] = {"headers": headers, "cookies": cookies, "timeout": 60}
    if method == "GET":
        return httpx.get(url, params={**params, **data}, **kwargs)
    if expect.json is not None:
        return httpx.request(method, url, json=body, params=params, **kwargs)
    if "opml" in path and method == "POST":
        doc = f'<opml version="2.0"><body><outline xmlUrl="{ALICE_FEED}" text="x"/></body></opml>'
        return httpx.request(method, url, data=data, files={"file": ("a.opml", doc.encode())}, **kwargs)
    return httpx.request(method, url, data=data or None, params=params, **kwargs)


def test_every_route_has_an_expectation(world: World) -> None:
    missing = [r for r in route_table(world.site.app) if r not in EXPECT]
    assert not missing, f"routes without an authorisation expectation in EXPECT: {missing}"


def test_markers_are_visible_to_their_owner(world: World) -> None:
    """The positive control: each marker shows up for alice, so its absence for mallory means something."""
    alice, base = world.alice, world.site.base
    seen = httpx.get(f"{base}/api/v1/follows", headers=alice.bearer()).text
    seen += httpx.get(f"{base}/api/v1/mutes", headers=alice.bearer()).text
    seen += httpx.get(f"{base}/api/v1/tokens", headers=alice.bearer()).text
    seen += httpx.get(f"{base}/reader/api/0/subscription/list", headers=alice.reader()).text
    seen += alice.web.get("/settings").text
    for marker in MARKERS:
        assert marker in seen, marker


def test_intruder_gets_nothing_of_the_owners_on_any_route(world: World) -> None:
    logins.reset()
    before = alice_state(world)
    table = route_table(world.site.app)
    ordered = [r for r in table if not EXPECT[r].revokes] + [r for r in table if EXPECT[r].revokes]
    failures: list[str] = []
    for auth in AUTHS:
        for method, path in ordered:
            expect = EXPECT[(method, path)]
            reply = request_for(world, method, path, auth, expect)
            where = f"{method} {path} as mallory via {auth}: {reply.status_code}"
            if reply.status_code >= 500:
                failures.append(f"{where} (server error)")
            leaked = [m for m in (*MARKERS, *world.secrets) if m in reply.text]
            if leaked:
                failures.append(f"{where} leaks {leaked}")
            if expect.kind == "admin" and reply.status_code not in (303, 401, 403):
                failures.append(f"{where} (admin route not refused)")
            if expect.kind == "owned" and reply.status_code not in (303, 401, 403, 404):
                failures.append(f"{where} (alice's id not refused)")
            signed_in = expect.revokes or is_signed_in(reply, path)  # a revoking route may follow another
            if expect.kind == "user" and auth in native_auths(path) and not signed_in:
                failures.append(
                    f"{where} (mallory's own credential was not accepted: the case tests nothing)"
                )
        if auth in ("cookie", "bearer"):  # the revoking routes ended this credential: renew it
            renew(world, auth)
    logins.reset()
    assert not failures, "\n".join(failures)
    assert alice_state(world) == before


def native_auths(path: str) -> tuple[str, ...]:
    """The ways of authenticating a route family accepts."""
    if path.startswith("/api/v1"):
        return ("cookie", "bearer")
    if path.startswith("/reader/"):
        return ("greader",)
    if path.startswith("/fever"):
        return ("fever",)
    return ("cookie",)


def is_signed_in(reply: httpx.Response, path: str) -> bool:
    """True when the answer shows the caller was authenticated."""
    if path.startswith("/fever"):
        return reply.status_code == 200 and reply.json().get("auth") == 1
    location = reply.headers.get("location", "")
    return reply.status_code != 401 and not location.startswith("/login")


def renew(world: World, auth: str) -> None:
    """A new session or Bearer token for mallory after a route revoked hers."""
    mallory = world.mallory
    if auth == "cookie":
        reply = mallory.web.post("/api/v1/session", json={"name": "mallory", "password": PASSWORD})
        assert reply.status_code == 200
    else:
        reply = mallory.web.post("/api/v1/tokens", json={"name": "renewed"})
        assert reply.status_code == 201
        mallory.token = reply.json()["token"]


@pytest.mark.parametrize("auth", ["bearer", "greader", "fever"])
def test_credentials_of_one_kind_do_not_open_another_kinds_routes(world: World, auth: str) -> None:
    """A Fever key is no Bearer token and no Google Reader token; revoked or forged tokens open nothing."""
    base, mallory = world.site.base, world.mallory
    forged = {"bearer": mallory.fever, "greader": mallory.fever, "fever": mallory.token}[auth]
    if auth == "bearer":
        assert (
            httpx.get(f"{base}/api/v1/profile", headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )
    elif auth == "greader":
        reply = httpx.get(
            f"{base}/reader/api/0/user-info", headers={"Authorization": f"GoogleLogin auth={forged}"}
        )
        assert reply.status_code == 401
    else:
        assert httpx.post(f"{base}/fever/?api", data={"api_key": forged}).json()["auth"] == 0
