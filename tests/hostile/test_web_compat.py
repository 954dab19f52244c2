"""Items 9, 10, 11, 16, 19, 20 on the reader-app side: field floods, enumeration by timing, HTML in
`author`, passwords in URLs, the server secret and keyed Fever hashes."""

from __future__ import annotations

import hashlib
import os
import stat
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import insert, select, update

from tests.hostile.web_site import PASSWORD, Site, live_site, make_user
from tidings.store.tables import api_tokens, articles, user_sources
from tidings.store.util import utcnow
from tidings.web import logins
from tidings.web.compat import keys

pytestmark = pytest.mark.hostile
EVIL_BYLINE = '<img src=x onerror="alert(1)">Jane <script>alert(2)</script><b>Doe</b> &amp; Co\x07'
HOSTILE = {
    "url": "https://harbour-gazette.example/hostile/byline",
    "title": "Council <b>votes</b> on harbour plan",
    "text": "The council voted on Monday on the harbour plan.\n\nThe vote was close.",
    "source": "Harbour Gazette",
    "byline": EVIL_BYLINE,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with alice subscribed to every seeded article's source."""
    from tidings.store.sources import get_or_create_source

    with live_site(tmp_path_factory.mktemp("compat"), extra=[HOSTILE]) as live:
        alice = make_user(live, "alice")
        engine = live.app.state.engine
        with engine.begin() as conn:
            source_id, _ = get_or_create_source(conn, "https://harbour-gazette.example/feed")
            conn.execute(update(articles).values(source_id=source_id))
            conn.execute(insert(user_sources).values(user_id=alice.id, source_id=source_id))
        live.extra["alice"] = alice
        yield live


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    """No test inherits another's sign-in failures."""
    from tidings.web.compat.greader import LOGIN_FAILURES

    LOGIN_FAILURES.reset()
    logins.reset()
    yield
    logins.reset()


def flood(n: int) -> str:
    """An urlencoded body with n fields."""
    return "&".join(f"f{k}=v" for k in range(n))


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("n", [2001, 5000, 50_000])
def test_client_login_field_flood_is_a_clean_4xx(site: Site, n: int) -> None:
    reply = httpx.post(f"{site.base}/accounts/ClientLogin", content=flood(n), headers=FORM)
    assert 400 <= reply.status_code < 500 and "Traceback" not in reply.text


def test_greader_field_floods_are_4xx(site: Site) -> None:
    alice = site.extra["alice"]
    for path in ("stream/contents", "stream/items/contents", "edit-tag"):
        reply = httpx.post(
            f"{site.base}/reader/api/0/{path}", content=flood(3000), headers={**FORM, **alice.reader()}
        )
        assert 400 <= reply.status_code < 500, path
    query = httpx.get(f"{site.base}/reader/api/0/stream/contents?{flood(2500)}", headers=alice.reader())
    assert 400 <= query.status_code < 500


def test_fever_field_flood_is_4xx(site: Site) -> None:
    alice = site.extra["alice"]
    body = f"api_key={alice.fever}&{flood(3000)}"
    reply = httpx.post(f"{site.base}/fever/?api&items", content=body, headers=FORM)
    assert 400 <= reply.status_code < 500


def test_multipart_field_flood_is_4xx(site: Site) -> None:
    files = [(f"f{k}", (None, "v")) for k in range(2500)]
    reply = httpx.post(f"{site.base}/accounts/ClientLogin", files=files)
    assert 400 <= reply.status_code < 500


def test_web_form_field_flood_is_4xx(site: Site) -> None:
    reply = httpx.post(f"{site.base}/login", content=flood(5000), headers=FORM)
    assert 400 <= reply.status_code < 500


def test_client_login_refuses_a_password_in_the_url(site: Site) -> None:
    url = f"{site.base}/accounts/ClientLogin?Email=alice&Passwd={PASSWORD.replace(' ', '+')}"
    for reply in (httpx.get(url), httpx.post(url), httpx.post(url, data={"Email": "alice"})):
        assert reply.status_code == 400 and "Auth=" not in reply.text


def login_time(site: Site, name: str) -> float:
    """Seconds a failed ClientLogin takes."""
    started = time.perf_counter()
    reply = httpx.post(f"{site.base}/accounts/ClientLogin", data={"Email": name, "Passwd": "wrong guess 1"})
    assert reply.status_code == 401 and reply.text == "Error=BadAuthentication\n"
    return time.perf_counter() - started


def test_client_login_timing_does_not_reveal_accounts(site: Site) -> None:
    known = [login_time(site, "alice") for _ in range(4)]
    unknown = [login_time(site, f"ghost{k}") for k in range(4)]
    # Both pay one argon2 check; before the fix an unknown name answered about 7 times faster.
    assert statistics.median(unknown) > 0.4 * statistics.median(known)


def test_author_is_plain_text_in_greader_and_fever(site: Site) -> None:
    alice = site.extra["alice"]
    doc = httpx.get(f"{site.base}/reader/api/0/stream/contents?n=50", headers=alice.reader()).json()
    fever = httpx.post(f"{site.base}/fever/?api&items", data={"api_key": alice.fever}).json()
    authors = [i["author"] for i in doc["items"] if "hostile" in i["canonical"][0]["href"]]
    authors += [i["author"] for i in fever["items"] if "hostile" in i["url"]]
    assert len(authors) == 2
    for author in authors:
        assert author == "Jane Doe &amp; Co"
        assert "<" not in author and "alert" not in author and "\x07" not in author


def test_secret_key_file_is_private(site: Site) -> None:
    path = site.settings.home / "secret_key"
    assert path.exists() and len(path.read_text().strip()) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_fever_key_is_stored_keyed_and_legacy_keys_migrate(site: Site) -> None:
    alice = site.extra["alice"]
    engine = site.app.state.engine
    with engine.connect() as conn:
        stored = conn.execute(
            select(api_tokens.c.token_hash).where(
                api_tokens.c.user_id == alice.id,
                api_tokens.c.name == "fever",
                api_tokens.c.revoked_at.is_(None),
            )
        ).scalar_one()
    assert stored != keys.legacy_fever_hash(alice.fever)
    assert stored != hashlib.sha256(alice.fever.encode()).hexdigest()
    assert stored == keys.fever_hash(alice.fever, (site.settings.home / "secret_key").read_text().encode())
    # A key stored the old way (unkeyed BLAKE2b) keeps working once and is rewritten keyed.
    bob = make_user(site, "bob")
    with engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == bob.id, api_tokens.c.name == "fever")
            .values(token_hash=keys.legacy_fever_hash(bob.fever), created_at=utcnow())
        )
    assert httpx.post(f"{site.base}/fever/?api", data={"api_key": bob.fever}).json()["auth"] == 1
    with engine.connect() as conn:
        now_stored = conn.execute(
            select(api_tokens.c.token_hash).where(
                api_tokens.c.user_id == bob.id, api_tokens.c.name == "fever"
            )
        ).scalar_one()
    assert now_stored == keys.fever_hash(bob.fever, (site.settings.home / "secret_key").read_text().encode())


def test_secret_key_setting_is_used(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tidings.config import Settings
    from tidings.secret import server_key

    home = tmp_path_factory.mktemp("keyed")
    assert server_key(Settings(home=home, secret_key="s3cret-from-env")) == b"s3cret-from-env"
    assert not (home / "secret_key").exists()
    generated = server_key(Settings(home=home))
    assert generated == server_key(Settings(home=home)) and len(generated) == 64
