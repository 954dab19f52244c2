"""Hole 2: the sign-in throttle keyed on the raw name could be bypassed with " carol" or "carol\\t".

Every sign-in path (web form, POST /api/v1/session, Google Reader ClientLogin) normalises the name once
and is limited per account and client and per account over all clients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.hostile.web_site import PASSWORD, Site, api_login, client_login, form_login, live_site, sign_up
from tidings.ratelimit import TokenBucket
from tidings.web import logins

pytestmark = pytest.mark.hostile
VARIANTS = [" carol", "carol\t", "CAROL", "\u00a0Carol ", "ｃａｒｏｌ"]  # the last is full-width


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with one admin and the accounts the throttle tests guess at."""
    with live_site(tmp_path_factory.mktemp("throttle")) as live:
        for name in ("admin", "carol", "dave", "erin", "frank", "Grace"):
            with live.client() as c:
                assert sign_up(c, name).status_code == 303
        yield live


@pytest.fixture(autouse=True)
def fresh_throttles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with empty throttles of the real bursts but (almost) no refill, so that a slow
    machine cannot earn a try back in the middle of a test."""
    monkeypatch.setattr(logins, "PER_CLIENT", TokenBucket(rate=1e-6, burst=logins.PER_CLIENT.burst))
    monkeypatch.setattr(logins, "PER_ACCOUNT", TokenBucket(rate=1e-6, burst=logins.PER_ACCOUNT.burst))
    yield
    logins.reset()


def web(site: Site, name: str, password: str, **headers: str) -> int:
    """Status of a web-form sign-in."""
    with site.client() as c:
        return form_login(c, name, password, **headers).status_code


def api(site: Site, name: str, password: str, **headers: str) -> int:
    """Status of an API sign-in."""
    return api_login(site, name, password, **headers).status_code


def greader(site: Site, name: str, password: str, **headers: str) -> int:
    """Status of a ClientLogin."""
    from tidings.web.compat.greader import LOGIN_FAILURES

    LOGIN_FAILURES.reset()  # its per-address limit would hide the per-account one under test
    return client_login(site, name, password, **headers).status_code


PATHS: dict[str, Callable[..., int]] = {"web": web, "api": api, "greader": greader}


def exhaust(site: Site, login: Callable[..., int], name: str, **headers: str) -> None:
    """Fail until the throttle answers 429."""
    codes = [login(site, name, "wrong-password", **headers) for _ in range(12)]
    assert codes[0] == 401 and codes[-1] == 429, codes


@pytest.mark.parametrize("path", sorted(PATHS))
def test_name_variants_share_the_per_client_throttle(site: Site, path: str) -> None:
    login = PATHS[path]
    exhaust(site, login, "carol", **{"X-Forwarded-For": f"198.51.100.{len(path)}"})
    for variant in VARIANTS:
        code = login(site, variant, "wrong-password", **{"X-Forwarded-For": f"198.51.100.{len(path)}"})
        assert code == 429, (path, variant)
    # The right password is refused too while throttled, so guessing learns nothing.
    assert login(site, "carol", PASSWORD, **{"X-Forwarded-For": f"198.51.100.{len(path)}"}) == 429


@pytest.mark.parametrize("path", sorted(PATHS))
def test_per_account_limit_holds_across_clients(
    site: Site, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = PATHS[path]
    burst = 6  # a smaller burst than the real one (30) keeps the test quick; the mechanism is the same
    monkeypatch.setattr(logins, "PER_ACCOUNT", TokenBucket(rate=1e-6, burst=burst))
    codes = [
        login(site, "dave" if k % 2 else " DAVE", "wrong", **{"X-Forwarded-For": f"203.0.113.{k % 250}"})
        for k in range(burst + 2)
    ]
    assert set(codes[:burst]) == {401} and codes[-1] == 429, codes
    # Another account is not affected, from any address.
    assert login(site, "erin", PASSWORD, **{"X-Forwarded-For": "203.0.113.7"}) in (200, 303)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_names_are_case_insensitive_and_stripped(site: Site, path: str) -> None:
    login = PATHS[path]
    for variant in ("frank", " Frank", "FRANK\t", "grace", "GRACE"):
        assert login(site, variant, PASSWORD) in (200, 303), (path, variant)


def test_successful_sign_ins_do_not_use_up_the_throttle(site: Site) -> None:
    for _ in range(int(logins.PER_CLIENT.burst) + 3):
        assert api(site, "frank", PASSWORD) == 200


def test_signup_refuses_a_name_differing_only_in_case(site: Site) -> None:
    with site.client() as c:
        reply = sign_up(c, "CAROL")
    assert reply.status_code == 400 and "tidings_session" not in reply.headers.get("set-cookie", "")


def test_token_bucket_is_thread_safe() -> None:
    bucket = TokenBucket(rate=0.0001, burst=50)
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            ok = bucket.allow("k")
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50


def test_event_limiter_still_limits() -> None:
    from tidings.service.feed import EVENT_LIMITER

    assert isinstance(EVENT_LIMITER, TokenBucket)
    assert EVENT_LIMITER.allow("hostile-probe")


def test_api_session_answers_json_errors(site: Site) -> None:
    for body in ({"name": "carol"}, {"name": ["carol"], "password": "x"}, {"name": 5, "password": 5}):
        reply = httpx.post(f"{site.base}/api/v1/session", json=body)
        assert reply.status_code == 422 and reply.json()["error"]["code"]
