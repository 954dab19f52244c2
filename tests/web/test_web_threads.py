"""TIDINGS_WEB_THREADS caps the threads a web process runs requests in."""

from __future__ import annotations

from pathlib import Path

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
