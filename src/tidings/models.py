"""Plain domain types shared by every pipeline stage (no I/O, no ORM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


@dataclass
class RelatedLink:
    """A teaser pointing at another story, lifted out of an article body."""

    title: str
    url: str | None = None


@dataclass(kw_only=True)
class ArticleMetadata:
    """What one source (a feed entry, a file, the page itself) says about an article; keyword-only."""

    title: str | None = None
    byline: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class ExtractedArticle:
    """What extraction makes of one page or plain-text document."""

    title: str
    text: str  # clean body, paragraphs separated by blank lines
    html: str = ""  # sanitised display HTML ("" when the source was plain text)
    url: str | None = None
    canonical_url: str | None = None
    standfirst: str | None = None
    byline: str | None = None
    published_at: datetime | None = None
    source: str | None = None  # site name
    language: str | None = None
    captions: list[str] = field(default_factory=list)
    related_links: list[RelatedLink] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lead_image: str | None = None
    status: str = "ok"  # "ok" | "not_article" | "empty"
    notes: list[str] = field(default_factory=list)


@dataclass
class Entity:
    """A named entity resolved within one document, with a cross-document key."""

    key: str  # stable across documents, e.g. "person:kim-jong-un"
    name: str  # canonical display name, e.g. "Kim Jong-un"
    type: str  # PERSON, GPE, ORG, LOC, NORP, EVENT, ...
    count: int = 1
    salient: bool = False  # one of the article's main entities, shown as a chip


SHOWN_ENTITY_TYPES = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT"})
MAX_ENTITY_CHIPS = 8
ENTITY_TYPE_LABELS = {
    "PERSON": "Person",
    "GPE": "Place",
    "LOC": "Place",
    "FAC": "Place",
    "ORG": "Organisation",
    "NORP": "Group",
    "EVENT": "Event",
    "PRODUCT": "Product",
    "WORK_OF_ART": "Work",
    "LAW": "Law",
    "LANGUAGE": "Language",
}


def entity_type_label(type: str) -> str:
    """The human label of an entity type ("GPE" -> "Place"); unknown types are title-cased."""
    return ENTITY_TYPE_LABELS.get(type.upper(), type.replace("_", " ").title() if type else "Name")


def entity_chips(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored entities an article shows: the salient ones, or for rows enriched before salience was
    stored, the most mentioned of the shown types."""
    if any(e.get("salient") for e in entities):
        return [e for e in entities if e.get("salient")]
    return [e for e in entities if e.get("type") in SHOWN_ENTITY_TYPES and int(e.get("count", 0)) >= 2][
        :MAX_ENTITY_CHIPS
    ]


@dataclass
class EnrichInput:
    """The slice of an article that enrichment reads."""

    title: str
    text: str
    standfirst: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    source: str | None = None


@dataclass
class Enrichment:
    """Everything enrichment derives from one article."""

    language: str | None = None
    entities: list[Entity] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)  # display names, e.g. "politics", "North Korea"
    iptc_topic: str | None = None  # the IPTC top level chosen
    key_points: list[str] = field(default_factory=list)
    embedding: Vector | None = None  # float32, L2-normalised
    embedding_model: str | None = None
    versions: dict[str, str] = field(default_factory=dict)  # enricher name -> version
    skipped: list[str] = field(default_factory=list)  # human-readable notes of what did not apply
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FeedEntry:
    """One item read from a feed document."""

    title: str
    url: str | None
    summary_html: str = ""
    content_html: str = ""
    published_at: datetime | None = None
    byline: str | None = None
    tags: list[str] = field(default_factory=list)
    guid: str | None = None
    image_url: str | None = (
        None  # the lead image: media:content/thumbnail, an image enclosure, else 1st <img>
    )
    image_alt: str | None = None  # its caption, when the feed gives one


@dataclass
class ParsedFeed:
    """A feed document parsed as far as possible, with what could not be read."""

    title: str | None
    site_url: str | None
    entries: list[FeedEntry]
    warnings: list[str] = field(default_factory=list)
    ttl_seconds: int | None = None
    image_url: str | None = None  # the feed's own image (<image><url>, Atom <icon>/<logo>)
