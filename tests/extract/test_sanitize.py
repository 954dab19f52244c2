"""The display HTML allow-list: an XSS corpus leaves no executable content."""

from __future__ import annotations

import re

import pytest

from tidings.extract.sanitize import sanitize_html

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    '<img src=x onerror="alert(1)">',
    "<IMG SRC=x ONERROR=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<a href=" javascript:alert(1)">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<div style="width: expression(alert(1))">css</div>',
    '<p style="background:url(javascript:alert(1))">css</p>',
    "<style>body{background:url('javascript:alert(1)')}</style>",
    '<form action="https://evil.example"><input name="q"><button>go</button></form>',
    '<body onload="alert(1)">x</body>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    '<a href="https://ok.example" onclick="alert(1)" target="_blank">ok</a>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="javascript:alert(1)">',
]
EXECUTABLE_RE = re.compile(
    r"<\s*(script|iframe|svg|object|embed|form|style|meta|base|link|math)\b|\son\w+\s*=|javascript:|vbscript:"
    r"|data:|expression\(",
    re.IGNORECASE,
)


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_xss_payload_leaves_nothing_executable(payload: str) -> None:
    cleaned = sanitize_html(f"<p>before</p>{payload}<p>after</p>")
    assert not EXECUTABLE_RE.search(cleaned), cleaned
    assert "style=" not in cleaned


def test_links_get_safe_rel_and_absolute_urls() -> None:
    cleaned = sanitize_html('<p><a href="/news/x">x</a></p>', base_url="https://courier.example/a/b")
    assert 'href="https://courier.example/news/x"' in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned


def test_tracking_pixels_are_removed_and_real_images_kept() -> None:
    markup = (
        '<p>x</p><img src="https://cdn.example/photo.jpg" alt="harbour">'
        '<img src="https://cdn.example/p.gif" width="1" height="1">'
        '<img src="https://www.google-analytics.com/collect?v=1">'
    )
    cleaned = sanitize_html(markup)
    assert "photo.jpg" in cleaned
    assert "p.gif" not in cleaned
    assert "google-analytics" not in cleaned


def test_plain_formatting_survives() -> None:
    cleaned = sanitize_html(
        "<h2>Head</h2><p>Some <strong>bold</strong> and <em>soft</em> text.</p><ul><li>a</li></ul>"
    )
    assert (
        cleaned == "<h2>Head</h2><p>Some <strong>bold</strong> and <em>soft</em> text.</p><ul><li>a</li></ul>"
    )
