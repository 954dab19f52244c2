"""Named entities: spaCy NER (only), then resolution of mentions within a document and stable keys.

Resolution rules, applied per document:
- strip possessives ("Putin's"), a leading "the", and titles ("Mr", "President", "Prime Minister", ...);
- map common aliases to one canonical name ("US", "U.S.", "America" -> "United States", "UK" -> "United
  Kingdom", ...) and fix the type of well-known places ("Pyongyang" is a GPE whatever the tagger said);
- a PERSON mention whose words are a subset of a longer PERSON name in the same document ("Kim", "Putin",
  "Mr Blair") counts towards that name; with several candidates, the most mentioned (then earliest) wins;
  a one-word ORG/GPE/NORP mention equal to a known person's surname is re-typed as that person; a one-word
  person takes the full name the text writes out before it where the tagger missed that ("the Jayson Blair
  scandal"), when only one first name does (`complete_surnames`); cross-document aliases are in `aliases`;
- drop numbers, single characters, markup (`style="background:#CC0000`), bare generic words ("North",
  "State") and non-name types (dates, money, quantities, ...); re-type well-known platforms and agencies
  tagged as people ("Twitter") as organisations;
- drop a capitalised mention whose lower-case form also runs in the text ("Arson Attack" beside "an arson
  attack"): it is a common phrase in a title, not a name.
Salience (`mark_salient`) then picks the 3-8 main entities an article shows as chips: people, places,
organisations and events named in the title or mentioned at least twice, most mentioned first.

Cost: NER reads the first `NER_MAX_CHARS` characters of title + standfirst + body; mentions of the entities
found there are then counted over the rest of the body by plain string matching, which is far cheaper.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field

import pycountry

import tidings.enrich.language as language
import tidings.enrich.ner_worker as ner_worker
from tidings.config import Settings
from tidings.enrich.ner_model import RawMention, load_ner, raw_mentions
from tidings.models import SHOWN_ENTITY_TYPES as SHOWN_TYPES
from tidings.models import Entity

VERSION = "spacy-ner-3"
NER_MAX_CHARS = 5000
_OPEN_QUOTES = "\"“‘«'"
_CLOSE_QUOTES = "\"”’»'"
FOREIGN_MIN_CHARS = 60
LEAD_CHARS = 800  # names mentioned once count as main entities only when the lead names them
MIN_BODY_TO_CONFIRM = 300  # characters of body below which a title's names are taken without confirmation
KEPT_TYPES = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"}
)
KEY_PREFIX = {
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "ORG": "org",
    "NORP": "group",
}
TITLES = (
    "prime minister",
    "foreign secretary",
    "home secretary",
    "secretary of state",
    "vice president",
    "president",
    "chancellor",
    "minister",
    "senator",
    "governor",
    "secretary",
    "leader",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "sir",
    "prof",
    "professor",
    "chief executive",
    "chairman",
    "chairwoman",
    "spokesman",
    "spokeswoman",
    "ambassador",
    "ex-pm",
    "pm",
    "ceo",
    "cfo",
    "rep",
    "sen",
    "gov",
    "lt",
    "col",
    "sgt",
    "capt",
)
_TITLES_ALT = "|".join(re.escape(t) for t in TITLES)
_TITLE_RE = re.compile(rf"^(?:(?:{_TITLES_ALT})\.?\s+)+", re.IGNORECASE)
_POSSESSIVE_RE = re.compile(r"['’]s?$")
_THE_RE = re.compile(r"^the\s+", re.IGNORECASE)
ALIASES: dict[str, tuple[str, str]] = {
    "us": ("United States", "GPE"),
    "u.s.": ("United States", "GPE"),
    "u.s": ("United States", "GPE"),
    "usa": ("United States", "GPE"),
    "u.s.a.": ("United States", "GPE"),
    "america": ("United States", "GPE"),
    "united states": ("United States", "GPE"),
    "united states of america": ("United States", "GPE"),
    "uk": ("United Kingdom", "GPE"),
    "u.k.": ("United Kingdom", "GPE"),
    "britain": ("United Kingdom", "GPE"),
    "great britain": ("United Kingdom", "GPE"),
    "united kingdom": ("United Kingdom", "GPE"),
    "eu": ("European Union", "ORG"),
    "european union": ("European Union", "ORG"),
    "un": ("United Nations", "ORG"),
    "u.n.": ("United Nations", "ORG"),
    "united nations": ("United Nations", "ORG"),
    "dprk": ("North Korea", "GPE"),
    "russian federation": ("Russia", "GPE"),
    "uae": ("United Arab Emirates", "GPE"),
}
# Capitals often used for their governments; the small model sometimes tags them as ORG or PERSON.
KNOWN_PLACES = frozenset(
    [
        "pyongyang",
        "seoul",
        "beijing",
        "moscow",
        "washington",
        "london",
        "paris",
        "berlin",
        "tokyo",
        "hanoi",
        "kabul",
        "baghdad",
        "tehran",
        "damascus",
        "kyiv",
        "kiev",
        "brussels",
        "jerusalem",
        "cairo",
        "delhi",
        "islamabad",
        "vladivostok",
    ]
)


KNOWN_ORGS = frozenset(
    [
        "twitter",
        "facebook",
        "youtube",
        "google",
        "instagram",
        "wikipedia",
        "wikinews",
        "whatsapp",
        "flickr",
        "weibo",
        "skype",
        "reuters",
        "afp",
        "associated press",
        "bbc",
        "cnn",
        "al jazeera",
        "global voices",
        "microsoft",
        "yahoo",
    ]
)
# Words the small model tags on their own as names when they only begin one ("North" of "North Korea").
GENERIC_WORDS = frozenset(
    [
        "north",
        "south",
        "east",
        "west",
        "northern",
        "southern",
        "eastern",
        "western",
        "central",
        "state",
        "states",
        "city",
        "government",
        "ministry",
        "department",
        "police",
        "army",
        "court",
        "parliament",
        "republic",
        "kingdom",
        "union",
        "party",
        "council",
        "committee",
        "agency",
        "news",
        "office",
        "house",
        "senate",
        "congress",
        "president",
        "minister",
        "people",
        "world",
        "internet",
        "web",
        "online",
        "media",
        "press",
        "national",
        "international",
    ]
)
DEMONYM_ENDINGS = ("ian", "ean", "ese", "ish", "ans")
TYPE_PRIORITY = {"GPE": 3, "ORG": 2, "PERSON": 1}  # breaks ties in `_majority_types`
_MARKUP_RE = re.compile(r"[<>{}=#|\\@_*~^]|://|www\.|&[a-z]+;", re.IGNORECASE)
MAX_SHOWN = 8
MIN_SHOWN = 3


@dataclass
class _Cluster:
    name: str
    type: str
    first: int
    count: int = 0
    surfaces: set[str] = field(default_factory=set)


def entity_key(name: str, type: str) -> str:
    """A stable cross-document key such as "person:kim-jong-un" (places share one "place:" prefix)."""
    prefix = KEY_PREFIX.get(type, type.lower() or "thing")
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if not slug:  # names in non-Latin scripts: keep the letters themselves
        slug = re.sub(r"\W+", "-", name.lower()).strip("-")
    return f"{prefix}:{slug}"


def clean_mention(text: str) -> str:
    """Strip possessives, a leading "the", titles and stray punctuation from a mention."""
    text = " ".join(text.split())
    text = _POSSESSIVE_RE.sub("", text)
    text = _THE_RE.sub("", text)
    text = _TITLE_RE.sub("", text)
    return text.strip(" \"'“”‘’.,;:-()[]")


def is_junk(name: str, label: str = "") -> bool:
    """Whether a cleaned mention is no name at all: too short, digits, markup or a bare generic word."""
    letters = sum(ch.isalpha() for ch in name)
    if letters < 2 or len(name) < 2 or (any(ch.isdigit() for ch in name) and letters < 3):
        return True
    if _MARKUP_RE.search(name) or name.lower() in GENERIC_WORDS or name.lower() in TITLES:
        return True
    if ": " in name:  # two title fragments run together ("Armenia: LGBT Community Fears")
        return True
    if label == "PERSON" and len(name) <= 3 and name.isupper():  # a speaker's initials ("MK:")
        return True
    if label in {"GPE", "LOC"} and " and " in name and name.lower() not in country_names():
        return True  # two places run together ("North and South Korea"); "Trinidad and Tobago" is one
    # Names start with a capital or a digit; a lower-case start is a fragment of a phrase ("de la
    # Presidencia"), unless a capital follows at once ("eBay").
    return name[0].islower() and not name[1:2].isupper()


@functools.cache
def country_names() -> dict[str, str]:
    """Lower-cased country names (ISO 3166 via pycountry) -> the common name they are shown under."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        common = getattr(country, "common_name", None) or country.name
        for name in (country.name, common, getattr(country, "official_name", None)):
            if name and "," not in name:
                names[name.lower()] = common
    return names


def canonicalise(name: str, label: str) -> tuple[str, str]:
    """Apply aliases, country names and known-place types to one cleaned mention."""
    alias = ALIASES.get(name.lower()) or ALIASES.get(name.lower() + ".")
    if alias:
        return alias
    country = country_names().get(name.lower())
    if country:  # the small model often tags a country as a person or an organisation
        return country, "GPE"
    if name.lower() in KNOWN_PLACES:
        return name, "GPE"
    if name.lower() in KNOWN_ORGS:
        return name, "ORG"
    if label == "GPE" and " " not in name and name.lower().endswith(DEMONYM_ENDINGS):
        return name, "NORP"  # "Georgian", "Ukrainian": a people or a language, not a place
    return name, label


def _words(name: str) -> frozenset[str]:
    return frozenset(name.lower().split())


def _person_target(name: str, people: list[_Cluster]) -> _Cluster | None:
    """The longer PERSON cluster a short name refers to, if any."""
    words = _words(name)
    candidates = [p for p in people if words < _words(p.name)]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.count, -p.first))


def resolve_mentions(mentions: Iterable[tuple[str, str, int]]) -> list[_Cluster]:
    """Group (text, label, offset) mentions of one document into canonical entities."""
    cleaned: list[tuple[str, str, int]] = []
    for text, label, offset in mentions:
        if label not in KEPT_TYPES:
            continue
        name = clean_mention(text)
        words = name.split()
        if label == "PERSON" and len(words) >= 3 and words[0].lower().endswith(DEMONYM_ENDINGS):
            name = " ".join(words[1:])  # "Palestinian Saif Al Yazori"
        if is_junk(name, label):
            continue
        name, label = canonicalise(name, label)
        cleaned.append((name, label, offset))
    cleaned = _majority_types(cleaned)
    clusters: dict[tuple[str, str], _Cluster] = {}
    for name, label, offset in cleaned:
        cluster = clusters.setdefault((name.lower(), label), _Cluster(name, label, offset))
        cluster.count += 1
        cluster.surfaces.add(name)
    return _merge_short_people(list(clusters.values()))


def _majority_types(mentions: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Give every mention of one name the type the tagger chose most often for it in this document
    ("Ryanair" tagged twice ORG and once PERSON is an ORG), so a name never shows under two types."""
    votes: dict[str, Counter[str]] = {}
    for name, label, _ in mentions:
        votes.setdefault(name.lower(), Counter())[label] += 1
    best = {
        name: max(c.items(), key=lambda kv: (kv[1], TYPE_PRIORITY.get(kv[0], 0)))[0]
        for name, c in votes.items()
    }
    return [(name, best[name.lower()], offset) for name, _, offset in mentions]


def _merge_short_people(clusters: list[_Cluster]) -> list[_Cluster]:
    people = [c for c in clusters if c.type == "PERSON"]
    surnames = {w for p in people if len(p.name.split()) > 1 for w in _words(p.name)}
    kept: list[_Cluster] = []
    for cluster in sorted(clusters, key=lambda c: -len(c.name.split())):
        is_candidate = cluster.type == "PERSON" or (
            cluster.type in {"ORG", "GPE", "NORP"} and cluster.name.lower() in surnames
        )
        target = _person_target(cluster.name, people) if is_candidate else None
        if target is None:
            target = _split_compound(cluster, people)
        if target is None or target is cluster:
            kept.append(cluster)
            continue
        target.count += cluster.count
        target.surfaces |= cluster.surfaces
        target.first = min(target.first, cluster.first)
    return kept


def _split_compound(cluster: _Cluster, people: list[_Cluster]) -> _Cluster | None:
    """ "Kim-Trump" names two known people: credit the first and drop the compound."""
    parts = cluster.name.split("-")
    if cluster.type != "PERSON" or len(parts) != 2 or " " in cluster.name:
        return None
    targets = [_person_target(p, people) for p in parts]
    if any(t is None for t in targets):
        return None
    for extra in targets[1:]:
        if extra is not None:
            extra.count += cluster.count
    return targets[0]


def count_in_tail(clusters: list[_Cluster], tail: str) -> None:
    """Add mentions found by string matching in text that NER did not read."""
    owner = {s.lower(): c for c in clusters for s in c.surfaces}
    if not tail or not owner:
        return
    # Longest surfaces first, so "North Korean" is not also counted as "Korean".
    alternatives = "|".join(re.escape(s) for s in sorted(owner, key=len, reverse=True))
    for match in re.finditer(rf"(?<!\w)(?:{alternatives})(?!\w)", tail, flags=re.IGNORECASE):
        owner[match.group(0).lower()].count += 1


def drop_common_phrases(clusters: list[_Cluster], text: str) -> list[_Cluster]:
    """Drop mentions whose every surface also runs in lower case in the text: common words, not names."""
    kept = []
    for cluster in clusters:
        lowered = [s.lower() for s in cluster.surfaces if s.lower() != s]
        if lowered and all(re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text) for s in lowered):
            continue
        kept.append(cluster)
    return kept


def merge_same_keys(clusters: list[_Cluster]) -> list[_Cluster]:
    """Merge clusters whose names fold to one key ("Panamá" and "Panama"), and an organisation named by
    part of exactly one longer organisation name ("Harvard" of "Harvard University")."""
    by_key: dict[str, _Cluster] = {}
    for cluster in sorted(clusters, key=lambda c: (-c.count, c.first)):
        key = entity_key(cluster.name, cluster.type)
        if key in by_key:
            _absorb(by_key[key], cluster)
        else:
            by_key[key] = cluster
    merged = list(by_key.values())
    kept = []
    for cluster in merged:
        # Only organisations: "Africa" is not "East Africa", but "Directmedia" is "Directmedia Publishing".
        longer = [
            c
            for c in merged
            if c is not cluster and c.type == cluster.type == "ORG" and _words(cluster.name) < _words(c.name)
        ]
        if len(longer) == 1:
            _absorb(longer[0], cluster)
        else:
            kept.append(cluster)
    return kept


def _absorb(target: _Cluster, other: _Cluster) -> None:
    target.count += other.count
    target.surfaces |= other.surfaces
    target.first = min(target.first, other.first)


def to_entities(clusters: list[_Cluster], title: str = "", text: str = "") -> list[Entity]:
    """Entities sorted by mention count, then first appearance, the main ones marked salient."""
    merged = merge_same_keys(clusters)
    if text:
        merged = absorb_fragments(merged, text)
    ordered = sorted(merged, key=lambda c: (-c.count, c.first))
    found = [Entity(key=entity_key(c.name, c.type), name=c.name, type=c.type, count=c.count) for c in ordered]
    in_lead = {e.key for e, c in zip(found, ordered, strict=True) if c.first < len(title) + LEAD_CHARS}
    mark_salient(found, title, in_lead)
    return found


def absorb_fragments(clusters: list[_Cluster], text: str) -> list[_Cluster]:
    """Fold a name into a longer one of its kind when at least half its occurrences stand inside it
    ("Shoal" of "Scarborough Shoal"): a split of the longer name or a short way to refer to it."""
    kept = []
    for cluster in clusters:
        family = KEY_PREFIX.get(cluster.type, cluster.type)
        longer = [
            c
            for c in clusters
            if c is not cluster
            and (KEY_PREFIX.get(c.type, c.type) == family or c.type == "EVENT")
            and _words(cluster.name) < _words(c.name)
        ]
        alone = _occurrences(cluster.name, text)
        inside = sum(_occurrences(s, text) for c in longer for s in c.surfaces if cluster.name in s)
        if longer and cluster.type not in {"PERSON", "NORP"} and 0 < alone <= 2 * inside:
            _absorb(max(longer, key=lambda c: c.count), cluster)
        else:
            kept.append(cluster)
    return kept


def _occurrences(name: str, text: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", text))


def in_title(entity: Entity, title: str) -> bool:
    """Whether the entity's name stands in the title as a whole word."""
    return (
        bool(title) and re.search(rf"(?<!\w){re.escape(entity.name)}(?!\w)", title, re.IGNORECASE) is not None
    )


def mark_salient(found: list[Entity], title: str, in_lead: set[str] | None = None) -> None:
    """Mark the 3-8 main entities: shown types named in the title or mentioned twice, most mentioned first;
    when fewer than three qualify, names mentioned once in the lead fill up to three."""
    shown = [e for e in found if e.type in SHOWN_TYPES]
    main = [e for e in shown if e.count >= 2 or in_title(e, title)]
    main.sort(key=lambda e: (-(e.count + (2 if in_title(e, title) else 0)), found.index(e)))
    chosen = main[:MAX_SHOWN]
    # Fill up to three with names mentioned once, where a single mention is least likely to be a misread
    # word: people's full names and countries.
    fillers = [
        e
        for e in shown
        if e not in chosen
        and ((e.type == "PERSON" and " " in e.name) or e.name.lower() in country_names())
        and (in_lead is None or e.key in in_lead)
    ]
    chosen += fillers[: max(0, MIN_SHOWN - len(chosen))]
    for entity in chosen:
        entity.salient = True


def ner_text(title: str, standfirst: str | None, body: str) -> tuple[str, str]:
    """Split title + standfirst + body into the part NER reads and the tail only string-matched."""
    body = "\n\n".join(p for p in re.split(r"\n\s*\n", body.strip()) if not is_foreign_paragraph(p))
    full = "\n\n".join(p for p in (title.strip(), (standfirst or "").strip(), body) if p)
    if len(full) <= NER_MAX_CHARS:
        return full, ""
    cut = full.rfind("\n", 0, NER_MAX_CHARS)
    cut = cut if cut > NER_MAX_CHARS // 2 else NER_MAX_CHARS
    return full[:cut], full[cut:]


def is_foreign_paragraph(paragraph: str) -> bool:
    """Whether a paragraph of an English article is quoted in another language (the English model reads
    its words as names: "Mais", "Koboy Palmerah ini"); short ones are too thin to tell and are kept."""
    if len(paragraph) < FOREIGN_MIN_CHARS:
        return False
    found = language.detect_language(paragraph)
    return found is not None and found != "en"


def extract_entities_batch(texts: list[tuple[str, str]], settings: Settings) -> list[list[Entity]]:
    """Entities for each (ner_part, tail) pair: NER over the batch, then in-document resolution."""
    return finish_ner(ner_worker.submit(settings, [t[0] for t in texts]), texts, settings)


def finish_ner(
    job: Future[ner_worker.Mentions] | None, texts: list[tuple[str, str]], settings: Settings
) -> list[list[Entity]]:
    """Entities from a worker NER job over the texts' heads, running NER here when there is no job."""
    mentions = ner_worker.collect(job)
    if mentions is None:
        mentions = raw_mentions(load_ner(settings), [t[0] for t in texts])
    return entities_from_mentions(mentions, texts)


def confirmed_in_body(found: list[RawMention], head: str, tail: str) -> list[RawMention]:
    """Keep a title's mentions only when the body names them too (when there is a body to check).

    Titles are often in Title Case, where the tagger takes phrases for names ("Violence Plunges
    Opposition", "Kim Says"); a real name in the title almost always comes back in the body.
    """
    title_end = head.find("\n")
    if title_end < 0:
        return found
    body = head[title_end:] + "\n" + tail
    strict = len(body.strip()) >= MIN_BODY_TO_CONFIRM or is_title_case(head[:title_end])
    kept = []
    for text, label, offset in found:
        name = clean_mention(text)
        must_confirm = strict or (name.isupper() and " " not in name)  # a stray "MOCKS" or "BREAKING"
        if offset > title_end or not must_confirm or _named_in(name, label, body):
            kept.append((text, label, offset))
    return kept


def retype_quoted(found: list[RawMention], head: str) -> list[RawMention]:
    """A name standing alone inside quotation marks is a title or a nickname (“Palmerah Cowboy”), not a
    person, place or organisation."""
    kept = []
    for text, label, offset in found:
        before, after = head[offset - 1 : offset], head[offset + len(text) : offset + len(text) + 1]
        if before and after and before in _OPEN_QUOTES and after in _CLOSE_QUOTES:
            label = "WORK_OF_ART"
        kept.append((text, label, offset))
    return kept


def _named_in(name: str, label: str, body: str) -> bool:
    """Whether the body names this mention (a person by their surname alone, as news style does)."""
    if not name:
        return False
    probe = name.split()[-1] if label == "PERSON" and " " in name else name
    return re.search(rf"(?<!\w){re.escape(probe)}(?!\w)", body) is not None


def is_title_case(title: str) -> bool:
    """Whether a title capitalises its longer words ("Soldier Loses His Temper in the Street")."""
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", title) if len(w) >= 4]
    return len(words) >= 2 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def complete_surnames(clusters: list[_Cluster], text: str) -> None:
    """Give a one-word person the full name the text writes out where the tagger missed it ("Blair" beside
    an untagged "the Jayson Blair scandal"), when exactly one such first name precedes it; titles
    ("President Bush") and common words ("The Blair government") are not first names."""
    # Deferred: importing spaCy costs about a second, and only NER-enriched articles get here.
    from spacy.lang.en.stop_words import STOP_WORDS

    for cluster in clusters:
        if cluster.type != "PERSON" or " " in cluster.name:
            continue
        pattern = rf"(?<![\w.])([A-Z][a-z]+) {re.escape(cluster.name)}(?!\w)"
        firsts = {
            m.group(1)
            for m in re.finditer(pattern, text)
            if m.group(1).lower() not in STOP_WORDS
            and m.group(1).lower() not in TITLES
            and m.group(1).lower() not in GENERIC_WORDS
            and not _starts_sentence(text, m.start())
        }
        if len(firsts) == 1:
            cluster.name = f"{firsts.pop()} {cluster.name}"
            cluster.surfaces.add(cluster.name)


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the word at `start` opens a sentence or a line (where any word is capitalised)."""
    before = text[:start].rstrip(" ")
    return not before or before[-1] in '.!?\n:"“'


def entities_from_mentions(
    mentions: list[list[RawMention]], texts: list[tuple[str, str]]
) -> list[list[Entity]]:
    """Resolve each document's NER mentions and count its entities again in the tail NER did not read."""
    results: list[list[Entity]] = []
    for found, (head, tail) in zip(mentions, texts, strict=True):
        found = retype_quoted(confirmed_in_body(found, head, tail), head)
        clusters = drop_common_phrases(resolve_mentions(found), f"{head}\n{tail}")
        complete_surnames(clusters, f"{head}\n{tail}")
        count_in_tail(clusters, tail)
        results.append(to_entities(clusters, head.split("\n", 1)[0], f"{head}\n{tail}"))
    return results
