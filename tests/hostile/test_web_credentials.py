"""Item 8: a password change revokes every other credential, and web sessions have a server-side age."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from tests.hostile.web_site import PASSWORD, Site, User, form_login, live_site, make_user
from tests.live import csrf_of
from tidings.store.tables import api_tokens
from tidings.store.util import utcnow

pytestmark = pytest.mark.hostile
NEW_PASSWORD = "a much newer passphrase"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server whose sessions last one day."""
    with live_site(tmp_path_factory.mktemp("creds"), session_max_age_days=1.0) as live:
        make_user(live, "admin")
        yield live


def fever_auth(site: Site, key: str) -> int:
    """The Fever `auth` flag for an api_key."""
    return int(httpx.post(f"{site.base}/fever/?api", data={"api_key": key}).json()["auth"])


def works(site: Site, user: User, web: httpx.Client) -> dict[str, bool]:
    """Which of the user's credentials still authenticate."""
    return {
        "session": web.get("/settings").status_code == 200,
        "cookie-api": web.get("/api/v1/profile").status_code == 200,
        "bearer": httpx.get(f"{site.base}/api/v1/profile", headers=user.bearer()).status_code == 200,
        "greader": httpx.get(f"{site.base}/reader/api/0/user-info", headers=user.reader()).status_code == 200,
        "fever": fever_auth(site, user.fever) == 1,
    }


def test_password_change_revokes_everything_but_the_current_session(site: Site) -> None:
    alice = make_user(site, "alice")
    other = site.client()
    assert form_login(other, "alice", PASSWORD).status_code == 303
    assert all(works(site, alice, other).values())
    token = csrf_of(alice.web.get("/settings").text)
    changed = alice.web.post(
        "/settings/password",
        data={"csrf": token, "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 303
    assert alice.web.get("/settings").status_code == 200  # the session that changed it stays
    assert not any(works(site, alice, other).values())
    with site.client() as fresh:
        assert form_login(fresh, "alice", PASSWORD).status_code == 401
        assert form_login(fresh, "alice", NEW_PASSWORD).status_code == 303


def test_a_refused_password_change_revokes_nothing(site: Site) -> None:
    bob = make_user(site, "bob")
    token = csrf_of(bob.web.get("/settings").text)
    for current, new in ((PASSWORD, "        "), ("wrong password", NEW_PASSWORD), (PASSWORD, "short")):
        reply = bob.web.post(
            "/settings/password", data={"csrf": token, "current": current, "new": new, "confirm": new}
        )
        assert reply.status_code == 400
    assert all(works(site, bob, bob.web).values())


def test_sessions_expire_server_side(site: Site) -> None:
    carol = make_user(site, "carol")
    cookie = carol.web.post("/api/v1/session", json={"name": "carol", "password": PASSWORD})
    assert "Max-Age=86400" in cookie.headers["set-cookie"]
    with site.app.state.engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == carol.id, api_tokens.c.name == "web session")
            .values(created_at=utcnow() - timedelta(days=1, minutes=1))
        )
    session_token = carol.web.cookies["tidings_session"]
    assert carol.web.get("/settings").status_code == 303  # back to the sign-in page
    assert carol.web.get("/api/v1/profile").status_code == 401
    as_bearer = {"Authorization": f"Bearer {session_token}"}
    assert httpx.get(f"{site.base}/api/v1/profile", headers=as_bearer).status_code == 401
    as_reader = {"Authorization": f"GoogleLogin auth={session_token}"}
    assert httpx.get(f"{site.base}/reader/api/0/user-info", headers=as_reader).status_code == 401
    # API tokens are not sessions: they live until revoked.
    assert httpx.get(f"{site.base}/api/v1/profile", headers=carol.bearer()).status_code == 200
