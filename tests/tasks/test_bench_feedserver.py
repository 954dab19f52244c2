"""The load benchmarks' feed server: it serves a corpus as feeds Tidings reads back whole, and counts hits."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT
from tidings.ingest.documents import read_feed


def _feedserver() -> object:
    spec = importlib.util.spec_from_file_location("bench_feedserver", REPO_ROOT / "bench" / "feedserver.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_corpus_served_as_feeds_is_read_back_whole(tmp_path: Path) -> None:
    rows = [
        {
            "title": f"Parish note {i}",
            "text": f"The council met on day {i}.\u2028It agreed on benches.",
        }
        for i in range(5)
    ]
    (tmp_path / "articles.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    module = _feedserver()
    corpus = module.read_articles(tmp_path, 10)  # type: ignore[attr-defined]
    assert [title for title, _ in corpus] == [r["title"] for r in rows]
    server = module.FeedServer(corpus, 2).start()  # type: ignore[attr-defined]
    try:
        urls = server.feed_urls
        docs = [read_feed(httpx.get(url).content, url, url) for url in urls]
    finally:
        server.stop()
    assert len(urls) == 2 and sorted(len(d.items) for d in docs) == [2, 3]
    assert {item.url for d in docs for item in d.items} == server.served
    assert all(server.hits[f"/feed/{i}.xml"] == 1 for i in range(2))
