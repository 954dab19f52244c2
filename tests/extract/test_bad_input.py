"""Bad input never crashes extraction: it gives an article with what is certain, or a clear status."""

from __future__ import annotations

import os
import time

import pytest

from tidings.extract import extract_html, extract_text

PARAGRAPH = "<p>The council met on Tuesday to discuss the harbour wall, which has been leaking for years.</p>"
PARAGRAPHS = "".join(PARAGRAPH.replace("Tuesday", f"day {i}") for i in range(60))
HOME_PAGE = (
    "<html><head><title>The Harbour Courier: news from the bay</title></head><body>"
    "<nav>"
    + "".join(f'<a href="/section/{i}">Section {i}</a> ' for i in range(12))
    + "</nav>"
    + "".join(
        f'<div class="teaser"><h3><a href="/news/story-{i}">Headline number {i} about the bay today</a></h3>'
        f"<p>Short teaser {i}.</p></div>"
        for i in range(30)
    )
    + "</body></html>"
)


@pytest.mark.parametrize("data", [b"", "", "   \n  ", b"\x00\x00\x00"])
def test_empty_input_gives_empty_or_not_article(data: bytes | str) -> None:
    article = extract_html(data)
    assert article.status in ("empty", "not_article")
    assert article.text == ""


def test_binary_served_as_html_is_not_an_article() -> None:
    article = extract_html(os.urandom(50_000), url="https://example.org/image.jpg")
    assert article.status in ("not_article", "empty")


@pytest.mark.slow
def test_ten_megabyte_page_is_bounded_and_keeps_the_article() -> None:
    page = "<html><body><article>" + PARAGRAPHS + "</article>" + "<div>filler text</div>" * 500_000
    page += "</body></html>"
    assert len(page) > 10_000_000
    start = time.monotonic()
    article = extract_html(page)
    assert time.monotonic() - start < 30
    assert "harbour wall" in article.text


def test_deeply_nested_markup_does_not_crash() -> None:
    page = "<html><body>" + "<div>" * 100_000 + PARAGRAPHS + "</div>" * 100_000 + "</body></html>"
    article = extract_html(page)
    assert article.status in ("ok", "empty", "not_article")


def test_broken_encoding_is_decoded_with_replacement() -> None:
    body = "".join(
        f"<p>Caf\u00e9 owner {i} on the quay said the new parking rules had cut the trade by half.</p>"
        for i in range(6)
    ).encode("latin-1")
    page = (
        b"<html><head><meta charset='utf-8'></head><body><article>"
        + body
        + b"\xff\xfe</article></body></html>"
    )
    article = extract_html(page)
    assert article.status == "ok"
    assert "parking rules" in article.text


def test_home_page_is_not_an_article() -> None:
    article = extract_html(HOME_PAGE, url="https://courier.example/")
    assert article.status == "not_article"


def test_search_page_is_not_an_article() -> None:
    article = extract_html(
        HOME_PAGE.replace("Headline", "Result"), url="https://courier.example/search?q=bay"
    )
    assert article.status == "not_article"


@pytest.mark.parametrize("text", ["", "\x00\x01\x02", "word", "\n\n\n", "• only a bullet"])
def test_extract_text_never_raises(text: str) -> None:
    article = extract_text(text)
    assert article.status in ("ok", "empty", "not_article")


def test_short_headline_alone_above_the_body_is_the_title() -> None:
    from tidings.extract import extract_text

    article = extract_text(
        "Harbour tolls rise again\n\nThe port authority raised mooring fees by four percent on Monday, "
        "the second rise this year.\n\nFishermen said the increase would hit small boats hardest."
    )
    assert article.title == "Harbour tolls rise again"
    assert article.tags == []
    assert article.text.startswith("The port authority raised mooring fees")
