"""The REST API over real HTTP on loopback: auth, per-user isolation, validation, errors and OPML."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from tests.live import running
from tidings.config import Settings

SEED_ARTICLES = [
    {
        "url": "https://harbour.example/ferry-returns",
        "title": "Night ferry returns to the island after winter pause",
        "text": "The night ferry resumed crossings on Friday after a two month pause, its operator said.\n\n"
        "Islanders queued at the harbour before dawn to buy tickets.",
        "source": "harbour.example",
        "published_at": "2024-03-01T08:00:00Z",
    },
    {
        "url": "https://valley.example/library-opens",
        "title": "Valley library reopens with a new reading garden",
        "text": "The town library opened its doors again on Monday following a long refit.\n\n"
        "Volunteers planted a small garden beside the children's room.",
        "source": "valley.example",
        "published_at": "2024-03-01T09:00:00Z",
    },
    {
        "url": "https://coast.example/storm-warning",
        "title": "Forecasters warn of gales along the coast",
        "text": "Strong winds are expected to reach the coast by Wednesday evening, forecasters said.\n\n"
        "Ferry operators may cancel some evening sailings.",
        "source": "coast.example",
        "published_at": "2024-03-01T10:00:00Z",
    },
]

OPML_DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>mine</title></head><body>
<outline text="Local"><outline type="rss" text="Harbour news" xmlUrl="https://harbour.example/feed.xml"/></outline>
<outline type="rss" text="Coast weather" xmlUrl="https://coast.example/rss"/>
</body></opml>"""


@dataclass
class Live:
    """A running server: its base URL and app."""

    base: str
    app: FastAPI

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return f"{self.base}/api/v1{path}"

    def add_user(self, name: str, password: str | None = None) -> str:
        """Create a user directly in the store and return a fresh API token for them."""
        from tidings.service.users import add_user
        from tidings.store.users import create_token

        engine = self.app.state.engine
        user = add_user(engine, name, password)
        with engine.begin() as conn:
            _, token = create_token(conn, user["id"], "test")
        return token


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A real uvicorn server on loopback with the API installed and three seeded articles."""
    from tidings.web.app import create_app

    root = tmp_path_factory.mktemp("api")
    seed = root / "seed.jsonl"
    seed.write_text("".join(json.dumps(a) + "\n" for a in SEED_ARTICLES))
    settings = Settings(
        home=root / "home",
        seed_paths=str(seed),
        enrich=False,
        background_refresh=False,
        subscribe_starter=False,
        allow_private_networks=True,
        public_reading=True,  # one test reads a page signed out, for its default error body
    )
    app = create_app(settings)
    with running(app, lambda base: httpx.get(f"{base}/healthz").json().get("seeding") is False) as base:
        yield Live(base, app)


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    """The response is an error of this status in the API's shape, without a traceback."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in resp.text


# --- auth -----------------------------------------------------------------------------------------


def test_every_endpoint_requires_auth(live: Live) -> None:
    for method, path in [
        ("GET", "/feed"),
        ("GET", "/articles/1"),
        ("GET", "/articles/1/related"),
        ("GET", "/stories"),
        ("GET", "/stories/1"),
        ("GET", "/search?q=ferry"),
        ("POST", "/events"),
        ("GET", "/follows"),
        ("POST", "/mutes"),
        ("DELETE", "/follows?target=topic:x"),
        ("GET", "/sources"),
        ("POST", "/sources"),
        ("GET", "/opml"),
        ("POST", "/opml"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("DELETE", "/tokens/1"),
    ]:
        resp = httpx.request(method, live.url(path))
        assert_error(resp, 401, "unauthorized")
        assert resp.headers.get("www-authenticate") == "Bearer"


def test_wrong_and_malformed_tokens_are_refused(live: Live) -> None:
    assert_error(httpx.get(live.url("/feed"), headers=auth("tid_not-a-real-token")), 401, "unauthorized")
    assert_error(httpx.get(live.url("/feed"), headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert_error(httpx.get(live.url("/feed"), headers=auth("x" * 5000)), 401, "unauthorized")


def test_token_lifecycle_and_revocation(live: Live) -> None:
    first = live.add_user("tokenowner")
    created = httpx.post(live.url("/tokens"), json={"name": "laptop"}, headers=auth(first))
    assert created.status_code == 201
    new = created.json()
    assert new["name"] == "laptop" and new["token"].startswith("tid_") and new["revoked_at"] is None
    assert httpx.get(live.url("/feed"), headers=auth(new["token"])).status_code == 200
    listed = httpx.get(live.url("/tokens"), headers=auth(first)).json()["items"]
    assert {t["name"] for t in listed} == {"test", "laptop"}
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert httpx.delete(live.url(f"/tokens/{new['id']}"), headers=auth(first)).json()["ok"] is True
    assert_error(httpx.get(live.url("/feed"), headers=auth(new["token"])), 401, "unauthorized")
    assert_error(httpx.delete(live.url(f"/tokens/{new['id']}"), headers=auth(first)), 404, "not_found")
    revoked = [
        t for t in httpx.get(live.url("/tokens"), headers=auth(first)).json()["items"] if t["revoked_at"]
    ]
    assert [t["id"] for t in revoked] == [new["id"]]


def test_session_login_sets_a_cookie_that_authenticates(live: Live) -> None:
    live.add_user("cookieuser", password="correct horse battery")
    bad = httpx.post(live.url("/session"), json={"name": "cookieuser", "password": "wrong password"})
    assert_error(bad, 401, "unauthorized")
    assert_error(
        httpx.post(live.url("/session"), json={"name": "nobody", "password": "x" * 9}), 401, "unauthorized"
    )
    with httpx.Client() as client:
        ok = client.post(
            live.url("/session"), json={"name": "cookieuser", "password": "correct horse battery"}
        )
        assert ok.status_code == 200 and ok.json()["name"] == "cookieuser"
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.get(live.url("/follows")).status_code == 200
        assert client.post(live.url("/follows"), json={"target": "topic:Weather"}).status_code == 200
        cross = client.post(
            live.url("/follows"), json={"target": "topic:Sport"}, headers={"Origin": "https://evil.example"}
        )
        assert_error(cross, 403, "forbidden")
        assert client.delete(live.url("/session")).status_code == 200
        assert_error(client.get(live.url("/follows")), 401, "unauthorized")


# --- reading ------------------------------------------------------------------------------------


def test_feed_articles_stories_and_search(live: Live) -> None:
    token = live.add_user("reader")
    feed = httpx.get(
        live.url("/feed"), params={"limit": 5, "as_of": "2024-03-02T00:00:00Z"}, headers=auth(token)
    )
    assert feed.status_code == 200, feed.text
    data = feed.json()
    assert data["user"] == "reader" and data["hidden"] == []
    assert {i["title"] for i in data["items"]} == {a["title"] for a in SEED_ARTICLES}
    assert all(isinstance(i["reasons"], list) for i in data["items"])

    article_id = data["items"][0]["article_id"]
    article = httpx.get(live.url(f"/articles/{article_id}"), headers=auth(token)).json()
    assert article["id"] == article_id and article["text"] and "entities" in article
    related = httpx.get(live.url(f"/articles/{article_id}/related"), headers=auth(token))
    assert related.status_code == 200 and isinstance(related.json()["items"], list)

    stories = httpx.get(live.url("/stories"), params={"limit": 10}, headers=auth(token)).json()["stories"]
    assert stories and all({"id", "title", "article_ids", "sources"} <= set(s) for s in stories)
    story = httpx.get(live.url(f"/stories/{stories[0]['id']}"), headers=auth(token)).json()
    assert story["id"] == stories[0]["id"] and story["timeline"]
    assert httpx.get(live.url("/stories"), params={"offset": 1000}, headers=auth(token)).json() == {
        "stories": []
    }

    hits = httpx.get(live.url("/search"), params={"q": "library garden"}, headers=auth(token)).json()["items"]
    assert [h["title"] for h in hits] == ["Valley library reopens with a new reading garden"]


def test_unknown_ids_are_404(live: Live) -> None:
    token = live.add_user("prober")
    for path in ("/articles/9999", "/articles/9999/related", "/stories/9999", "/nope"):
        assert_error(httpx.get(live.url(path), headers=auth(token)), 404, "not_found")


def test_pagination_is_validated(live: Live) -> None:
    token = live.add_user("pager")
    for path, params in [
        ("/stories", {"limit": 0}),
        ("/stories", {"limit": 201}),
        ("/stories", {"offset": -1}),
        ("/search", {"q": "ferry", "limit": 500}),
        ("/search", {"q": ""}),
        ("/feed", {"limit": 0}),
        ("/feed", {"as_of": "yesterday-ish"}),
        ("/articles/abc", {}),
    ]:
        assert_error(httpx.get(live.url(path), params=params, headers=auth(token)), 422, "invalid_request")


# --- personal data and isolation ----------------------------------------------------------------


def test_follows_and_mutes_are_per_user(live: Live) -> None:
    alice, bob = live.add_user("alice"), live.add_user("bob")
    assert httpx.post(
        live.url("/follows"), json={"target": "topic:North Korea"}, headers=auth(alice)
    ).json() == {
        "ok": True,
        "changed": True,
    }
    again = httpx.post(live.url("/follows"), json={"target": "topic:North Korea"}, headers=auth(alice)).json()
    assert again["changed"] is False
    httpx.post(live.url("/mutes"), json={"target": "source:coast.example"}, headers=auth(alice))
    assert [f["target"] for f in httpx.get(live.url("/follows"), headers=auth(alice)).json()["items"]] == [
        "topic:North Korea"
    ]
    # Bob sees none of it and cannot remove it.
    assert httpx.get(live.url("/follows"), headers=auth(bob)).json() == {"items": []}
    assert httpx.get(live.url("/mutes"), headers=auth(bob)).json() == {"items": []}
    denied = httpx.request(
        "DELETE", live.url("/follows"), json={"target": "topic:North Korea"}, headers=auth(bob)
    )
    assert_error(denied, 404, "not_found")
    assert len(httpx.get(live.url("/follows"), headers=auth(alice)).json()["items"]) == 1
    # Alice's mute hides the coast story from her feed only.
    as_of = {"as_of": "2024-03-02T00:00:00Z", "show_hidden": "true"}
    alice_feed = httpx.get(live.url("/feed"), params=as_of, headers=auth(alice)).json()
    bob_feed = httpx.get(live.url("/feed"), params=as_of, headers=auth(bob)).json()
    assert "coast.example" not in {i["source"] for i in alice_feed["items"]}
    assert alice_feed["hidden"] and not bob_feed["hidden"]
    assert "coast.example" in {i["source"] for i in bob_feed["items"]}
    # Removal by query parameter works for the owner.
    gone = httpx.delete(live.url("/mutes"), params={"target": "source:coast.example"}, headers=auth(alice))
    assert gone.json()["changed"] is True
    assert httpx.get(live.url("/mutes"), headers=auth(alice)).json() == {"items": []}


def test_tokens_are_per_user(live: Live) -> None:
    carol, dave = live.add_user("carol"), live.add_user("dave")
    carol_tokens = httpx.get(live.url("/tokens"), headers=auth(carol)).json()["items"]
    dave_tokens = httpx.get(live.url("/tokens"), headers=auth(dave)).json()["items"]
    assert {t["id"] for t in carol_tokens}.isdisjoint({t["id"] for t in dave_tokens})
    assert_error(
        httpx.delete(live.url(f"/tokens/{carol_tokens[0]['id']}"), headers=auth(dave)), 404, "not_found"
    )
    assert httpx.get(live.url("/feed"), headers=auth(carol)).status_code == 200


def test_bad_target_and_body_input(live: Live) -> None:
    token = live.add_user("sloppy")
    assert_error(
        httpx.post(live.url("/follows"), json={"target": "planet:Mars"}, headers=auth(token)),
        422,
        "invalid_request",
    )
    assert_error(
        httpx.post(live.url("/mutes"), json={"target": "story:abc"}, headers=auth(token)),
        422,
        "invalid_request",
    )
    assert_error(httpx.post(live.url("/follows"), json={}, headers=auth(token)), 422, "invalid_request")
    broken = httpx.post(
        live.url("/follows"),
        content=b'{"target": ',
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert_error(broken, 400, "bad_request")
    assert_error(httpx.request("DELETE", live.url("/follows"), headers=auth(token)), 422, "invalid_request")


def test_events_validation_and_recording(live: Live) -> None:
    token = live.add_user("clicker")
    ok = httpx.post(
        live.url("/events"), json={"article_id": 1, "kind": "read", "dwell_seconds": 42}, headers=auth(token)
    )
    assert ok.status_code == 200 and ok.json()["ok"] is True
    for body in (
        {"article_id": 1, "kind": "read", "dwell_seconds": -3},
        {"article_id": 1, "kind": "teleport"},
        {"article_id": "one", "kind": "click"},
        {"kind": "click"},
    ):
        assert_error(httpx.post(live.url("/events"), json=body, headers=auth(token)), 422, "invalid_request")
    missing = httpx.post(live.url("/events"), json={"article_id": 9999, "kind": "click"}, headers=auth(token))
    assert_error(missing, 404, "not_found")
    from tidings.store.users import get_user_by_name, list_events

    with live.app.state.engine.connect() as conn:
        user = get_user_by_name(conn, "clicker")
        assert user is not None
        assert [(e["kind"], e["dwell_seconds"]) for e in list_events(conn, user["id"])] == [("read", 42.0)]


def test_events_are_rate_limited(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    from tidings.ratelimit import TokenBucket
    from tidings.service import feed as feed_service

    monkeypatch.setattr(feed_service, "EVENT_LIMITER", TokenBucket(rate=0.001, burst=2))
    token = live.add_user("spammer")
    codes = [
        httpx.post(
            live.url("/events"), json={"article_id": 2, "kind": "impression"}, headers=auth(token)
        ).status_code
        for _ in range(4)
    ]
    assert codes[:2] == [200, 200]
    last = httpx.post(live.url("/events"), json={"article_id": 2, "kind": "click"}, headers=auth(token))
    assert_error(last, 429, "rate_limited")


def test_oversized_body_is_413(live: Live) -> None:
    token = live.add_user("bulky")
    huge = json.dumps({"target": "keyword:" + "x" * (1024 * 1024 + 10)})
    resp = httpx.post(
        live.url("/follows"), content=huge, headers={**auth(token), "Content-Type": "application/json"}
    )
    assert_error(resp, 413, "payload_too_large")
    opml = httpx.post(live.url("/opml"), content=b"<opml>" + b" " * (1024 * 1024 + 1), headers=auth(token))
    assert_error(opml, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 32 * 1024

    streamed = httpx.post(live.url("/opml"), content=chunks(), headers=auth(token))
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "payload_too_large")


# --- sources and OPML ---------------------------------------------------------------------------


def test_sources_are_per_user_and_validated(live: Live) -> None:
    erin, frank = live.add_user("erin"), live.add_user("frank")
    made = httpx.post(live.url("/sources"), json={"url": "https://valley.example/feed"}, headers=auth(erin))
    assert made.status_code == 201 and made.json()["url"].startswith("https://valley.example/feed")
    assert [s["id"] for s in httpx.get(live.url("/sources"), headers=auth(erin)).json()] == [
        made.json()["id"]
    ]
    assert httpx.get(live.url("/sources"), headers=auth(frank)).json() == []
    bad = httpx.post(live.url("/sources"), json={"url": "file:///etc/passwd"}, headers=auth(erin))
    assert_error(bad, 422, "invalid_request")


def test_opml_round_trip_raw_and_multipart(live: Live) -> None:
    from tidings.ingest.opml import parse_opml

    gina, hal = live.add_user("gina"), live.add_user("hal")
    imported = httpx.post(
        live.url("/opml"), content=OPML_DOC, headers={**auth(gina), "Content-Type": "text/x-opml"}
    )
    assert imported.status_code == 200, imported.text
    assert len(imported.json()) == 2
    exported = httpx.get(live.url("/opml"), headers=auth(gina))
    assert exported.status_code == 200 and "opml" in exported.headers["content-type"]
    feeds = {f.url: f for f in parse_opml(exported.content)}
    assert set(feeds) == {"https://harbour.example/feed.xml", "https://coast.example/rss"}
    assert feeds["https://harbour.example/feed.xml"].category == "Local"
    assert feeds["https://coast.example/rss"].title == "Coast weather"

    # The exported document imports again for another user, as a file upload.
    uploaded = httpx.post(
        live.url("/opml"), files={"file": ("subs.opml", exported.content, "text/x-opml")}, headers=auth(hal)
    )
    assert uploaded.status_code == 200, uploaded.text
    assert {s["url"] for s in httpx.get(live.url("/sources"), headers=auth(hal)).json()} == set(feeds)
    again = {f.url: f.category for f in parse_opml(httpx.get(live.url("/opml"), headers=auth(hal)).content)}
    assert again == {u: f.category for u, f in feeds.items()}


def test_bad_opml_is_422(live: Live) -> None:
    token = live.add_user("ivy")
    for body in (b"<html><body>nope</body></html>", b"<opml><body>", b"   "):
        assert_error(httpx.post(live.url("/opml"), content=body, headers=auth(token)), 422, "invalid_request")
    wrong_field = httpx.post(live.url("/opml"), files={"upload": ("a.opml", OPML_DOC)}, headers=auth(token))
    assert_error(wrong_field, 422, "invalid_request")


def test_openapi_documents_typed_models(live: Live) -> None:
    schema = httpx.get(f"{live.base}/openapi.json").json()
    assert "/api/v1/feed" in schema["paths"] and "/api/v1/opml" in schema["paths"]
    feed_ok = schema["paths"]["/api/v1/feed"]["get"]["responses"]["200"]["content"]["application/json"]
    assert feed_ok["schema"]["$ref"].endswith("/Feed")
    assert {"Article", "Story", "ErrorBody", "EventIn"} <= set(schema["components"]["schemas"])
    assert "bearer" in json.dumps(schema["components"].get("securitySchemes", {})).lower()


def test_pages_outside_the_api_keep_default_errors(live: Live) -> None:
    resp = httpx.get(f"{live.base}/articles/9999")
    assert resp.status_code == 404 and "error" not in resp.json()
