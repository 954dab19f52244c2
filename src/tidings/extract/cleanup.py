"""News-specific cleanup of body blocks: promos out, captions and related-story teasers set aside."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tidings.extract.blocks import Block
from tidings.extract.shingles import normalise_title
from tidings.models import RelatedLink

PROMO_START_RE = re.compile(
    r"^(get more (with|from|out of)|sign up (for|to)|subscribe (to|for|now)|download (our|the)\b.*\bapp"
    r"|get (our|the) (app|newsletter)|never miss\b|stay (informed|up to date)|unlock\b.*\b(access|stories)"
    r"|follow us (on|for))",
    re.IGNORECASE,
)
CTA_RE = re.compile(
    r"^(learn more|find out more|read more|sign up|sign in|subscribe( now)?|download( the app)?|share( this)?"
    r"( article| story)?|advertisement|sponsored( content)?|tweet|email|print|comments?|"
    r"click here|share on \w+|follow us|more on this( story)?|recommended|we recommend)[.!:…]*$",
    re.IGNORECASE,
)
PROMO_WORDS_RE = re.compile(
    r"\b(newsletter|subscribe|subscription|sign up|download (our|the) app|inbox|personali[sz]ed news)\b",
    re.IGNORECASE,
)
CAPTION_RE = re.compile(
    r"(\b(photo|photograph|picture|image|illustration|credit|foto|video)s?\s*(by\b|:)\s*[^.!?]{1,60}"
    r"|/\s*(getty images|reuters|ap|afp|epa|shutterstock|alamy|pa)\)?)\s*\)?\.?$",
    re.IGNORECASE,
)
RELATED_PREFIX_RE = re.compile(
    r"^(read more|related|see also|also read|read also|more|recommended|related story|related article"
    r"|read next|also see|watch)\s*[:>|»-]+\s*(?P<title>.+)$",
    re.IGNORECASE,
)
TERMINAL_RE = re.compile(r"[.!?:;…\"”’»)]$")
BULLET_RE = re.compile(r"^\s*[•·▪●◦*\-–]\s+")
MAX_PROMO_TAIL = 3
MAX_PROMO_WORDS = 15
MAX_CAPTION_WORDS = 60
TEASER_WORDS = (5, 30)
MAX_TAG_WORDS = 4


@dataclass
class Cleaned:
    """Body blocks after cleanup, with what was set aside."""

    blocks: list[Block]
    captions: list[str] = field(default_factory=list)
    related: list[RelatedLink] = field(default_factory=list)
    standfirst: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    dropped: int = 0


def count_words(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def is_promo_start(block: Block) -> bool:
    """Whether a block opens a house ad (e.g. "Get more with …")."""
    return count_words(block.text) <= MAX_PROMO_WORDS and bool(PROMO_START_RE.match(block.text))


def is_call_to_action(block: Block) -> bool:
    """Whether a block is a bare call to action or share/ad label ("Learn more", "Share")."""
    return bool(CTA_RE.match(block.text.strip()))


def is_promo_text(block: Block) -> bool:
    """Whether a short unterminated block talks about newsletters, apps or subscriptions."""
    short = count_words(block.text) <= MAX_PROMO_WORDS and not block.text.rstrip().endswith(".")
    return short and bool(PROMO_WORDS_RE.search(block.text))


def is_caption(block: Block) -> bool:
    """Whether a block is a photo caption (figcaption, or text ending in a photo credit)."""
    if block.kind == "figcaption":
        return True
    return count_words(block.text) <= MAX_CAPTION_WORDS and bool(CAPTION_RE.search(block.text))


def is_body_paragraph(block: Block) -> bool:
    """Whether a block reads like running text (a sentence, or long)."""
    return block.kind in ("p", "blockquote") and (
        bool(TERMINAL_RE.search(block.text)) or count_words(block.text) > TEASER_WORDS[1]
    )


def is_headline_like(text: str) -> bool:
    """A standalone headline: a few words, no sentence punctuation at the end, not a quote opening."""
    words = count_words(text)
    if not TEASER_WORDS[0] <= words <= TEASER_WORDS[1] or TERMINAL_RE.search(text):
        return False
    return not text.startswith(("“", '"', "‘", "'", "(", "-", "—"))


def linked_share(block: Block) -> float:
    """Share of a block's characters that sit inside links."""
    linked = sum(len(anchor) for anchor, _ in block.links)
    return linked / max(1, len(block.text))


def related_from_prefix(block: Block) -> RelatedLink | None:
    """A teaser written as "Read more: …" / "Related: …"."""
    match = RELATED_PREFIX_RE.match(block.text)
    if not match or count_words(match.group("title")) < 3:
        return None
    url = block.links[0][1] if block.links else None
    return RelatedLink(match.group("title").strip(), url)


def related_from_link(block: Block) -> RelatedLink | None:
    """A teaser written as a paragraph or heading that is one link to another page, headline-shaped."""
    if len(block.links) != 1 or linked_share(block) < 0.9 or block.kind not in ("p", "h2", "h3", "h4", "h5"):
        return None
    anchor, href = block.links[0]
    # a headline starts with a capital, a digit or a quote; a lower-case start is a sentence fragment
    starts_like_headline = block.text[:1].isupper() or block.text[:1].isdigit() or block.text[:1] in "‘“'\""
    if href.startswith("#") or not starts_like_headline or not is_headline_like(block.text):
        return None
    return RelatedLink(anchor, href)


def drop_promos(blocks: list[Block]) -> tuple[list[Block], int]:
    """Remove house-ad boxes (a promo opener with its short tail) and bare calls to action."""
    kept: list[Block] = []
    skip_tail = 0
    for block in blocks:
        short = count_words(block.text) <= MAX_PROMO_WORDS and not TERMINAL_RE.search(block.text)
        if is_promo_start(block):
            skip_tail = MAX_PROMO_TAIL
        elif skip_tail and short and not block.is_heading:
            skip_tail = 0 if is_call_to_action(block) else skip_tail - 1
        elif is_call_to_action(block) or is_promo_text(block):
            skip_tail = 0
        else:
            skip_tail = 0
            kept.append(block)
    return kept, len(blocks) - len(kept)


def split_captions(blocks: list[Block]) -> tuple[list[Block], list[str]]:
    """Move photo captions out of the body."""
    kept = [b for b in blocks if not is_caption(b)]
    return kept, [b.text for b in blocks if is_caption(b)]


def split_related(
    blocks: list[Block], title: str | None, allow_unlinked: bool
) -> tuple[list[Block], list[RelatedLink]]:
    """Move related-story teasers out of the body (unlinked headline lines only when allow_unlinked)."""
    kept: list[Block] = []
    related: list[RelatedLink] = []
    wanted_title = normalise_title(title)
    for i, block in enumerate(blocks):
        link = related_from_prefix(block) or related_from_link(block)
        if link is None and allow_unlinked and _is_unlinked_teaser(blocks, i, wanted_title):
            link = RelatedLink(block.text, None)
        if link is None:
            kept.append(block)
        else:
            related.append(link)
    return kept, related


def _is_unlinked_teaser(blocks: list[Block], i: int, wanted_title: str) -> bool:
    block = blocks[i]
    if block.kind != "p" or not is_headline_like(block.text) or normalise_title(block.text) == wanted_title:
        return False
    before = blocks[i - 1] if i > 0 else None
    after = blocks[i + 1] if i + 1 < len(blocks) else None
    return all(b is not None and is_body_paragraph(b) for b in (before, after))


def split_standfirst(blocks: list[Block]) -> tuple[list[Block], list[str]]:
    """Take summary bullets that come before the first body paragraph as the standfirst."""
    first_body = next((i for i, b in enumerate(blocks) if is_body_paragraph(b) and b.kind == "p"), None)
    if first_body is None:
        return blocks, []
    bullets = [b for b in blocks[:first_body] if b.kind == "li" or BULLET_RE.match(b.text)]
    if not bullets or len(bullets) > 4 or any(count_words(b.text) < 5 for b in bullets):
        return blocks, []
    kept = [b for b in blocks if not any(b is x for x in bullets)]
    return kept, [BULLET_RE.sub("", b.text).strip() for b in bullets]


def drop_title_heading(blocks: list[Block], title: str | None) -> list[Block]:
    """Drop a heading at the top that repeats the article title."""
    wanted = normalise_title(title)
    for i, block in enumerate(blocks[:3]):
        if block.is_heading and wanted and normalise_title(block.text) == wanted:
            return blocks[:i] + blocks[i + 1 :]
    return blocks


def clean_blocks(blocks: list[Block], title: str | None, allow_unlinked_teasers: bool = False) -> Cleaned:
    """Run every news cleanup step over body blocks."""
    blocks, standfirst = split_standfirst(blocks)
    blocks, dropped = drop_promos(blocks)
    blocks, captions = split_captions(blocks)
    blocks, related = split_related(blocks, title, allow_unlinked_teasers)
    return Cleaned(blocks, captions, related, standfirst, dropped=dropped)
