"""One topic vocabulary: IPTC Media Topics top and second levels plus named topics, each under one key.

A topic's key is its canonical display name: "Politics", "Science and technology", "North Korea". Case and
synonym variants ("politics", "Politics and conflicts", "Economics & Business") fold onto the IPTC top level
they name; other names keep their own wording, compared case-insensitively. Publishers' tags that name an
IPTC top level become that topic; the others stay tags (searchable, never offered as topics). Follows, mutes,
chips, reasons, search filters and the API all go through `topic_key`. A second level's key is its path,
"Politics > Election"; its own name ("election", "Climate change") also folds onto it unless that name is
already a synonym of a top level ("Crime", "Economy", "Culture" stay top levels). An article with a second
level also carries its top level, so following "Politics" matches "Politics > Election". Pure: no models,
no I/O.
"""

from __future__ import annotations

import re

# IPTC Media Topics top levels: canonical display name -> code.
IPTC_TOPICS: dict[str, str] = {
    "Arts and entertainment": "medtop:01000000",
    "Crime and law": "medtop:02000000",
    "Disaster and accident": "medtop:03000000",
    "Business": "medtop:04000000",  # IPTC's "economy, business and finance", under the usual section name
    "Education": "medtop:05000000",
    "Environment": "medtop:06000000",
    "Health": "medtop:07000000",
    "Human interest": "medtop:08000000",
    "Labour": "medtop:09000000",
    "Lifestyle": "medtop:10000000",
    "Politics": "medtop:11000000",
    "Religion": "medtop:12000000",
    "Science and technology": "medtop:13000000",
    "Society": "medtop:14000000",
    "Sport": "medtop:15000000",
    "Conflict": "medtop:16000000",
    "Weather": "medtop:17000000",
}

# Folded variant -> IPTC top level. The official IPTC names, their parts, and the section and category names
# publishers commonly use for the same thing (only where the meaning is the whole top level, not a part).
SYNONYMS: dict[str, str] = {
    "arts": "Arts and entertainment",
    "arts culture entertainment and media": "Arts and entertainment",
    "arts and culture": "Arts and entertainment",
    "culture": "Arts and entertainment",
    "entertainment": "Arts and entertainment",
    "crime": "Crime and law",
    "crime law and justice": "Crime and law",
    "law": "Crime and law",
    "law and justice": "Crime and law",
    "disaster accident and emergency incident": "Disaster and accident",
    "disasters and accidents": "Disaster and accident",
    "economy": "Business",
    "economy business and finance": "Business",
    "economy and business": "Business",
    "economics and business": "Business",
    "business and finance": "Business",
    "economics": "Business",
    "health and medicine": "Health",
    "labor": "Labour",
    "lifestyle and leisure": "Lifestyle",
    "politics and government": "Politics",
    "politics and conflicts": "Politics",
    "religion and belief": "Religion",
    "science": "Science and technology",
    "technology": "Science and technology",
    "tech": "Science and technology",
    "science and tech": "Science and technology",
    "sci tech": "Science and technology",
    "sports": "Sport",
    "conflict war and peace": "Conflict",
    "war and conflict": "Conflict",
    "war": "Conflict",
    "elections": "Politics > Election",
}
# IPTC Media Topics second levels assigned when the classifier is confident: key -> top-level key. Names
# are IPTC's own (the IPTC top-level codes above; second-level codes are not recorded here).
IPTC_SUBTOPICS: dict[str, str] = {
    f"{parent} > {child}": parent
    for parent, children in {
        "Politics": ["Election", "Government", "International relations"],
        "Business": ["Economy", "Market and exchange", "Business information"],
        "Crime and law": ["Crime", "Judiciary", "Law enforcement"],
        "Sport": ["Sport event", "Sport transaction", "Drug use in sport"],
        "Science and technology": ["Technology and engineering", "Natural science", "Biomedical science"],
        "Health": ["Disease and condition", "Public health", "Health treatment and procedure"],
        "Environment": ["Climate change", "Environmental pollution", "Conservation"],
        "Conflict": ["Act of terror", "Armed conflict", "Civil unrest", "Peace process"],
        "Disaster and accident": ["Disaster", "Accident and emergency incident"],
        "Arts and entertainment": ["Culture", "Mass media"],
        "Education": ["School", "Teaching and learning"],
        "Lifestyle": ["Leisure", "Wellness"],
    }.items()
    for child in children
}
_FOLD = re.compile(r"[^\w]+")


def fold(name: str) -> str:
    """Case-, accent-insensitive comparison form: "Economics & Business" -> "economics and business"."""
    text = name.replace("&", " and ").casefold()
    return " ".join(_FOLD.sub(" ", text).split())


_IPTC_BY_FOLD = (
    {fold(key.split(" > ")[1]): key for key in IPTC_SUBTOPICS}
    | {fold(key): key for key in IPTC_SUBTOPICS}
    | {fold(name): name for name in IPTC_TOPICS}
    | {fold(k): v for k, v in SYNONYMS.items()}
)


def iptc_topic(name: str) -> str | None:
    """The IPTC topic a topic or tag names ("politics", "Politics and conflicts" -> "Politics"; "election"
    -> "Politics > Election")."""
    return _IPTC_BY_FOLD.get(fold(name))


def parent_topic(key: str) -> str | None:
    """The top level of a second-level key ("Politics > Election" -> "Politics"), else None."""
    return IPTC_SUBTOPICS.get(key)


def with_parent_names(names: list[str]) -> list[str]:
    """Topic or tag names with the top level of each that names a second level added after it (unchanged
    otherwise): a publisher's "Elections" tag also counts for "Politics"."""
    out: dict[str, None] = {}
    for name in names:
        out.setdefault(name)
        parent = parent_topic(topic_key(name))
        if parent:
            out.setdefault(parent)
    return list(out)


def tag_names(name: str) -> list[str]:
    """Folded names a publisher's tag may use for a topic and, for a top level, for its second levels
    ("Politics" -> "politics", "politics and government", ..., "election", "elections", ...)."""
    key = topic_key(name)
    keys = {key} | {child for child, parent in IPTC_SUBTOPICS.items() if parent == key}
    names = {fold(name)} | {variant for variant, target in _IPTC_BY_FOLD.items() if target in keys}
    return sorted(names)


def with_parents(keys: list[str]) -> list[str]:
    """Topic keys with each second level's top level added before it (once)."""
    out: dict[str, None] = {}
    for key in keys:
        parent = parent_topic(key)
        if parent:
            out.setdefault(parent)
        out.setdefault(key)
    return list(out)


def topic_key(name: str) -> str:
    """The canonical key of a topic: its IPTC top level, else the name itself with spaces tidied."""
    return iptc_topic(name) or " ".join(name.split())


def same_topic(a: str, b: str) -> bool:
    """Whether two topic names share one key (case and synonyms ignored)."""
    return fold(topic_key(a)) == fold(topic_key(b))


def split_tags(tags: list[str]) -> tuple[list[str], list[str]]:
    """Publisher tags as (IPTC topics they name, the rest kept as tags), each de-duplicated."""
    topics: dict[str, None] = {}
    rest: dict[str, str] = {}
    for tag in tags:
        tag = " ".join(str(tag).split())
        if not tag:
            continue
        found = iptc_topic(tag)
        if found:
            topics.setdefault(found)
        else:
            rest.setdefault(fold(tag), tag)
    return with_parents(list(topics)), list(rest.values())
