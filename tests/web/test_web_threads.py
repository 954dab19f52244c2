"""TIDINGS_WEB_THREADS caps the threads a web process runs requests in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient

from tidings.config import Settings


def thread_tokens(settings: Settings) -> int:
    """The request-thread limit of the app's event loop once it has started."""
    from tidings.web.app import create_app

    web = create_app(settings)
    with TestClient(web) as client:
        assert client.get("/healthz").status_code == 200
        return int(client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens))


def test_the_setting_caps_the_request_threads(tmp_path: Path) -> None:
    """The limiter is the setting's, not anyio's default of 40, and the default is a handful."""
    base = {"enrich": False, "background_refresh": False, "subscribe_starter": False}
    assert thread_tokens(Settings(home=tmp_path / "a", web_threads=3, **base)) == 3
    assert thread_tokens(Settings(home=tmp_path / "b", **base)) == 4


def test_feed_and_event_requests_take_one_request_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Authentication and the work of the two busiest endpoints share one thread hop; FastAPI would otherwise
    hand each plain dependency, the endpoint and its response check to a thread (five hops for a feed)."""
    from tidings.service.users import add_user
    from tidings.store.users import create_token
    from tidings.web.app import create_app

    web = create_app(Settings(home=tmp_path, enrich=False, background_refresh=False, subscribe_starter=False))
    user = add_user(web.state.engine, "reader", "reader-password-1")
    with web.state.engine.begin() as conn:
        _, token = create_token(conn, user["id"], "hops")
    hops: list[str] = []
    run_sync = to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        inner = getattr(func, "func", func)  # FastAPI wraps some calls in functools.partial
        hops.append(getattr(inner, "__qualname__", repr(inner)))
        return await run_sync(func, *args, **kwargs)

    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(web) as client:
        monkeypatch.setattr(to_thread, "run_sync", counting)
        feed = client.get("/api/v1/feed", headers=auth)
        event = client.post("/api/v1/events", headers=auth, json={"article_id": 999_999, "kind": "click"})
        refused = client.get("/api/v1/feed", headers={"Authorization": "Bearer tid_not-a-token"})
    assert feed.status_code == 200
    assert event.status_code == 404  # authenticated, then the article is looked up: still one hop
    assert refused.status_code == 401
    assert hops == ["caller_feed", "caller_event", "caller_feed"], hops


def test_feed_and_event_requests_check_out_one_connection(tmp_path: Path) -> None:
    """Authentication runs on the connection the feed or event works on (one checkout, where there were two)
    and still records the token's use, on a write connection of its own once the call is over, even when
    the call fails."""
    from sqlalchemy import event, select, update

    from tidings.service.users import add_user
    from tidings.store.tables import api_tokens
    from tidings.store.users import create_token
    from tidings.web.app import create_app

    web = create_app(Settings(home=tmp_path, enrich=False, background_refresh=False, subscribe_starter=False))
    engine = web.state.engine
    user = add_user(engine, "reader", "reader-password-1")
    with engine.begin() as conn:
        token_id, token = create_token(conn, user["id"], "checkouts")

    def last_used() -> Any:
        with engine.connect() as conn:
            return conn.execute(select(api_tokens.c.last_used).where(api_tokens.c.id == token_id)).scalar()

    def forget_use() -> None:
        with engine.begin() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used=None))

    checkouts: list[int] = []

    def count(*_: Any) -> None:
        checkouts.append(1)

    auth = {"Authorization": f"Bearer {token}"}
    results: dict[str, tuple[int, int, Any]] = {}
    with TestClient(web) as client:
        assert client.get("/api/v1/feed", headers=auth).status_code == 200  # the pool is built
        for name, call in (
            ("feed", lambda: client.get("/api/v1/feed", headers=auth)),
            (
                "event",
                lambda: client.post(
                    "/api/v1/events", headers=auth, json={"article_id": 999_999, "kind": "click"}
                ),
            ),
            ("fresh", lambda: client.get("/api/v1/feed", headers=auth)),
        ):
            if name != "fresh":
                forget_use()
            checkouts.clear()
            event.listen(engine, "checkout", count)
            status = call().status_code
            event.remove(engine, "checkout", count)
            results[name] = (status, len(checkouts), last_used())
    assert results["feed"][:2] == (200, 2) and results["feed"][2] is not None  # the feed's, then the touch
    assert results["event"][:2] == (404, 2) and results["event"][2] is not None  # a failed call still touches
    assert results["fresh"][:2] == (200, 1)  # a recent use is not written again: one checkout
