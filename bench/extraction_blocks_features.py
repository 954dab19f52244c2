"""Block-level features for the block-selector experiment (bench/extraction_blocks.py); not in production.

The candidate bodies (extract/body.py, plus trafilatura's precision mode and jusText) are merged into one list
of blocks in page order; every block gets features (which candidates hold it, its length, links, shape, the
cleanup patterns, its neighbours). A gradient-boosted model then predicts the share of each block's text that
belongs to the article. Cross-validated, this scored below the page-level chooser (see that script).
"""

from __future__ import annotations

import math

from tidings.extract.blocks import Block
from tidings.extract.cleanup import (
    TERMINAL_RE,
    is_call_to_action,
    is_caption,
    is_headline_like,
    is_promo_start,
    is_promo_text,
    linked_share,
    related_from_link,
    related_from_prefix,
)
from tidings.extract.shingles import count_shingles, normalise_title, tokenize

VOTERS = ("trafilatura_full", "trafilatura_recall", "readability", "trafilatura_precision", "justext")
MAX_BLOCKS = 1500  # a page with more blocks than this is cut (time is bounded)
NEAR_DUPLICATE = 0.8  # a block mostly in the union already is the same text, split another way
KINDS = ("p", "li", "heading", "blockquote", "table", "figcaption")
FEATURES = (
    *(f"in_{name}" for name in VOTERS),
    "votes",
    "log_tokens",
    *(f"kind_{kind}" for kind in KINDS),
    "link_share",
    "log_links",
    "terminal",
    "starts_upper",
    "digit_share",
    "punct_per_token",
    "position",
    "tokens_before",
    "title_overlap",
    "is_title",
    "promo_start",
    "call_to_action",
    "promo_text",
    "caption",
    "related_prefix",
    "related_link",
    "headline_like",
    "prev_votes",
    "next_votes",
    "prev_in_full",
    "next_in_full",
    "page_log_tokens",
    "page_full_share",
    "page_candidates",
    *(f"page_{name}_share" for name in VOTERS[1:]),
)

Shingles = set[tuple[str, ...]]


def _kind(block: Block) -> str:
    if block.is_heading:
        return "heading"
    if block.kind in ("table", "pre"):
        return "table"
    return block.kind


def merge_blocks(candidates: dict[str, list[Block]]) -> list[Block]:
    """The union of the candidates' blocks in page order (near-duplicates of merged text left out)."""
    # the finest-grained candidate first: a coarse block (a whole body in one paragraph) then adds nothing
    # new, where merged first it would hide every finer block; jusText, which keeps no markup, comes last
    order = sorted(
        (name for name in VOTERS if candidates.get(name)),
        key=lambda name: (name == "justext", -len(candidates[name])),
    )
    if not order:
        return []
    merged = list(candidates[order[0]][:MAX_BLOCKS])
    present = {b.text: b for b in merged}
    union: Shingles = set().union(*(count_shingles(b.text) for b in merged))
    for name in order[1:]:
        at = 0
        for block in candidates[name][:MAX_BLOCKS]:
            if len(merged) >= MAX_BLOCKS:
                break
            if block.text in present:
                at = merged.index(present[block.text]) + 1
                continue
            own = set(count_shingles(block.text))
            if len(own & union) >= NEAR_DUPLICATE * len(own):
                continue
            merged.insert(at, block)
            present[block.text] = block
            union |= own
            at += 1
    return merged


def _share(own: Shingles, other: Shingles) -> float:
    return len(own & other) / len(own) if own else 0.0


def _text_shape(text: str, tokens: int) -> list[float]:
    letters = sum(c.isalpha() for c in text) or 1
    punct = sum(c in ",.;:!?\"'()" for c in text)
    return [
        float(bool(TERMINAL_RE.search(text))),
        float(text[:1].isupper()),
        sum(c.isdigit() for c in text) / (letters + sum(c.isdigit() for c in text)),
        punct / max(1, tokens),
    ]


def _patterns(block: Block) -> list[float]:
    return [
        float(is_promo_start(block)),
        float(is_call_to_action(block)),
        float(is_promo_text(block)),
        float(is_caption(block)),
        float(related_from_prefix(block) is not None),
        float(related_from_link(block) is not None),
        float(is_headline_like(block.text)),
    ]


def block_features(
    blocks: list[Block], candidates: dict[str, list[Block]], title: str | None
) -> list[list[float]]:
    """One feature row per merged block (in FEATURES order)."""
    own = [set(count_shingles(b.text)) for b in blocks]
    voter_sets = {
        name: set().union(*(count_shingles(b.text) for b in candidates.get(name, []))) for name in VOTERS
    }
    ins = [[_share(s, voter_sets[name]) for name in VOTERS] for s in own]
    votes = [sum(x >= 0.5 for x in row) / len(VOTERS) for row in ins]
    tokens = [len(tokenize(b.text)) for b in blocks]
    total = sum(tokens) or 1
    title_tokens = set(tokenize(normalise_title(title)))
    wanted_title = normalise_title(title)
    page = [
        math.log1p(total),
        sum(t for t, row in zip(tokens, ins, strict=True) if row[0] >= 0.5) / total,
        sum(bool(candidates.get(n)) for n in VOTERS) / len(VOTERS),
        *(
            sum(t for t, row in zip(tokens, ins, strict=True) if row[i] >= 0.5) / total
            for i in range(1, len(VOTERS))
        ),
    ]
    rows, before = [], 0
    last = len(blocks) - 1
    for i, block in enumerate(blocks):
        block_tokens = set(tokenize(normalise_title(block.text)))
        kind = _kind(block)
        rows.append(
            [
                *ins[i],
                votes[i],
                math.log1p(tokens[i]),
                *(float(kind == k) for k in KINDS),
                linked_share(block),
                math.log1p(len(block.links)),
                *_text_shape(block.text, tokens[i]),
                i / max(1, last),
                before / total,
                len(title_tokens & block_tokens) / len(title_tokens) if title_tokens else 0.0,
                float(bool(wanted_title) and normalise_title(block.text) == wanted_title),
                *_patterns(block),
                votes[i - 1] if i > 0 else -1.0,
                votes[i + 1] if i < last else -1.0,
                ins[i - 1][0] if i > 0 else -1.0,
                ins[i + 1][0] if i < last else -1.0,
                *page,
            ]
        )
        before += tokens[i]
    return rows
