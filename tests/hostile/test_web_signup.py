"""Item 7 (and 10): sign-up policy, invites, the sign-up throttle, the per-user feed cap and orphaned
feeds; sign-up says nothing about which accounts exist."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.hostile.web_site import PASSWORD, Site, User, live_site, make_user, sign_up
from tests.live import csrf_of
from tidings.store import sources as source_repo
from tidings.store.tables import sources, users
from tidings.store.util import utcnow

pytestmark = pytest.mark.hostile


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with the default sign-up policy (closed after the first account)."""
    with live_site(tmp_path_factory.mktemp("signup"), signup_policy="closed") as live:
        yield live


@pytest.fixture
def policy(site: Site) -> Iterator[None]:
    """Restore the closed policy and the throttle after a test changes them."""
    yield
    site.app.state.settings.signup_policy = "closed"
    site.app.state.settings.max_feeds_per_user = 500
    site.app.state.signup_limiter = None


def account_count(site: Site) -> int:
    """How many accounts exist."""
    with site.app.state.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def test_default_policy_first_account_is_admin_then_closed(site: Site) -> None:
    assert site.settings.signup_policy == "closed"
    with site.client() as c:
        first = sign_up(c, "founder")
        assert first.status_code == 303
        assert c.get("/admin").status_code == 200  # the first account manages the server
    before = account_count(site)
    with site.client() as c:
        assert "Sign-up is closed" in c.get("/signup").text
        refused = sign_up(c, "latecomer")
    assert refused.status_code == 403 and "tidings_session" not in refused.headers.get("set-cookie", "")
    assert account_count(site) == before


@contextmanager
def admin(site: Site) -> Iterator[httpx.Client]:
    """A client signed in as the first account (created by the first test, or here)."""
    with site.client() as c:
        token = csrf_of(c.get("/login").text)
        reply = c.post("/login", data={"csrf": token, "name": "founder", "password": PASSWORD})
        if reply.status_code != 303:
            assert sign_up(c, "founder").status_code == 303
        yield c


def new_invite(site: Site) -> str:
    """An invite code made on the admin page."""
    with admin(site) as c:
        page = c.post("/admin/invites", data={"csrf": csrf_of(c.get("/admin").text)})
    assert page.status_code == 200
    return page.text.split("(shown once): <code>", 1)[1].split("</code>", 1)[0]


def test_invite_policy_needs_a_live_single_use_code(site: Site, policy: None) -> None:
    code = new_invite(site)
    site.app.state.settings.signup_policy = "invite"
    with site.client() as c:
        assert 'name="invite"' in c.get("/signup").text
        for bad in ("", "inv_nope", "x" * 128, code + " junk"):
            assert sign_up(c, "invitee", invite=bad).status_code == 403, bad
        assert sign_up(c, "invitee", invite=f"  {code} ").status_code == 303
    with site.client() as c:
        assert sign_up(c, "second-invitee", invite=code).status_code == 403  # used up
    with admin(site) as c:
        page = c.get("/admin").text
    assert "invitee" in page and ">used<" in page


def test_cli_creates_invites(site: Site, policy: None, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TIDINGS_HOME": str(site.settings.home),
        "TIDINGS_DATABASE_URL": site.settings.database_url or "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tidings.cli.main", "user", "invite", "--json", "--days", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    code = done.stdout.strip().split('"invite": "', 1)[1].split('"', 1)[0]
    site.app.state.settings.signup_policy = "invite"
    with site.client() as c:
        assert sign_up(c, "cli-invitee", invite=code).status_code == 303


def test_signup_does_not_say_which_names_exist(site: Site, policy: None) -> None:
    site.app.state.settings.signup_policy = "open"
    with site.client() as c:
        taken = sign_up(c, "FOUNDER")
        other = sign_up(c, "founder ")
    assert taken.status_code == other.status_code == 400
    for reply in (taken, other):
        text = reply.text.lower()
        assert "exist" not in text and "taken" not in text
    # Under the invite policy a taken name and a free one get the same answer without an invite.
    site.app.state.settings.signup_policy = "invite"
    with site.client() as c:
        a, b = sign_up(c, "founder"), sign_up(c, "never-seen-name")
    assert a.status_code == b.status_code == 403
    assert a.text.split('role="alert">')[1][:120] == b.text.split('role="alert">')[1][:120]


def test_signup_is_throttled_per_client(site: Site, policy: None) -> None:
    site.app.state.settings.signup_policy = "open"
    site.app.state.settings.signup_per_hour = 3
    site.app.state.signup_limiter = None
    try:
        with site.client(**{"X-Forwarded-For": "198.51.100.77"}) as c:
            codes = [sign_up(c, f"flood{k}", password="x").status_code for k in range(5)]
        assert codes[:3] == [400, 400, 400] and codes[3:] == [429, 429]
        with site.client(**{"X-Forwarded-For": "198.51.100.78"}) as c:
            assert sign_up(c, "flood-other-client").status_code == 303
    finally:
        site.app.state.settings.signup_per_hour = 10_000


def source_count(site: Site) -> int:
    """How many shared sources exist."""
    with site.app.state.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sources)).scalar_one())


def test_feed_cap_holds_on_every_path(site: Site, policy: None) -> None:
    site.app.state.settings.signup_policy = "open"
    reader = make_user(site, "capped")
    site.app.state.settings.max_feeds_per_user = 3
    for k in range(3):
        reply = httpx.post(
            f"{site.base}/api/v1/sources",
            json={"url": f"https://cap{k}.example/feed"},
            headers=reader.bearer(),
        )
        assert reply.status_code == 201
    before = source_count(site)
    over = httpx.post(
        f"{site.base}/api/v1/sources", json={"url": "https://cap9.example/f"}, headers=reader.bearer()
    )
    assert over.status_code == 422 and "at most 3 feeds" in over.json()["error"]["message"]
    outlines = "".join(f'<outline type="rss" xmlUrl="https://bulk{k}.example/rss"/>' for k in range(50))
    doc = f'<opml version="2.0"><body>{outlines}</body></opml>'.encode()
    bulk = httpx.post(
        f"{site.base}/api/v1/opml", content=doc, headers={**reader.bearer(), "Content-Type": "text/x-opml"}
    )
    assert bulk.status_code == 422
    token = csrf_of(reader.web.get("/settings").text)
    page = reader.web.post(
        "/settings/opml", data={"csrf": token}, files={"file": ("a.opml", doc, "text/x-opml")}
    )
    assert page.status_code == 422 and "at most 3 feeds" in page.text
    form = reader.web.post("/settings/sources", data={"csrf": token, "url": "https://cap8.example/f"})
    assert form.status_code == 422
    edit = httpx.get(f"{site.base}/reader/api/0/token", headers=reader.reader()).text.strip()
    quick = httpx.post(
        f"{site.base}/reader/api/0/subscription/quickadd",
        data={"quickadd": "https://cap7.example/f", "T": edit},
        headers=reader.reader(),
    )
    assert quick.status_code == 400
    assert source_count(site) == before  # nothing refused was created, so nothing extra is fetched
    # Re-adding a feed the reader already has does not count twice.
    again = httpx.post(
        f"{site.base}/api/v1/sources", json={"url": "https://cap0.example/feed"}, headers=reader.bearer()
    )
    assert again.status_code == 201


def due_ids(site: Site) -> set[int]:
    """Ids of the feeds the refresher would fetch now (far in the future, so every live feed is due)."""
    from datetime import timedelta

    with site.app.state.engine.connect() as conn:
        return {int(r["id"]) for r in source_repo.due_sources(conn, utcnow() + timedelta(days=365))}


def subscribe(site: Site, user: User, url: str) -> int:
    """Subscribe through the API; the source id."""
    reply = httpx.post(f"{site.base}/api/v1/sources", json={"url": url}, headers=user.bearer())
    assert reply.status_code == 201
    return int(reply.json()["id"])


def test_feeds_without_subscribers_stop_being_fetched(site: Site, policy: None) -> None:
    site.app.state.settings.signup_policy = "open"
    leaver, stayer, doomed = make_user(site, "leaver"), make_user(site, "stayer"), make_user(site, "doomed")
    solo = subscribe(site, leaver, "https://solo.example/feed")
    shared = subscribe(site, leaver, "https://shared.example/feed")
    subscribe(site, stayer, "https://shared.example/feed")
    owned = subscribe(site, doomed, "https://doomed.example/feed")
    assert {solo, shared, owned} <= due_ids(site)
    edit = httpx.get(f"{site.base}/reader/api/0/token", headers=leaver.reader()).text.strip()
    for sid in (solo, shared):
        gone = httpx.post(
            f"{site.base}/reader/api/0/subscription/edit",
            data={"ac": "unsubscribe", "s": f"feed/{sid}", "T": edit},
            headers=leaver.reader(),
        )
        assert gone.status_code == 200
    with admin(site) as c:
        token = csrf_of(c.get("/admin").text)
        assert c.post(f"/admin/users/{doomed.id}/delete", data={"csrf": token}).status_code == 303
        assert "stopped" in c.get("/admin").text
    due = due_ids(site)
    assert solo not in due and owned not in due  # no one reads them any more
    assert shared in due  # stayer still does
    # A new subscriber brings a stopped feed back.
    assert subscribe(site, stayer, "https://solo.example/feed") == solo
    assert solo in due_ids(site)
