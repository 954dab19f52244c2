"""extract_text: a plain-text article (often a scraped page with its boilerplate) in, a clean article out."""

from __future__ import annotations

import logging
import re
import statistics

from tidings.extract.blocks import Block, normalise_space, render_text
from tidings.extract.cleanup import (
    BULLET_RE,
    TERMINAL_RE,
    count_words,
    drop_promos,
    is_body_paragraph,
    split_captions,
    split_related,
)
from tidings.models import ExtractedArticle

LOGGER = logging.getLogger(__name__)
MAX_TEXT_CHARS = 2_000_000
BYLINE_RE = re.compile(r"^by\s+\S", re.IGNORECASE)
MAX_BYLINE_WORDS = 8
MAX_TAG_WORDS = 4
WRAPPED_LINE_CHARS = (
    40,
    100,
)  # a chunk of lines this long, mostly unterminated, is one hard-wrapped paragraph
FALLBACK_TITLE_WORDS = 12


def _is_hard_wrapped(lines: list[str]) -> bool:
    if len(lines) < 3:
        return False
    median = statistics.median(len(line) for line in lines)
    unterminated = sum(1 for line in lines[:-1] if not TERMINAL_RE.search(line))
    return WRAPPED_LINE_CHARS[0] <= median <= WRAPPED_LINE_CHARS[1] and unterminated >= (len(lines) - 1) / 2


def _line_block(line: str) -> Block:
    if BULLET_RE.match(line):
        return Block("li", normalise_space(BULLET_RE.sub("", line)))
    return Block("p", normalise_space(line))


def split_text_blocks(text: str) -> list[Block]:
    """Blocks of a plain text: one per line, or one per paragraph when the lines are hard-wrapped."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        if _is_hard_wrapped(lines):
            blocks.append(Block("p", normalise_space(" ".join(lines))))
        else:
            blocks.extend(_line_block(line) for line in lines)
    return [b for b in blocks if b.text]


def _is_tag_line(block: Block) -> bool:
    return (
        count_words(block.text) <= MAX_TAG_WORDS and not TERMINAL_RE.search(block.text) and block.kind == "p"
    )


def _read_header(header: list[Block]) -> tuple[str | None, list[str], list[str], str | None]:
    """Title, standfirst bullets, tags and byline from the lines above the first body paragraph."""
    title: str | None = None
    standfirst: list[str] = []
    tags: list[str] = []
    byline: str | None = None
    for block in header:
        if block.kind == "li":
            standfirst.append(block.text)
        elif BYLINE_RE.match(block.text) and count_words(block.text) <= MAX_BYLINE_WORDS:
            byline = block.text[3:].strip()
        elif _is_tag_line(block):
            if block.text not in tags:
                tags.append(block.text)
        elif title is None:
            title = block.text
        else:
            standfirst.append(block.text)
    if title is None and tags:
        # A short headline alone above the body ("Japan narrowly escapes recession") looks like a tag line;
        # with no longer line to be the title, the one nearest the body is the headline.
        title = tags.pop()
    return title, standfirst, tags, byline


def _fallback_title(blocks: list[Block]) -> str:
    if not blocks:
        return ""
    words = blocks[0].text.split()
    return " ".join(words[:FALLBACK_TITLE_WORDS]) + ("…" if len(words) > FALLBACK_TITLE_WORDS else "")


def _extract(text: str, url: str | None) -> ExtractedArticle:
    blocks = split_text_blocks(text[:MAX_TEXT_CHARS])
    if not blocks:
        return ExtractedArticle(title="", text="", url=url, status="empty", notes=["blank text"])
    blocks, dropped = drop_promos(blocks)
    blocks, captions = split_captions(blocks)
    first_body = next((i for i, b in enumerate(blocks) if is_body_paragraph(b)), 0)
    title, standfirst, tags, byline = _read_header(blocks[:first_body])
    body, related = split_related(blocks[first_body:], title, allow_unlinked=True)
    return ExtractedArticle(
        title=title or _fallback_title(body),
        text=render_text(body),
        url=url,
        standfirst="\n".join(standfirst) or None,
        byline=byline,
        captions=captions,
        related_links=related,
        tags=tags,
        status="ok" if body else "empty",
        notes=[f"dropped {dropped} promo blocks"] if dropped else [],
    )


def extract_text(text: str, url: str | None = None) -> ExtractedArticle:
    """Extract a clean article from plain text; never raises (failures give status "empty")."""
    try:
        return _extract(text or "", url)
    except Exception as exc:  # a document must never take ingestion down
        LOGGER.warning("text extraction failed for %s: %r", url, exc)
        return ExtractedArticle(title="", text="", url=url, status="empty", notes=[f"failed: {exc!r}"])
