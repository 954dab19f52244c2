"""Accounts in the web UI over real HTTP: sign-up, sign-in, sessions, CSRF, rate limits and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import csrf_of, make_settings, serve, sign_up, write_seed

PASSWORD = "correct horse battery"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server seeded with a few articles, shared by this module's tests."""
    folder = tmp_path_factory.mktemp("ui-auth")
    (folder / "home").mkdir()
    with serve(
        make_settings(folder / "home", [write_seed(folder)], public_reading=True), expect_articles=4
    ) as url:
        yield url


def client(base: str) -> httpx.Client:
    """A client that keeps cookies and does not follow redirects."""
    return httpx.Client(base_url=base, timeout=30)


def test_first_user_is_admin_and_lands_on_onboarding(base: str) -> None:
    with client(base) as c:
        reply = sign_up(c, "ada")
        assert reply.status_code == 303 and reply.headers["location"] == "/welcome"
        cookie = reply.headers["set-cookie"]
        assert "tidings_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        page = c.get("/welcome")
        assert page.status_code == 200 and "Welcome, ada" in page.text
        # Topics are offered under their keys; a tag that names no topic ("Transport") is not offered.
        assert 'value="Science and technology"' in page.text and 'value="Transport"' not in page.text
        # Not onboarded yet: For you sends the reader to onboarding first.
        assert c.get("/for-you").headers["location"] == "/welcome"


def test_secure_cookie_behind_https_proxy(base: str) -> None:
    with client(base) as c:
        token = csrf_of(c.get("/signup").text)
        reply = c.post(
            "/signup",
            data={"csrf": token, "name": "tls-reader", "password": PASSWORD, "confirm": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert reply.status_code == 303 and "Secure" in reply.headers["set-cookie"]


def test_login_logout_and_wrong_password(base: str) -> None:
    with client(base) as c:
        sign_up(c, "grace")
    with client(base) as c:
        token = csrf_of(c.get("/login").text)
        wrong = c.post("/login", data={"csrf": token, "name": "grace", "password": "not the password"})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        assert "Traceback" not in wrong.text
        ok = c.post(
            "/login", data={"csrf": token, "name": "grace", "password": PASSWORD, "next": "/settings"}
        )
        assert ok.status_code == 303
        assert c.get("/settings").status_code == 200
        token = csrf_of(c.get("/settings").text)
        out = c.post("/logout", data={"csrf": token})
        assert out.status_code == 303
        assert c.get("/settings").headers["location"].startswith("/login?next=/settings")


def test_login_is_rate_limited(base: str) -> None:
    with client(base) as c:
        token = csrf_of(c.get("/login").text)
        codes = [
            c.post(
                "/login", data={"csrf": token, "name": "nobody-here", "password": "wrong-password"}
            ).status_code
            for _ in range(12)
        ]
    assert codes[0] == 401 and codes[-1] == 429


def test_post_without_csrf_is_refused(base: str) -> None:
    with client(base) as c:
        sign_up(c, "linus")
        for path, data in [
            ("/act", {"article_id": "1", "action": "like"}),
            ("/targets", {"action": "follow", "target": "topic:Science"}),
            ("/settings/tokens", {"name": "x"}),
            ("/logout", {}),
            ("/welcome", {"topic": "Science"}),
            ("/settings/password", {"current": PASSWORD, "new": "x" * 10, "confirm": "x" * 10}),
            ("/settings/delete", {"password": PASSWORD}),
        ]:
            reply = c.post(path, data=data)
            assert reply.status_code == 403, path
            assert c.post(path, data={**data, "csrf": "0" * 64}).status_code == 403, path
        upload = c.post("/settings/opml", files={"file": ("a.opml", b"<opml/>", "text/xml")})
        assert upload.status_code == 403
        assert c.get("/settings").status_code == 200  # still signed in: nothing was changed or deleted
    with client(base) as anonymous:
        reply = anonymous.post("/login", data={"name": "linus", "password": PASSWORD})
        assert reply.status_code == 403 and "Traceback" not in reply.text


def test_signup_bad_input_is_a_clear_4xx(base: str) -> None:
    with client(base) as c:
        token = csrf_of(c.get("/signup").text)
        short = c.post("/signup", data={"csrf": token, "name": "shorty", "password": "abc", "confirm": "abc"})
        assert short.status_code == 400 and "8 to 1024 characters" in short.text
        spaced = c.post(
            "/signup", data={"csrf": token, "name": "two words", "password": PASSWORD, "confirm": PASSWORD}
        )
        assert spaced.status_code == 400 and "without spaces" in spaced.text
        sign_up(c, "taken")
    with client(base) as c:
        token = csrf_of(c.get("/signup").text)
        again = c.post(
            "/signup", data={"csrf": token, "name": "taken", "password": PASSWORD, "confirm": PASSWORD}
        )
        # Refused without naming the account (issue 11, item 10: no account enumeration).
        assert again.status_code == 400 and "cannot be used" in again.text and "exists" not in again.text
        missing = c.post("/signup", data={"csrf": token, "name": "x"})
        assert missing.status_code == 422 and "Traceback" not in missing.text


def test_pages_need_sign_in_and_next_stays_local(base: str) -> None:
    with client(base) as c:
        for path in ("/for-you", "/settings", "/hidden", "/reading", "/why/1", "/welcome"):
            reply = c.get(path)
            assert reply.status_code == 303 and reply.headers["location"].startswith("/login?next="), path
        sign_up(c, "wanderer")
    with client(base) as c:
        token = csrf_of(c.get("/login").text)
        reply = c.post(
            "/login",
            data={"csrf": token, "name": "wanderer", "password": PASSWORD, "next": "//evil.example/"},
        )
        assert reply.headers["location"] in ("/", "/welcome")


def test_security_headers_on_pages(base: str) -> None:
    page = httpx.get(f"{base}/latest")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_unknown_pages_are_html_404s(base: str) -> None:
    for path in ("/articles/99999", "/stories/99999", "/topics/No such topic", "/entities/person:nobody"):
        reply = httpx.get(f"{base}{path}", headers=BROWSER)
        assert reply.status_code == 404 and "<h1>Not found</h1>" in reply.text, path
    bad = httpx.get(f"{base}/articles/abc", headers=BROWSER)
    assert bad.status_code == 422 and "not valid (article_id)" in bad.text
    # Clients that do not ask for HTML keep FastAPI's JSON bodies.
    assert httpx.get(f"{base}/articles/99999").json() == {"detail": "No such article."}
    # The API keeps its JSON error bodies.
    assert httpx.get(f"{base}/api/v1/no-such-thing").json()["error"]["code"] == "not_found"


def test_session_cookie_also_works_for_the_api(base: str) -> None:
    with client(base) as c:
        sign_up(c, "api-user")
        assert c.get("/api/v1/follows").status_code == 200


def test_seed_has_several_sources(tmp_path: Path) -> None:
    # write_seed writes one JSON object per line, all with a source (several publishers).
    lines = write_seed(tmp_path).read_text().splitlines()
    assert len(lines) == 4 and len({line.split('"source": ')[1].split(",")[0] for line in lines}) == 3
