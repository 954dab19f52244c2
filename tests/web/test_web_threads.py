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
