"""A web process whose PostgreSQL goes away answers 503 with Retry-After at once, and recovers by itself."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.live import SEED_ARTICLES, is_seeded, running, write_seed
from tests.pgcluster import Cluster, postgres_bin, throwaway_cluster
from tidings.config import Settings

PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
NO_SERVER = "no PostgreSQL server binaries to run a cluster of our own"
PATHS = ["/api/v1/feed", "/api/v1/search?q=ferry", "/", "/latest", "/healthz"]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """Our own cluster: stopping the suite's shared server would break other tests."""
    with throwaway_cluster() as own:
        yield own


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="TIDINGS_TEST_POSTGRES_URL is not set")
@pytest.mark.skipif(postgres_bin() is None, reason=NO_SERVER)
def test_requests_get_503_while_the_database_is_down(cluster: Cluster, tmp_path: os.PathLike[str]) -> None:
    from pathlib import Path

    from tidings.service.users import add_user
    from tidings.store import reset_engines
    from tidings.store.users import create_token
    from tidings.web.app import create_app

    home = Path(tmp_path)
    settings = Settings(
        home=home,
        database_url=cluster.url,
        seed_paths=str(write_seed(home)),
        enrich=False,
        background_refresh=False,
        subscribe_starter=False,
        public_reading=True,
    )
    web = create_app(settings)
    user = add_user(web.state.engine, "reader", "reader-password-1")
    with web.state.engine.begin() as conn:
        _, token = create_token(conn, user["id"], "outage")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with running(web, lambda base: is_seeded(base, len(SEED_ARTICLES), web)) as base:
            before = httpx.get(f"{base}/api/v1/feed", headers=headers)
            assert before.status_code == 200 and before.json()["items"]

            cluster.stop()
            for path in PATHS:
                started = time.monotonic()
                resp = httpx.get(f"{base}{path}", headers=headers, timeout=30)
                assert resp.status_code == 503, (path, resp.status_code, resp.text[:200])
                assert resp.headers["retry-after"] == "5", path
                assert time.monotonic() - started < 3, f"{path} took too long to fail"
                assert "Traceback" not in resp.text
            assert httpx.get(f"{base}/api/v1/feed", headers=headers).json()["error"]["code"] == "unavailable"

            cluster.start()
            deadline = time.monotonic() + 10  # the pool's pre-ping replaces the dead connections
            after = httpx.get(f"{base}/api/v1/feed", headers=headers)
            while after.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                after = httpx.get(f"{base}/api/v1/feed", headers=headers)
            assert after.status_code == 200
            assert [i["article_id"] for i in after.json()["items"]] == [
                i["article_id"] for i in before.json()["items"]
            ]
    finally:
        web.state.engine.dispose()
        reset_engines()


@pytest.mark.sqlite_only
def test_a_broken_query_stays_a_500(tmp_path: os.PathLike[str]) -> None:
    """Only an unreachable database is a 503: a query error (a missing table) is a bug, reported as one."""
    from pathlib import Path

    from sqlalchemy import text

    from tidings.web.app import create_app

    home = Path(tmp_path)
    settings = Settings(
        home=home, enrich=False, background_refresh=False, subscribe_starter=False, public_reading=True
    )
    web = create_app(settings)
    from tidings.service.users import add_user
    from tidings.store.users import create_token

    user = add_user(web.state.engine, "reader", "reader-password-1")
    with web.state.engine.begin() as conn:
        _, token = create_token(conn, user["id"], "broken")
        conn.execute(text("DROP TABLE articles_fts"))
    with running(web) as base:
        resp = httpx.get(f"{base}/api/v1/search?q=ferry", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 500 and "retry-after" not in resp.headers
    assert resp.json()["error"]["code"] == "internal_error"
