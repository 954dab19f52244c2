"""Hidden elements are not the article, except the segments a streaming server render sends ahead."""

from __future__ import annotations

from tidings.extract import extract_html

STORY = (
    "The harbour board voted on Monday to rebuild the north pier, which storms closed two winters ago. "
    "Fishing crews had landed their catch twenty miles away since then, and the ferry ran a shorter route. "
    "Work starts in spring and should take eighteen months, the board said, at a cost shared with the "
    "region. "
)


def _page(body: str) -> str:
    return f"<html><head><title>Pier to be rebuilt</title></head><body>{body}</body></html>"


def test_an_article_streamed_in_a_hidden_segment_is_extracted() -> None:
    # As React's streaming render sends it: a placeholder in the layout, the content hidden at the end of the
    # body, and a script that moves it in place once a browser runs it.
    html = _page(
        '<header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>'
        '<main><template id="B:0"></template><p>Loading…</p></main>'
        '<div hidden id="S:0">'
        f"<article><h1>Pier to be rebuilt</h1><p>{STORY}</p><p>{STORY}</p></article></div>"
        '<script>$RC("B:0","S:0")</script>'
    )
    text = extract_html(html, "https://example.org/pier").text
    assert "north pier" in text and "eighteen months" in text


def test_other_hidden_elements_stay_out() -> None:
    html = _page(
        f"<article><h1>Pier to be rebuilt</h1><p>{STORY}</p><p>{STORY}</p></article>"
        '<div hidden id="promo"><p>Sign up for our daily briefing and never miss a story.</p></div>'
        '<div style="display: none"><p>Offer ends tonight: half price for the first year.</p></div>'
    )
    text = extract_html(html, "https://example.org/pier").text
    assert "north pier" in text
    assert "briefing" not in text and "half price" not in text
