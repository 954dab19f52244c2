"""Cross-document entity aliases: a short name resolves to the full name the store already knows.

In-document resolution (`entities.resolve_mentions`) already folds "Mr Blair" into "Tony Blair" when the
same article names him in full. This module handles the rest, across articles:
- a PERSON named by one word ("Blair", left after titles such as "Mr", "Sen." or "President" are stripped)
  resolves to a full PERSON name in the same article whose words include it, else to the full name the
  store has seen with it as surname (as another word only when no surname matches) in the most articles,
  but only when that name holds a clear majority (`MAJORITY`) of the articles naming any full name with
  that word and was seen in at least `MIN_ARTICLES` of them; otherwise it stays;
- a place written with shortened words ("N Korea", "S. Africa") resolves to the place whose words it
  abbreviates, in the article, the store or the list of countries, when exactly one matches;
- fixed aliases ("the US", "U.S." -> "United States") are applied earlier, by `entities.canonicalise`.
The store lookup itself is the caller's (through `store.entities`): these functions are pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tidings.enrich.entities import country_names, entity_key
from tidings.models import Entity
from tidings.vocabulary import fold

VERSION = "aliases-1"
MAJORITY = 2 / 3  # share of the surname's full-name articles the chosen name must hold
MIN_ARTICLES = 2  # a full name seen in one article only is too thin a basis
PLACE_TYPES = frozenset({"GPE", "LOC"})
_ABBREV_RE = re.compile(r"^(?:[^\W\d_]\.?|[^\W\d_]{2,3}\.)$")  # "N", "N.", "St." (not "Ho", "US")


@dataclass(frozen=True)
class KnownName:
    """A full-name entity the store knows, with the number of articles that name it."""

    key: str
    name: str
    type: str
    articles: int


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s]+", name.casefold()) if w]


def is_short_person(entity: Entity) -> bool:
    """Whether an entity is a person named by one word (a surname or a short form)."""
    return entity.type == "PERSON" and len(_words(entity.name)) == 1


def is_abbreviated_place(entity: Entity) -> bool:
    """Whether a place's name shortens one of its words to 1-3 letters ("N Korea", "S. Africa")."""
    words = entity.name.split()
    return entity.type in PLACE_TYPES and len(words) >= 2 and any(_ABBREV_RE.match(w) for w in words)


def probes(entities: Iterable[Entity]) -> set[str]:
    """Words to look up in the store: surnames of short people and the full words of abbreviated places."""
    out: set[str] = set()
    for entity in entities:
        if is_short_person(entity):
            out.add(entity.name.casefold())
        elif is_abbreviated_place(entity):
            out.update(w.casefold() for w in entity.name.split() if not _ABBREV_RE.match(w))
    return out


def person_target(short: Entity, local: list[Entity], known: Iterable[KnownName]) -> KnownName | None:
    """The full name a one-word person refers to: in the article if it names one, else the store's
    clear-majority name, else None."""
    word = short.name.casefold()
    in_doc = [e for e in local if e.type == "PERSON" and len(_words(e.name)) > 1 and word in _words(e.name)]
    if in_doc:
        best = max(in_doc, key=lambda e: e.count)
        return KnownName(best.key, best.name, best.type, 1)
    full = [k for k in known if k.type == "PERSON" and len(_words(k.name)) > 1 and word in _words(k.name)]
    # A surname first ("Blair" of "Tony Blair"); a leading name ("Saddam") only when no surname matches.
    # The majority counts every full name with the word, so a common first name ("James" beside James
    # Kelly and James Joyce) is not taken for one person's surname.
    candidates = [k for k in full if _words(k.name)[-1] == word] or full
    if not candidates:
        return None
    total = sum(k.articles for k in full)
    best_known = max(candidates, key=lambda k: (k.articles, k.name))
    if best_known.articles >= MIN_ARTICLES and best_known.articles >= MAJORITY * total:
        return best_known
    return None


def abbreviates(short: str, full: str) -> bool:
    """Whether `short` writes `full` with some words cut to their first letters ("N Korea", "North Korea")."""
    a, b = short.split(), full.split()
    if len(a) != len(b) or fold(short) == fold(full):
        return False
    for part, whole in zip(a, b, strict=True):
        stem = part.rstrip(".").casefold()
        if stem != whole.casefold() and not (_ABBREV_RE.match(part) and whole.casefold().startswith(stem)):
            return False
    return True


def place_target(short: Entity, local: list[Entity], known: Iterable[KnownName]) -> KnownName | None:
    """The one place an abbreviated place name stands for, looked for in the article, the store and the
    country names; None when none or several match."""
    pools: list[list[KnownName]] = [
        [KnownName(e.key, e.name, e.type, 1) for e in local if e.type in PLACE_TYPES],
        [k for k in known if k.type in PLACE_TYPES],
        [KnownName(entity_key(n, "GPE"), n, "GPE", 0) for n in sorted(set(country_names().values()))],
    ]
    for pool in pools:
        matches = {k.key: k for k in pool if abbreviates(short.name, k.name)}
        if len(matches) == 1:
            return next(iter(matches.values()))
        if matches:
            return None
    return None


def resolve_aliases(found: list[Entity], known: Iterable[KnownName]) -> tuple[list[Entity], dict[str, str]]:
    """An article's entities with short names resolved to full ones, merged where the full name is also
    present, in their original order; and the renames made (old name -> new name)."""
    pool = list(known)
    renames: dict[str, str] = {}
    by_key: dict[str, Entity] = {}
    order: list[str] = []
    for entity in found:
        target = None
        if is_short_person(entity):
            target = person_target(entity, found, pool)
        elif is_abbreviated_place(entity):
            target = place_target(entity, found, pool)
        if target is not None and target.key != entity.key:
            renames[entity.name] = target.name
            entity = replace(entity, key=target.key, name=target.name, type=target.type)
        if entity.key in by_key:
            kept = by_key[entity.key]
            by_key[entity.key] = replace(
                kept, count=kept.count + entity.count, salient=kept.salient or entity.salient
            )
        else:
            by_key[entity.key] = entity
            order.append(entity.key)
    return [by_key[k] for k in order], renames


def rename_topics(topics: list[str], renames: dict[str, str]) -> list[str]:
    """Topic keys with renamed entity names replaced by their full names, without duplicates."""
    out: dict[str, str] = {}
    lookup = {fold(old): new for old, new in renames.items()}
    for topic in topics:
        name = lookup.get(fold(topic), topic)
        out.setdefault(fold(name), name)
    return list(out.values())
