"""Wrong JSON types in JSON Feed and JSONL: a stored article with string fields, or a one-line warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.corpus import FILLER, ingest_bytes

pytestmark = pytest.mark.hostile

WRONG_VALUES: list[Any] = [None, True, -1, 1e308, ["a", 1], {"a": {"b": []}}, " " * 3]
VALUE_IDS = ["null", "bool", "neg", "huge", "list", "obj", "blank"]

JSON_FEED_FIELDS = [
    "title",
    "url",
    "external_url",
    "id",
    "content_html",
    "content_text",
    "summary",
    "date_published",
    "date_modified",
    "authors",
    "author",
    "tags",
    "image",
]


def check_rows(report: Any, rows: list[dict[str, Any]]) -> None:
    """Every stored field has its type, and every problem is a one-line message."""
    for row in rows:
        for field in ("title", "text", "html"):
            assert isinstance(row[field], str)
        for field in ("url", "byline", "source", "language", "section", "lead_image"):
            assert row[field] is None or isinstance(row[field], str)
        assert all(isinstance(t, str) for t in row["tags"] or [])
    for error in report.errors:
        assert "\n" not in error["error"] and "Traceback" not in error["error"]


@pytest.mark.parametrize("value", WRONG_VALUES, ids=VALUE_IDS)
@pytest.mark.parametrize("field", JSON_FEED_FIELDS)
def test_json_feed_item_field_of_wrong_type(tmp_path: Path, field: str, value: Any) -> None:
    item = {
        "id": "1",
        "url": "https://types.example/1",
        "title": "Ferry",
        "content_text": FILLER,
        field: value,
    }
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [item]}
    report, rows, _ = ingest_bytes(tmp_path, "feed.json", json.dumps(doc).encode())
    check_rows(report, rows)


@pytest.mark.parametrize(
    "doc",
    [
        {"version": "https://jsonfeed.org/version/1.1", "items": {"a": 1}},
        {"version": "https://jsonfeed.org/version/1.1", "items": "not a list"},
        {"version": "https://jsonfeed.org/version/1.1", "items": 7},
        {"version": "https://jsonfeed.org/version/1.1", "items": [None, 1, "x", [], True]},
        {"version": 1.1, "items": []},
        {"version": ["https://jsonfeed.org/version/1.1"], "items": []},
        {"version": "https://jsonfeed.org/version/1.1", "title": {"x": 1}, "home_page_url": 5, "items": []},
        ["https://jsonfeed.org/version/1.1"],
        "https://jsonfeed.org/version/1.1",
    ],
    ids=[
        "items-obj",
        "items-str",
        "items-int",
        "items-junk",
        "version-num",
        "version-list",
        "meta-types",
        "array",
        "string",
    ],
)
def test_json_feed_document_of_wrong_shape(tmp_path: Path, doc: Any) -> None:
    report, rows, _ = ingest_bytes(tmp_path, "feed.json", json.dumps(doc).encode())
    assert rows == []
    check_rows(report, rows)


JSONL_FIELDS = [
    "url",
    "title",
    "text",
    "html",
    "published_at",
    "byline",
    "author",
    "source",
    "language",
    "section",
    "tags",
]


@pytest.mark.parametrize("value", WRONG_VALUES, ids=VALUE_IDS)
@pytest.mark.parametrize("field", JSONL_FIELDS)
def test_jsonl_field_of_wrong_type(tmp_path: Path, field: str, value: Any) -> None:
    record = {"url": "https://types.example/2", "title": "Ferry", "text": FILLER, field: value}
    good = {"url": "https://types.example/ok", "title": "Good line", "text": FILLER + " Good."}
    data = json.dumps(record) + "\n" + json.dumps(good) + "\n"
    report, rows, _ = ingest_bytes(tmp_path, "a.jsonl", data.encode())
    check_rows(report, rows)
    assert "Good line" in [r["title"] for r in rows]  # one bad line never costs the others
    assert len(rows) + len(report.errors) >= 2  # the odd line is stored or reported, never silently lost


@pytest.mark.parametrize(
    "line",
    [
        "[1, 2, 3]",
        '"just a string"',
        "42",
        "null",
        '{"url": "https://types.example/3", "title": "Dup", "title": ["x"], "text": "t"}',
        '{"url": "https://types.example/4", "title": "Big", "text": "t", "published_at": ' + "9" * 5000 + "}",
        '{"url": "https://types.example/5", "title": "Inf", "text": "t", "published_at": 1e999}',
        '{"url": "https://types.example/6", "title": "NaN", "text": "t", "published_at": NaN}',
        '{"url": "https://types.example/7", "title": "Neg", "text": "t", "published_at": -1e20}',
        '{"url": "https://types.example/8", "title": "Date", "text": "t", "published_at": "99999-99-99"}',
        '{"url": "https://types.example/9", "title": "Trunc", "text": "t"',
        '{"url": "https://types.example/10", "title": "Nul\\u0000", "text": "a\\u0000b"}',
        '{"url": "https://types.example/11", "title": "Lone \\ud800 surrogate", "text": "x \\udfff y"}',
        # Beyond the platform's time_t (OSError), and year 1 or 9999 whose offset overflows on the way to UTC.
        '{"url": "https://types.example/12", "title": "Far", "text": "t", "published_at": 1e18}',
        '{"url": "https://types.example/13", "title": "Y", "text": "t", "published": "0001-01-01T00:00+14"}',
        '{"url": "https://types.example/14", "title": "Z", "text": "t", "published": "9999-12-31T23:59-14"}',
    ],
    ids=[
        "array",
        "string",
        "number",
        "null",
        "dup-key",
        "huge-int",
        "inf",
        "nan",
        "neg-epoch",
        "bad-date",
        "truncated",
        "nul",
        "surrogate",
        "epoch-beyond-time-t",
        "year-1-offset",
        "year-9999-offset",
    ],
)
def test_jsonl_odd_lines(tmp_path: Path, line: str) -> None:
    good = json.dumps({"url": "https://types.example/ok", "title": "Good line", "text": FILLER})
    report, rows, _ = ingest_bytes(tmp_path, "a.jsonl", (line + "\n" + good + "\n").encode())
    check_rows(report, rows)
    assert "Good line" in [r["title"] for r in rows]
    for row in rows:
        for field in ("title", "text"):
            row[field].encode("utf-8")
            assert "\x00" not in row[field]
