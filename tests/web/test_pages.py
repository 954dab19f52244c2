"""The first web pages over real HTTP on loopback: latest articles, article view, health, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import serve
from tidings.config import Settings


@pytest.fixture
def live_server(tidings_env: Path, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """A real uvicorn server on loopback serving a seeded database."""
    seed = tmp_path / "seed.jsonl"
    seed.write_text(
        json.dumps(
            {
                "url": "https://news.example/ferry",
                "title": "Night ferry <returns> to the island",
                "text": "The night ferry returned on Friday after a winter break, the operator said.\n\n"
                "Tickets sold out within hours.",
            }
        )
        + "\n"
    )
    settings = Settings(
        home=tidings_env,
        seed_paths=str(seed),
        enrich=False,
        background_refresh=False,
        subscribe_starter=False,
        allow_private_networks=True,
        public_reading=True,  # these tests read as a signed-out visitor
    )
    with serve(settings) as base:
        yield base, settings


def test_home_lists_seeded_articles_escaped(live_server: tuple[str, Settings]) -> None:
    base, _ = live_server
    page = httpx.get(base)
    assert page.status_code == 200
    assert "Night ferry &lt;returns&gt; to the island" in page.text
    assert "<returns>" not in page.text
    assert '<main id="main"' in page.text


def test_article_page_and_404(live_server: tuple[str, Settings]) -> None:
    base, _ = live_server
    page = httpx.get(f"{base}/articles/1")
    assert page.status_code == 200
    assert "Tickets sold out within hours." in page.text
    assert httpx.get(f"{base}/articles/999").status_code == 404
    assert httpx.get(f"{base}/articles/not-a-number").status_code == 422


def test_health_and_metrics(live_server: tuple[str, Settings]) -> None:
    base, _ = live_server
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
    httpx.get(f"{base}/articles/1")
    metrics = httpx.get(f"{base}/metrics")
    assert metrics.status_code == 200 and "python_info" in metrics.text
    assert 'tidings_http_request_seconds_count{method="GET",route="/articles/{article_id}"}' in metrics.text
    assert 'tidings_articles_ingested_total{status="new"}' in metrics.text


def test_ids_beyond_the_database_range_are_not_found(live_server: tuple[str, Settings]) -> None:
    base, _ = live_server
    huge = "1371277785290573611008"
    page = httpx.get(f"{base}/articles/{huge}", headers={"Accept": "text/html"})
    assert page.status_code in (404, 422) and "Traceback" not in page.text
    api = httpx.get(f"{base}/articles/{huge}", headers={"Accept": "application/json"})
    assert api.status_code in (404, 422)
