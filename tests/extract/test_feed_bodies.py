"""Feed item bodies and titles: the body is the item's content or description, never a photo caption."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from tests.conftest import shared_path
from tidings.ingest.documents import read_feed
from tidings.ingest.encoding import repair_mojibake
from tidings.ingest.feeds import drop_media_captions, parse_feed
from tidings.pipeline.prepare import prepare_item

READ_MORE_RE = re.compile(r"(continue reading|read more|seguir leyendo|leer más)\W*", re.IGNORECASE)
MRSS = "http://search.yahoo.com/mrss/"
CAPTIONED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="{MRSS}" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Captions &amp; co</title><link>https://news.example/</link>
<item><title>Q&amp;A – why AT&amp;T &lt;and&gt; R&amp;D</title><link>https://news.example/1</link>
<media:description>A protester holding an emblem.</media:description>
<description>The real standfirst of the first story.</description>
<media:credit>Photo Agency</media:credit></item>
<item><title>Second</title><link>https://news.example/2</link>
<description>Standfirst two comes before the caption.</description>
<media:content url="https://news.example/a.jpg">
<media:description>Caption two.</media:description></media:content>
</item>
<item><title>Third</title><link>https://news.example/3</link>
<description>A standfirst the content leaves out.</description>
<content:encoded><![CDATA[<p>The full body of the third story.</p>]]></content:encoded></item>
<item><title>&lt;b&gt;Bold&lt;/b&gt; AT&amp;amp;T</title><link>https://news.example/4</link>
<description>Four.</description></item>
</channel></rss>""".encode()


def _bodies(data: bytes) -> dict[str, str]:
    """Stored body text by item link and by guid."""
    doc = read_feed(data, "feed.xml", None)
    found = {}
    for item in doc.items:
        text = prepare_item(item).article.text
        found.update({key.strip(): text for key in (item.url, item.meta.get("guid")) if key})
    return found


def test_caption_is_never_the_body() -> None:
    bodies = _bodies(CAPTIONED)
    assert bodies["https://news.example/1"] == "The real standfirst of the first story."
    assert bodies["https://news.example/2"] == "Standfirst two comes before the caption."
    assert "Caption" not in " ".join(bodies.values()) and "Agency" not in " ".join(bodies.values())


def test_content_comes_first_led_by_a_missing_description() -> None:
    body = _bodies(CAPTIONED)["https://news.example/3"]
    assert body.index("A standfirst the content leaves out.") < body.index("The full body of the third")


def test_title_entities_are_decoded_once() -> None:
    titles = [entry.title for entry in parse_feed(CAPTIONED).entries]
    assert titles[0] == "Q&A – why AT&T <and> R&D"
    assert titles[3] == "Bold AT&T"  # escaped markup is HTML: its tags go, its entities decode once
    assert parse_feed(CAPTIONED).title == "Captions & co"


def test_unclosed_caption_is_left_for_the_parser() -> None:
    data = b'<rss xmlns:m="http://search.yahoo.com/mrss/"><m:description>open'
    assert drop_media_captions(data) == data
    assert drop_media_captions(b"<m:credit/><m:credit>x</m:credit>y".replace(b"m:", b"media:")) == b"y"


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text))


def _local(el: etree._Element) -> str:
    return str(el.tag).rsplit("}", 1)[-1]  # items are read without their namespaces: "media:x" stays whole


def _expected_items(path: Path) -> list[tuple[list[str], str]]:
    """(link and guid, description text) of every item, read with lxml apart from the product's parser."""
    found = []
    # item by item, so that one broken item cannot shift the others' fields as a whole-document recovery can
    for raw in re.findall(rb"<(?:item|entry)\b.*?</(?:item|entry)>", path.read_bytes(), re.DOTALL):
        item = etree.fromstring(raw, etree.XMLParser(recover=True, resolve_entities=False))
        children = [c for c in item if isinstance(c.tag, str)] if item is not None else []
        keys = [c.get("href") or c.xpath("string()") for c in children if _local(c) in ("link", "guid", "id")]
        own = [c for c in children if _local(c) in ("description", "summary")]
        text = own[0].xpath("string()") if own else ""
        found.append(([k.strip() for k in keys], _words(repair_mojibake(_html_text(text)))))
    return found


def _html_text(text: str) -> str:
    if "<" not in text:
        return text
    # block boundaries separate words: "happened<p>On 26 March" reads "happened On 26 March"
    text = re.sub(r"<(/?(?:p|br|div|li|h\d|blockquote|ul|ol)\b)", r" <\1", text, flags=re.IGNORECASE)
    root = lxml.html.fragment_fromstring(text, create_parent="div")
    for link in root.iter("a"):
        if READ_MORE_RE.fullmatch(link.text_content().strip()):
            link.drop_tree()  # a "Continue reading" link is no part of the description's text
    return str(root.text_content())


@pytest.mark.shared
def test_every_shared_feed_body_holds_its_description() -> None:
    folder = shared_path("data", "feeds-2019-2023")
    checked, missing = 0, []
    for path in sorted(folder.glob("*.xml")):
        bodies = {link.strip(): _words(text) for link, text in _bodies(path.read_bytes()).items()}
        for keys, description in _expected_items(path):
            if not description:
                continue
            checked += 1
            if not any(description in bodies.get(key, "") for key in keys):
                missing.append(f"{path.name}: {keys}")
    assert checked > 600
    assert missing == []
