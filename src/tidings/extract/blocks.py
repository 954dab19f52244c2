"""Split extracted article HTML into flat blocks (paragraphs, headings, list items) and render them back."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from typing import Any

import lxml.etree
import lxml.html

HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCK_TAGS = frozenset(
    {
        "p",
        "li",
        "blockquote",
        "pre",
        "table",
        "figcaption",
        "dt",
        "dd",
        "div",
        "section",
        "article",
        "ul",
        "ol",
    }
    | {"figure", "header", "footer", "aside", "main", "body", "html", "dl", "caption", "address", "hr", "br"}
    | HEADING_TAGS
)
ATOMIC_TAGS = frozenset({"pre", "table"})  # kept whole, their markup rendered as is
INLINE_KEEP = {
    "b": "strong",
    "strong": "strong",
    "i": "em",
    "em": "em",
    "code": "code",
    "sub": "sub",
    "sup": "sup",
}
SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "math", "button", "form", "select"})
SPACE_RE = re.compile(r"\s+")


@dataclass
class Block:
    """One paragraph-level piece of an article body."""

    kind: str  # p, h2, li, blockquote, pre, table, figcaption
    text: str
    html: str = ""  # inline HTML (links and emphasis) for p/li/headings, full markup for pre/table
    links: list[tuple[str, str]] = field(default_factory=list)  # (anchor text, href)

    @property
    def is_heading(self) -> bool:
        """Whether the block is a heading."""
        return self.kind in HEADING_TAGS


@dataclass
class _Buffer:
    kind: str = "p"
    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    open_link: list[Any] = field(default_factory=list)

    def add_text(self, value: str | None) -> None:
        if value:
            self.text.append(value)
            self.html.append(html_lib.escape(value, quote=False))
            if self.open_link:
                self.open_link[-1][1].append(value)


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace into single spaces."""
    return SPACE_RE.sub(" ", text).strip()


def _kind_of(el: Any, fallback: str) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in HEADING_TAGS or tag in ("li", "blockquote", "figcaption", "dt", "dd", "caption"):
        return "figcaption" if tag == "caption" else tag
    return fallback


def _flush(buf: _Buffer, out: list[Block]) -> None:
    text = normalise_space("".join(buf.text))
    if text:
        inline = "".join(buf.html).strip()
        out.append(Block(buf.kind, text, inline, list(buf.links)))
    buf.text.clear()
    buf.html.clear()
    buf.links.clear()


def _atomic_block(el: Any) -> Block | None:
    text = normalise_space(" ".join(el.itertext())) if el.tag == "table" else "".join(el.itertext()).strip()
    if not text:
        return None
    markup = lxml.html.tostring(el, encoding="unicode", with_tail=False)
    return Block(el.tag, text, markup)


def _start(el: Any, buf: _Buffer, out: list[Block], kinds: list[str]) -> bool:
    """Handle an opening tag; returns False when its subtree must be skipped."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if not tag or tag in SKIP_TAGS:
        return False
    if tag in ATOMIC_TAGS:
        _flush(buf, out)
        block = _atomic_block(el)
        if block is not None:
            out.append(block)
        return False
    if tag in BLOCK_TAGS:
        _flush(buf, out)
        kinds.append(_kind_of(el, kinds[-1] if kinds else "p"))
        buf.kind = kinds[-1]
    elif tag == "a":
        buf.open_link.append((el.get("href") or "", []))
        href = html_lib.escape(el.get("href") or "", quote=True)
        buf.html.append(f'<a href="{href}">')
    elif tag in INLINE_KEEP:
        buf.html.append(f"<{INLINE_KEEP[tag]}>")
    buf.add_text(el.text)
    return True


def _end(el: Any, buf: _Buffer, out: list[Block], kinds: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in BLOCK_TAGS:
        _flush(buf, out)
        if kinds:
            kinds.pop()
        buf.kind = kinds[-1] if kinds else "p"
    elif tag == "a" and buf.open_link:
        href, parts = buf.open_link.pop()
        anchor = normalise_space("".join(parts))
        if href and anchor:
            buf.links.append((anchor, href))
        buf.html.append("</a>")
    elif tag in INLINE_KEEP:
        buf.html.append(f"</{INLINE_KEEP[tag]}>")


def blocks_from_html(markup: str) -> list[Block]:
    """Flatten an HTML fragment into blocks, without recursion (safe on deep trees)."""
    if not markup or not markup.strip():
        return []
    try:
        root = lxml.html.fromstring(markup)
    except (lxml.etree.ParserError, ValueError):
        return []
    # comments get no walk events: strip them so that their tails stay in the text
    lxml.etree.strip_tags(root, lxml.etree.Comment, lxml.etree.ProcessingInstruction)
    out: list[Block] = []
    buf, kinds = _Buffer(), ["p"]
    walker = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        if event == "start":
            if not _start(el, buf, out, kinds):
                walker.skip_subtree()  # its "end" event still comes, and adds the tail
        else:
            _end(el, buf, out, kinds)
            if el is not root:
                buf.add_text(el.tail)
    _flush(buf, out)
    return out


def fragment_to_text(fragment: str) -> str:
    """Plain text of a feed entry's HTML content (loose text too), paragraphs separated by blank lines."""
    return render_text(blocks_from_html(fragment))


def render_text(blocks: list[Block]) -> str:
    """Plain text of blocks, paragraphs separated by blank lines."""
    return "\n\n".join(b.text for b in blocks)


def render_html(blocks: list[Block]) -> str:
    """Simple display HTML of blocks (list items grouped in <ul>), not yet sanitised."""
    parts: list[str] = []
    in_list = False
    for block in blocks:
        if block.kind == "li" and not in_list:
            parts.append("<ul>")
            in_list = True
        elif block.kind != "li" and in_list:
            parts.append("</ul>")
            in_list = False
        if block.kind in ATOMIC_TAGS:
            parts.append(block.html)
        elif block.kind in ("dt", "dd", "figcaption"):
            parts.append(f"<p>{block.html}</p>")
        else:
            tag = "h2" if block.kind == "h1" else block.kind
            parts.append(f"<{tag}>{block.html}</{tag}>")
    if in_list:
        parts.append("</ul>")
    return "\n".join(parts)
