"""Lead images: read from feeds, shown through the image proxy (signed, images only, cached, SSRF rules)."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ingest.conftest import LoopbackServer, send_bytes
from tests.live import csrf_of, make_settings, serve, sign_up
from tidings.ingest.feeds import parse_feed
from tidings.web.images import install_key, proxy_path, rewrite_images, sniff

BROWSER = {"Accept": "text/html"}
IMG_SRC = re.compile(r'<img[^>]*\ssrc="([^"]+)"')


def tiny_png() -> bytes:
    """A real 1x1 PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


FEED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Pictures</title>
<item><title>Media content</title><link>https://pics.example/1</link>
  <media:content url="https://pics.example/small.jpg" medium="image" width="140"/>
  <media:content url="https://pics.example/large.jpg" medium="image" width="1200"/>
  <media:content url="https://pics.example/clip.mp4" medium="video" width="1920"/>
  </item>
<item><title>Thumbnail</title><link>https://pics.example/2</link>
  <media:thumbnail url="https://pics.example/thumb.jpg" width="300"/></item>
<item><title>Enclosure</title><link>https://pics.example/3</link>
  <enclosure url="https://pics.example/podcast.mp3" type="audio/mpeg" length="10"/>
  <enclosure url="https://pics.example/photo.png" type="image/png" length="10"/></item>
<item><title>Figure</title><link>https://pics.example/4</link>
  <description><![CDATA[<p>Text</p><figure><img src="/img/fig.jpg" alt="x">
  <figcaption>The old mill</figcaption></figure>]]></description></item>
<item><title>None</title><link>https://pics.example/5</link><description>Just words.</description></item>
</channel></rss>"""


def test_feed_entries_carry_their_lead_image_and_caption() -> None:
    entries = {e.title: e for e in parse_feed(FEED, "https://pics.example/feed").entries}
    assert entries["Media content"].image_url == "https://pics.example/large.jpg"
    assert entries["Thumbnail"].image_url == "https://pics.example/thumb.jpg"
    assert entries["Enclosure"].image_url == "https://pics.example/photo.png"
    assert entries["Figure"].image_url == "https://pics.example/img/fig.jpg"
    assert entries["Figure"].image_alt == "The old mill"
    assert entries["None"].image_url is None


def test_rewrite_sends_every_image_through_the_proxy() -> None:
    key = b"k" * 32
    html = (
        '<p>a</p><picture><source srcset="https://t.example/a.webp"><img src="https://t.example/a.jpg" '
        'srcset="https://t.example/b.jpg 2x" alt="A"></picture><img src="javascript:alert(1)"><p>b</p>'
    )
    out = rewrite_images(html, key)
    assert "t.example" not in out and "javascript" not in out and "srcset" not in out
    assert f'src="{proxy_path(key, "https://t.example/a.jpg")}"' in out and 'loading="lazy"' in out
    assert out.startswith("<p>a</p>") and out.endswith("<p>b</p>")
    assert sniff(tiny_png()) == "image/png" and sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


@pytest.fixture
def origin() -> Iterator[LoopbackServer]:
    """A publisher on loopback with a picture, an HTML page posing as one, and a tracker pixel."""
    server = LoopbackServer()
    server.routes["/pic.png"] = lambda h: send_bytes(h, 200, tiny_png(), "image/png")
    server.routes["/fake.png"] = lambda h: send_bytes(h, 200, b"<html><script>x</script></html>", "image/png")
    server.routes["/vector.svg"] = lambda h: send_bytes(h, 200, b"<svg onload='x'/>", "image/svg+xml")
    server.start()
    yield server
    server.stop()


def _seed(folder: Path, origin: LoopbackServer) -> Path:
    html = (
        "<html><head><title>Mill reopens</title>"
        f"<meta property='og:image' content='{origin.url('/pic.png')}'>"
        "</head><body><article><h1>Mill reopens</h1><p>The old mill by the river reopened on Saturday after "
        "ten years, and volunteers showed visitors round the restored wheel and the grain store.</p>"
        f"<figure><img src='{origin.url('/pic.png')}' alt='The wheel'><figcaption>The wheel</figcaption>"
        "</figure><p>The trust that runs it hopes to grind flour again by the autumn, its chair said.</p>"
        "</article></body></html>"
    )
    page = folder / "mill.html"
    page.write_text(html, encoding="utf-8")
    return page


def test_pages_load_images_only_through_the_signed_caching_proxy(
    tmp_path: Path, origin: LoopbackServer
) -> None:
    (tmp_path / "home").mkdir()
    settings = make_settings(tmp_path / "home", [_seed(tmp_path, origin)])
    with serve(settings) as base, httpx.Client(base_url=base, headers=BROWSER, follow_redirects=True) as c:
        sign_up(c, "iris")
        home = c.post("/welcome", data={"csrf": csrf_of(c.get("/welcome").text)}).text  # lands on For you
        article_id = re.search(r'data-article="(\d+)"', home).group(1)  # type: ignore[union-attr]
        page = c.get(f"/articles/{article_id}").text
        sources = re.findall(r'<img[^>]*\ssrc="([^"]+)"', page) + re.findall(
            r'<img[^>]*\ssrc="([^"]+)"', home
        )
        assert sources and all(s.startswith("/img/") for s in sources), sources
        assert "127.0.0.1" not in "".join(sources)
        first = c.get(sources[0])
        assert first.status_code == 200 and first.headers["content-type"] == "image/png"
        assert first.content == tiny_png() and first.headers["x-content-type-options"] == "nosniff"
        hits = origin.hits("/pic.png")
        assert c.get(sources[0]).content == tiny_png() and origin.hits("/pic.png") == hits  # cached
        signature, encoded = sources[0].split("/")[2:4]
        forged = "0" * len(signature)
        assert c.get(f"/img/{forged}/{encoded}").status_code == 404
        key = install_key(settings)  # the server's image sub-key, from the same secret key file
        for path in ("/fake.png", "/vector.svg"):
            reply = c.get(proxy_path(key, origin.url(path)) or "")
            assert reply.status_code == 415 and "image/" not in reply.headers.get("content-type", "")
        token = csrf_of(c.get("/settings").text)
        c.post("/settings/display", data={"csrf": token, "view": "compact"})
        assert "<img" not in c.get(f"/articles/{article_id}").text
        assert 'class="cards compact"' in c.get("/for-you").text
        anon = httpx.get(f"{base}{sources[0]}", headers=BROWSER)
        assert anon.status_code == 303 and anon.headers["location"].startswith("/login")  # private by default


def test_the_proxy_keeps_the_fetchers_address_rules(tmp_path: Path, origin: LoopbackServer) -> None:
    from fastapi import HTTPException

    from tidings.config import Settings
    from tidings.ingest.fetcher import Fetcher
    from tidings.web.images import load_image

    settings = Settings(home=tmp_path, allow_private_networks=False)
    with Fetcher(settings) as fetcher, pytest.raises(HTTPException) as refused:
        load_image(settings, fetcher, origin.url("/pic.png"))
    assert refused.value.status_code == 502 and origin.hits("/pic.png") == 0
