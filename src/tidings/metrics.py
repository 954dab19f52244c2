"""Prometheus metrics shared by the pipeline and the web layer (process-local registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUEST_SECONDS = Histogram(
    "tidings_http_request_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
FETCHES = Counter("tidings_fetches_total", "Feed and page fetches by outcome.", ["outcome"])
ARTICLES_INGESTED = Counter(
    "tidings_articles_ingested_total", "Articles seen by ingestion, by status.", ["status"]
)
DUE_FEEDS = Gauge("tidings_due_feeds", "Feeds due for a refresh at the last scheduler pass.")
PENDING_FULL_TEXT = Gauge("tidings_pending_full_text", "Teaser articles waiting for their full text.")


def count_ingested(articles: list[dict[str, object]]) -> None:
    """Count one ingest report's articles by status."""
    for article in articles:
        ARTICLES_INGESTED.labels(status=str(article.get("status", "unknown"))).inc()
