"""Feed parsing: own fixtures for each format and failure mode, plus the real feeds in ../shared."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import TEST_DATA, shared_path
from tidings.ingest.encoding import MOJIBAKE_HINT, decode_text, fix_declared_encoding, repair_mojibake
from tidings.ingest.feeds import is_feed, parse_feed

FEEDS = TEST_DATA / "feeds"


def _read(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss20_entries_and_metadata() -> None:
    feed = parse_feed(_read("rss20.xml"), "https://gazette.example/rss")
    assert feed.title == "Harbour Town Gazette" and feed.site_url == "https://gazette.example/"
    assert feed.ttl_seconds == 45 * 60 and feed.warnings == []
    assert [e.title for e in feed.entries][:2] == [
        "Ferry timetable changes for the winter",
        "Library opens a repair café",
    ]
    first = feed.entries[0]
    assert first.guid == "gazette-1001" and first.byline == "Mira Okafor"
    assert first.tags == ["Transport", "Harbour"]
    assert first.published_at == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert "Evening boats" in first.content_html and "later slot" in first.summary_html
    assert feed.entries[2].title == "Council & harbour board agree on new pier lights"
    assert feed.entries[2].url == "https://gazette.example/news/pier-lights"  # relative link resolved


def test_rss10_with_syndication_period() -> None:
    feed = parse_feed(_read("rss10.rdf"))
    assert feed.title == "Valley Science Notes" and len(feed.entries) == 2
    assert feed.ttl_seconds == 1800  # hourly, twice
    assert feed.entries[0].published_at == datetime(2024, 2, 10, 21, 15, tzinfo=UTC)
    assert feed.entries[0].byline == "Tomas Lind"


def test_superscript_numbers_never_cost_the_feed() -> None:
    # "²" passes str.isdigit() but not int(): one such <ttl> or image width made the whole feed unreadable.
    feed = parse_feed(
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'
        b' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>Tide Tables</title>'
        b"<ttl>\xc2\xb2</ttl><sy:updatePeriod>hourly</sy:updatePeriod>"
        b"<sy:updateFrequency>\xc2\xb3</sy:updateFrequency><item><title>High water at noon</title>"
        b"<link>https://tides.example/noon</link><description>The harbour floods the quay.</description>"
        b'<media:content url="https://tides.example/q.jpg" medium="image" width="\xc2\xb9"/></item>'
        b"</channel></rss>",
        "https://tides.example/rss",
    )
    assert feed.warnings == [] and feed.ttl_seconds is None
    assert [e.title for e in feed.entries] == ["High water at noon"]
    assert feed.entries[0].image_url == "https://tides.example/q.jpg"


def test_rss091() -> None:
    feed = parse_feed(_read("rss091.xml"))
    assert [e.url for e in feed.entries] == ["http://bulletin.example/lobby"] and feed.warnings == []


def test_atom_entries() -> None:
    feed = parse_feed(_read("atom.xml"))
    assert feed.title == "Orbit Weekly" and feed.site_url == "https://orbit.example/"
    kestrel, ground = feed.entries
    assert kestrel.title == "Satellite Kestrel reaches its final orbit"  # markup stripped from the title
    assert kestrel.url == "https://orbit.example/2024/kestrel" and kestrel.byline == "Ines Duarte"
    assert kestrel.published_at == datetime(2024, 4, 1, 4, 0, tzinfo=UTC)
    assert kestrel.tags == ["Space"] and "engine burns" in kestrel.content_html
    assert ground.published_at == datetime(2024, 3, 28, 12, 0, tzinfo=UTC)  # falls back to <updated>


def test_json_feed() -> None:
    feed = parse_feed(_read("feed.json"), "https://ledger.example/feed.json")
    assert feed.title == "Pocket Ledger" and feed.site_url == "https://ledger.example/"
    assert len(feed.entries) == 2 and feed.warnings == []
    first, second = feed.entries
    assert first.byline == "Rosa Vidal" and first.tags == ["prices", "food"] and first.guid == "ledger-7"
    assert first.published_at == datetime(2024, 5, 20, 7, 45, tzinfo=UTC)
    assert second.url == "https://ledger.example/posts/market-day"
    assert second.content_html == "<p>Stalls open at 8 &amp; close at 2.</p>"


def test_broken_xml_recovers_entries_with_one_warning() -> None:
    feed = parse_feed(_read("broken.xml"))
    assert len(feed.entries) >= 1 and feed.entries[0].title == "First story survives"
    assert len(feed.warnings) == 1
    assert feed.warnings[0].startswith("not well-formed XML (line ")
    assert f"recovered {len(feed.entries)} entries" in feed.warnings[0]


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"   ",
        b"\x00\x01\x02garbage",
        b"<html><body><p>a page</p></body></html>",
        b"{not json",
        b"[1, 2]",
    ],
)
def test_junk_gives_an_empty_feed_with_a_warning(junk: bytes) -> None:
    feed = parse_feed(junk)
    assert feed.entries == [] and len(feed.warnings) == 1


@pytest.mark.parametrize("name", ["mislabelled-latin1.xml", "mislabelled-utf8.xml", "double-encoded.xml"])
def test_charset_lies_still_give_readable_titles(name: str) -> None:
    feed = parse_feed(_read(name))
    assert feed.title == "Crónica del Páramo"
    entry = feed.entries[0]
    assert entry.title == "La señora Núñez inaugura la pequeña biblioteca"
    assert "Más de mil libros" in entry.summary_html
    assert not MOJIBAKE_HINT.search(entry.title + entry.summary_html)


def test_fix_declared_encoding_only_relabels_utf8_bytes() -> None:
    assert b'encoding="utf-8"' in fix_declared_encoding(_read("mislabelled-latin1.xml"))
    cp1252 = _read("mislabelled-utf8.xml").replace(b"UTF-8", b"ISO-8859-1")
    assert fix_declared_encoding(cp1252) == cp1252


@pytest.mark.parametrize("label", ["undefined", "punycode", "utf-16", "cp037", "no-such-charset"])
def test_a_prolog_naming_no_usable_encoding_costs_no_entry(label: str) -> None:
    # The prolog was read as ASCII, so a BOM-less UTF-16 or EBCDIC label is wrong; the others are no encoding.
    feed = parse_feed(
        f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><title>Quay</title><item>'
        "<title>Caf\u00e9 reopens on the quay</title><link>https://quay.example/cafe</link>"
        "<description>Fresh paint.</description></item></channel></rss>".encode(),
        "https://quay.example/rss",
    )
    assert [e.title for e in feed.entries] == ["Caf\u00e9 reopens on the quay"] and feed.warnings == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("EspaÃ±a", "España"), ("cafÃ© â€œokâ€\x9d", "café “ok”"), ("Ã\x81lvaro", "Álvaro"), ("naïve", "naïve")],
)
def test_repair_mojibake(text: str, expected: str) -> None:
    assert repair_mojibake(text) == expected


def test_decode_text_handles_boms_labels_and_detection() -> None:
    assert decode_text("\ufeffhola".encode()) == "hola"
    assert decode_text("año".encode("cp1252")) == "año"
    assert (
        decode_text('<meta charset="iso-8859-1"><p>Crónica</p>'.encode())
        == '<meta charset="iso-8859-1"><p>Crónica</p>'
    )
    long_latin = ("El niño comió paella en la playa durante el verano. " * 8).encode("latin-1")
    assert "niño" in decode_text(long_latin)


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("rss20.xml", "text/xml", True),
        ("rss10.rdf", None, True),
        ("atom.xml", "text/html", True),
        ("feed.json", "application/json", True),
        ("rss20.xml", "application/rss+xml", True),
    ],
)
def test_is_feed_recognises_feeds(name: str, content_type: str | None, expected: bool) -> None:
    assert is_feed(_read(name), content_type) is expected


@pytest.mark.parametrize(
    "data",
    [b"<!doctype html><html><head><link rel='alternate' href='/rss'></head></html>", b'{"a": 1}', b"plain"],
)
def test_is_feed_rejects_pages(data: bytes) -> None:
    assert not is_feed(data, "text/html")


@pytest.mark.shared
def test_real_feeds_all_yield_entries() -> None:
    folder = shared_path("data", "feeds-2019-2023")
    counts = {path.name: parse_feed(path.read_bytes()) for path in sorted(folder.glob("*.xml"))}
    assert len(counts) == 17
    assert all(feed.entries for feed in counts.values())
    assert sum(len(feed.entries) for feed in counts.values()) > 600
    assert len(counts["elpais.xml"].entries) >= 81 and len(counts["elpais.xml"].warnings) == 1
    assert len(counts["europapress.xml"].entries) >= 10 and len(counts["europapress.xml"].warnings) == 1
    clean = [name for name in counts if name not in ("elpais.xml", "europapress.xml")]
    assert all(counts[name].warnings == [] for name in clean)
    titles = [e.title for feed in counts.values() for e in feed.entries]
    assert not [t for t in titles if MOJIBAKE_HINT.search(t)]  # eldiario ships double-encoded text
