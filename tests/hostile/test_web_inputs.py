"""The web side's hostile corpus: XSS in every field a reader can fill and every output that shows it
(HTML pages, REST, Google Reader, Fever, OPML, CLI), wrong JSON types, malformed forms, wrong
credentials and account enumeration. Each case states its safe outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from lxml import etree, html

from tests.hostile.web_site import PASSWORD, Site, User, live_site, make_user
from tests.live import csrf_of
from tidings.web import logins

pytestmark = pytest.mark.hostile
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "<svg/onload=alert(3)>",
    "'\"--></style></script><script>alert(4)</script>",
    '<a href="javascript:alert(5)">x</a>',
    "<iframe srcdoc='<script>alert(6)</script>'>",
    "{{7*7}}{% raw %}${7*7}",
    "\u202egnp.exe<b onmouseover=alert(8)>",
]
XSS_ARTICLE = {
    "url": "https://harbour-gazette.example/xss/all-fields",
    "title": PAYLOADS[0] + " Harbour " + PAYLOADS[1],
    "text": "Paragraph one " + PAYLOADS[2] + "\n\nParagraph two " + PAYLOADS[4],
    "source": "Harbour Gazette",
    "byline": PAYLOADS[3],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with an article whose every field is hostile, and a reader whose every field is too."""
    from sqlalchemy import insert, update

    from tidings.store.sources import get_or_create_source
    from tidings.store.tables import articles, user_sources

    with live_site(tmp_path_factory.mktemp("inputs"), extra=[XSS_ARTICLE]) as live:
        make_user(live, "root")
        reader = make_user(live, "reader")
        base, bearer = live.base, reader.bearer()
        for k, payload in enumerate(PAYLOADS):
            httpx.post(f"{base}/api/v1/follows", json={"target": f"topic:{payload}"}, headers=bearer)
            httpx.post(f"{base}/api/v1/mutes", json={"target": f"keyword:{payload}"}, headers=bearer)
            httpx.post(f"{base}/api/v1/tokens", json={"name": payload}, headers=bearer)
            httpx.post(
                f"{base}/api/v1/sources",
                json={"url": f"https://x{k}.example/f", "title": payload},
                headers=bearer,
            )
        folders = "".join(
            f'<outline text="{html_attr(p)}">'
            f'<outline xmlUrl="https://y{k}.example/f" text="{html_attr(p)}"/></outline>'
            for k, p in enumerate(PAYLOADS)
        )
        doc = f'<opml version="2.0"><body>{folders}</body></opml>'.encode()
        httpx.post(f"{base}/api/v1/opml", content=doc, headers={**bearer, "Content-Type": "text/x-opml"})
        with live.app.state.engine.begin() as conn:
            source_id, _ = get_or_create_source(conn, "https://harbour-gazette.example/feed")
            conn.execute(update(articles).values(source_id=source_id))
            conn.execute(insert(user_sources).values(user_id=reader.id, source_id=source_id))
        live.extra["reader"] = reader
        yield live


def html_attr(text: str) -> str:
    """text escaped for an XML attribute."""
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def assert_inert_html(page: str) -> None:
    """No script, event handler, javascript: URL or srcdoc from the payloads made it into live markup."""
    tree = html.fromstring(page)
    for script in tree.iter("script"):
        assert "alert" not in (script.text or ""), "a payload became a script"
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("iframe", "svg"), f"a payload became <{element.tag}>"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") or "alert" not in value, f"handler {name}={value}"
            assert not value.strip().lower().startswith("javascript:"), f"{name}={value}"
            assert name.lower() != "srcdoc"
    assert "49" not in page.split("{{7*7}}")[0][-10:]  # no template evaluation next to the payload


@pytest.fixture
def reader(site: Site) -> User:
    """The reader whose fields hold the payloads."""
    user: User = site.extra["reader"]
    return user


def article_id(site: Site) -> int:
    """The id of the hostile article."""
    from sqlalchemy import select

    from tidings.store.tables import articles

    with site.app.state.engine.connect() as conn:
        query = select(articles.c.id).where(articles.c.url == XSS_ARTICLE["url"])
        return int(conn.execute(query).scalar_one())


PAGES = ["/", "/latest", "/settings", "/for-you", "/hidden", "/reading", "/search?q=Harbour", "/welcome"]


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_keep_payloads_inert(site: Site, reader: User, path: str) -> None:
    reply = reader.web.get(path)
    assert reply.status_code in (200, 303)
    if reply.status_code == 200:
        assert_inert_html(reply.text)
        assert "default-src" in reply.headers.get("content-security-policy", "")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_topic_and_entity_urls_is_inert(site: Site, reader: User, payload: str) -> None:
    for prefix in ("/topics/", "/entities/", "/search?q="):
        reply = reader.web.get(prefix + payload.replace("#", "%23").replace("?", "%3F"))
        assert reply.status_code < 500
        if reply.status_code == 200:
            assert_inert_html(reply.text)


def test_article_and_why_pages_keep_payloads_inert(site: Site, reader: User) -> None:
    aid = article_id(site)
    for path in (f"/articles/{aid}", f"/why/{aid}"):
        reply = reader.web.get(path)
        assert reply.status_code == 200, path
        assert_inert_html(reply.text)


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", '"onmouseover=alert(1)', "{{7*7}}"])
def test_hostile_user_names_are_inert_everywhere(site: Site, name: str) -> None:
    user = make_user(site, name.replace(" ", ""))
    assert_inert_html(user.web.get("/settings").text)
    info = httpx.get(f"{site.base}/reader/api/0/user-info", headers=user.reader())
    assert info.headers["content-type"].startswith("application/json")
    assert info.json()["userName"] == name.replace(" ", "")  # data, served as JSON, not markup


def test_rest_serves_payloads_as_json_data(site: Site, reader: User) -> None:
    for path in ("follows", "mutes", "tokens", "sources", "feed", "stories", "profile"):
        reply = httpx.get(f"{site.base}/api/v1/{path}", headers=reader.bearer())
        assert reply.status_code == 200, path
        assert reply.headers["content-type"].startswith("application/json")
        assert reply.headers.get("x-content-type-options") == "nosniff", path  # never sniffed as HTML
    targets = [
        t["value"] for t in httpx.get(f"{site.base}/api/v1/follows", headers=reader.bearer()).json()["items"]
    ]
    assert set(PAYLOADS) <= set(targets)  # stored exactly, escaped only where it becomes markup


def test_greader_titles_and_authors_carry_no_markup(site: Site, reader: User) -> None:
    doc = httpx.get(f"{site.base}/reader/api/0/stream/contents?n=100", headers=reader.reader()).json()
    hostile = [i for i in doc["items"] if "xss" in i["canonical"][0]["href"]]
    assert hostile
    for item in hostile:
        assert "<" not in item["title"] and "<" not in item["author"]
        assert_inert_html(f"<div>{item['summary']['content']}</div>")


def test_fever_titles_and_authors_carry_no_markup(site: Site, reader: User) -> None:
    items = httpx.post(f"{site.base}/fever/?api&items", data={"api_key": reader.fever}).json()["items"]
    hostile = [i for i in items if "xss" in i["url"]]
    assert hostile
    for item in hostile:
        assert "<" not in item["title"] and "<" not in item["author"]
        assert_inert_html(f"<div>{item['html']}</div>")


def test_opml_export_escapes_every_title_and_folder(site: Site, reader: User) -> None:
    exported = httpx.get(f"{site.base}/api/v1/opml", headers=reader.bearer())
    root = etree.fromstring(exported.content)
    labels = {o.get("text") for o in root.iter("outline")}
    assert set(PAYLOADS) <= labels  # round-trips as text
    assert b"<script>" not in exported.content


def test_cli_prints_hostile_titles_as_json_text(site: Site) -> None:
    env = {
        **os.environ,
        "TIDINGS_HOME": str(site.settings.home),
        "TIDINGS_DATABASE_URL": site.settings.database_url or "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tidings.cli.main", "article", str(article_id(site)), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["title"] == XSS_ARTICLE["title"]  # data in a JSON string, not markup
    assert "\x1b" not in done.stdout


# (path, body, acceptable statuses): 422 for a wrong type; pydantic's documented lax coercions ("1" and true
# as the integer 1) may be accepted; an unknown id is a 404. Never a 5xx, always the error shape.
WRONG_JSON: list[tuple[str, Any, set[int]]] = [
    ("events", {"article_id": "1", "kind": "click"}, {200, 404, 422}),
    ("events", {"article_id": [1], "kind": "click"}, {422}),
    ("events", {"article_id": {"$gt": 0}, "kind": "click"}, {422}),
    ("events", {"article_id": None, "kind": "click"}, {422}),
    ("events", {"article_id": True, "kind": "click"}, {200, 404, 422}),
    ("events", {"article_id": 1, "kind": 5}, {422}),
    ("events", {"article_id": 1, "kind": "click", "dwell_seconds": "NaN"}, {422}),
    ("events", {"article_id": 1, "kind": "click", "dwell_seconds": -5}, {422}),
    ("events", {"article_id": -1, "kind": "click"}, {422}),
    ("events", {"article_id": 2**70, "kind": "click"}, {404, 422}),
    ("events", {"article_id": 1, "kind": "click", "user_id": 1}, {422}),
    ("follows", {"target": 5}, {422}),
    ("follows", {"target": ["topic:x"]}, {422}),
    ("follows", {"target": {"kind": "topic"}}, {422}),
    ("mutes", {"target": None}, {422}),
    ("tokens", {"name": 12}, {422}),
    ("tokens", {"name": ""}, {422}),
    ("sources", {"url": 123}, {422}),
    ("sources", {"url": "https://ok.example/f", "title": {"x": 1}}, {422}),
    ("sources", {"url": "javascript:alert(1)//https://x"}, {422}),
    ("session", {"name": ["root"], "password": PASSWORD}, {422}),
    ("session", {"name": "root", "password": 12345678}, {422}),
    ("follows", [], {422}),
    ("follows", "topic:x", {422}),
    ("events", 1, {422}),
]


@pytest.mark.parametrize(("path", "body", "allowed"), WRONG_JSON)
def test_wrong_json_types_get_a_clear_answer(
    site: Site, reader: User, path: str, body: Any, allowed: set[int]
) -> None:
    reply = httpx.post(f"{site.base}/api/v1/{path}", json=body, headers=reader.bearer())
    assert reply.status_code in allowed, reply.text
    if reply.status_code >= 400:
        error = reply.json()["error"]
        assert error["code"] and error["message"] and "Traceback" not in reply.text


def test_infinite_dwell_is_refused(site: Site, reader: User) -> None:
    raw = b'{"article_id": 1, "kind": "click", "dwell_seconds": 1e309}'
    headers = {**reader.bearer(), "Content-Type": "application/json"}
    assert httpx.post(f"{site.base}/api/v1/events", content=raw, headers=headers).status_code == 422


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"target": "topic:x"',
        b"\xff\xfe{}",
        b"null",
        b'{"target": "\\ud800"}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_malformed_json_bodies_are_4xx(site: Site, reader: User, raw: bytes) -> None:
    headers = {**reader.bearer(), "Content-Type": "application/json"}
    reply = httpx.post(f"{site.base}/api/v1/follows", content=raw, headers=headers)
    assert 400 <= reply.status_code < 500 and "Traceback" not in reply.text


MALFORMED_FORMS: list[tuple[str, dict[str, str]]] = [
    ("/login", {}),
    ("/login", {"name": "root"}),
    ("/login", {"name": "x" * 65, "password": "y"}),
    ("/login", {"name": "root\x00", "password": PASSWORD}),
    ("/signup", {"name": "a" * 65, "password": PASSWORD, "confirm": PASSWORD}),
    ("/signup", {"name": "ctl\x07name", "password": PASSWORD, "confirm": PASSWORD}),
    ("/signup", {"name": "ok-name", "password": PASSWORD, "confirm": PASSWORD + "x"}),
    ("/act", {"article_id": "abc", "action": "like"}),
    ("/act", {"article_id": "1", "action": "<script>"}),
    ("/act", {"article_id": str(2**70), "action": "like"}),
    ("/targets", {"action": "follow", "target": "planet:Mars"}),
    ("/targets", {"action": "explode", "target": "topic:x"}),
    ("/settings/tokens/99999999999999999999/revoke", {}),
    ("/settings/controls", {"source_cap": "NaN"}),
    ("/settings/controls", {"mmr_lambda": "1e309"}),
    ("/settings/sources", {"url": "file:///etc/passwd"}),
]


@pytest.mark.parametrize(("path", "fields"), MALFORMED_FORMS)
def test_malformed_forms_are_clear_4xx(site: Site, reader: User, path: str, fields: dict[str, str]) -> None:
    token = csrf_of(reader.web.get("/settings").text)
    reply = reader.web.post(path, data={"csrf": token, **fields})
    assert 400 <= reply.status_code < 500, (path, reply.status_code)
    assert "Traceback" not in reply.text


def test_form_with_invalid_utf8_and_duplicates_is_handled(site: Site, reader: User) -> None:
    token = csrf_of(reader.web.get("/settings").text)
    raw = f"csrf={token}&name=%ff%fe&password=%00&password=two".encode()
    reply = reader.web.post(
        "/login", content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= reply.status_code < 500


BAD_AUTH = [
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer   "},
    {"Authorization": "Basic cm9vdDpwYXNz"},
    {"Authorization": "Bearer tid_" + "A" * 10_000},
    {"Authorization": "Bearer tid_\u0000abc"},
    {"Authorization": "bearer ' OR 1=1 --"},
    {"Cookie": "tidings_session=' OR '1'='1"},
    {"Cookie": "tidings_session=" + "x" * 5000},
]


@pytest.mark.parametrize("headers", BAD_AUTH)
def test_malformed_credentials_are_401(site: Site, headers: dict[str, str]) -> None:
    try:
        reply = httpx.get(f"{site.base}/api/v1/profile", headers=headers)
    except (httpx.LocalProtocolError, UnicodeEncodeError):
        return  # not even sendable as HTTP
    assert reply.status_code in (401, 403) and reply.json()["error"]["code"]


@pytest.mark.parametrize(
    "auth",
    ["GoogleLogin", "GoogleLogin auth=", "GoogleLogin auth=" + "z" * 600, "GoogleLogin auth=fever-key"],
)
def test_malformed_reader_credentials_are_401(site: Site, reader: User, auth: str) -> None:
    auth = auth.replace("fever-key", reader.fever)
    reply = httpx.get(f"{site.base}/reader/api/0/user-info", headers={"Authorization": auth})
    assert reply.status_code == 401


@pytest.mark.parametrize("key", ["", "0" * 32, "g" * 32, "0" * 33, "' OR 1=1 --", "%00", "a" * 5000])
def test_malformed_fever_keys_do_not_authenticate(site: Site, key: str) -> None:
    reply = httpx.post(f"{site.base}/fever/?api", data={"api_key": key})
    assert reply.status_code in (200, 400, 413, 429)
    if reply.status_code == 200:
        assert reply.json()["auth"] == 0


def test_session_and_form_errors_do_not_say_which_accounts_exist(site: Site) -> None:
    logins.reset()
    known = httpx.post(f"{site.base}/api/v1/session", json={"name": "root", "password": "wrong guess 1"})
    unknown = httpx.post(
        f"{site.base}/api/v1/session", json={"name": "nobody-x", "password": "wrong guess 1"}
    )
    assert known.status_code == unknown.status_code == 401
    assert known.json() == unknown.json()
    with site.client() as c:
        token = csrf_of(c.get("/login").text)
        a = c.post("/login", data={"csrf": token, "name": "root", "password": "wrong guess 2"})
        b = c.post("/login", data={"csrf": token, "name": "nobody-y", "password": "wrong guess 2"})
    assert a.status_code == b.status_code == 401
    alert = a.text.split('role="alert">')[1][:80]
    assert alert == b.text.split('role="alert">')[1][:80]
    one = httpx.post(f"{site.base}/accounts/ClientLogin", data={"Email": "root", "Passwd": "wrong guess 3"})
    two = httpx.post(
        f"{site.base}/accounts/ClientLogin", data={"Email": "nobody-z", "Passwd": "wrong guess 3"}
    )
    assert (one.status_code, one.text) == (two.status_code, two.text)
    logins.reset()
