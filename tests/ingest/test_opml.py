"""OPML import/export: folders, round trips, malformed input and XXE safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.ingest.opml import OpmlError, OpmlFeed, export_opml, parse_opml, read_starter_feeds

NESTED = b"""<?xml version="1.0"?>
<opml version="1.0">
  <head><title>mine</title></head>
  <body>
    <outline text="News">
      <outline text="Europe">
        <outline type="rss" text="Harbour Gazette" xmlUrl="https://gazette.example/rss" htmlUrl="https://gazette.example/"/>
      </outline>
      <outline type="rss" title="Orbit Weekly" xmlurl="https://orbit.example/atom.xml"/>
    </outline>
    <outline type="rss" text="Loose feed" xmlUrl="https://loose.example/feed"/>
    <outline text="Empty folder"/>
  </body>
</opml>"""


def test_nested_folders_become_categories() -> None:
    feeds = parse_opml(NESTED)
    assert feeds == [
        OpmlFeed("https://gazette.example/rss", "Harbour Gazette", "https://gazette.example/", "News/Europe"),
        OpmlFeed("https://orbit.example/atom.xml", "Orbit Weekly", None, "News"),
        OpmlFeed("https://loose.example/feed", "Loose feed", None, None),
    ]


def test_export_round_trips() -> None:
    feeds = parse_opml(NESTED)
    exported = export_opml(feeds, title="Round trip")
    assert "<title>Round trip</title>" in exported
    assert parse_opml(exported.encode("utf-8")) == feeds
    assert exported.count('text="News"') == 1  # one folder shared by both of its feeds


def test_export_escapes_awkward_titles() -> None:
    feeds = [OpmlFeed("https://q.example/rss?a=1&b=2", 'Fish & "Chips" <Daily>', None, "Food & Drink")]
    assert parse_opml(export_opml(feeds).encode()) == feeds


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline", "not well-formed OPML"),
        (b"", "not well-formed OPML"),
        (b"<rss version='2.0'><channel/></rss>", "root element is not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
    ],
)
def test_malformed_opml_raises_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError) as info:
        parse_opml(data)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY leak SYSTEM "file://{secret}">]>
<opml version="2.0"><body><outline type="rss" text="&leak;" xmlUrl="https://x.example/rss"/></body></opml>"""
    try:
        feeds = parse_opml(xxe.encode())
    except OpmlError:
        return  # refusing the document is fine too
    assert all("TOP-SECRET" not in (f.title or "") for f in feeds)


def test_starter_list_has_folders_of_https_feeds() -> None:
    feeds = read_starter_feeds()
    assert 10 <= len(feeds) <= 20
    assert {f.category for f in feeds} == {"World", "Technology", "Science"}
    assert all(f.url.startswith("https://") and f.title for f in feeds)


@pytest.mark.parametrize("label", ["utf-16", "undefined", "no-such-charset", "ISO-8859-1"])
def test_a_prolog_charset_that_cannot_be_right_costs_no_feed(label: str) -> None:
    # The bytes are UTF-8 (a folder named "Café"): a BOM-less UTF-16 label, a label naming no encoding and a
    # Latin one over non-ASCII UTF-8 are relabelled rather than refusing the whole file.
    data = (
        f'<?xml version="1.0" encoding="{label}"?><opml version="2.0"><body><outline text="Caf\u00e9">'
        '<outline text="Gazette" xmlUrl="https://gazette.example/rss"/></outline></body></opml>'
    ).encode()
    assert [(f.url, f.category) for f in parse_opml(data)] == [("https://gazette.example/rss", "Café")]
