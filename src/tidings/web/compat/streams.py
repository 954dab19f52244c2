"""Google Reader stream and item identifiers: parsing and formatting (pure functions, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tidings.digits import ascii_int
from tidings.ingest.urls import canonicalize_url
from tidings.store.streams import Selection
from tidings.store.subscriptions import FeedRef

READING_LIST = "user/-/state/com.google/reading-list"
STARRED = "user/-/state/com.google/starred"
READ = "user/-/state/com.google/read"
KEPT_UNREAD = "user/-/state/com.google/kept-unread"
LABEL_PREFIX = "user/-/label/"
FOR_YOU_LABEL = "For you"
FOR_YOU = LABEL_PREFIX + FOR_YOU_LABEL
ITEM_PREFIX = "tag:google.com,2005:reader/item/"
MAX_ITEM_ID = 2**63 - 1
_USER_PART = re.compile(r"^user/[^/]+/")


@dataclass(frozen=True)
class Stream:
    """A parsed stream id: kind is reading-list, starred, read, feed, label or for-you; value its argument."""

    kind: str
    value: str = ""


def is_small_id(text: str) -> bool:
    """True for 1-18 ASCII digits (a row id that fits a 64-bit integer column)."""
    return ascii_int(text) is not None


def feed_ref(feed: str) -> FeedRef:
    """The feed a stream or subscription id names: a row id, else a feed URL as given or canonicalised."""
    if is_small_id(feed):
        return FeedRef(source_id=int(feed))
    return FeedRef(urls=frozenset({feed, canonicalize_url(feed)}))


def selection(stream: Stream) -> Selection:
    """What the store selects for a parsed stream."""
    if stream.kind == "label":
        return Selection(stream.kind, label=stream.value)
    if stream.kind == "feed":
        return Selection(stream.kind, feed=feed_ref(stream.value))
    return Selection(stream.kind)


def normalise_stream_id(stream_id: str) -> str:
    """The stream id with any explicit user part (`user/1005/...`) written as `user/-/`."""
    return _USER_PART.sub("user/-/", stream_id.strip(), count=1)


def parse_stream(stream_id: str) -> Stream:
    """Parse a stream id; raises ValueError for ids this server does not serve."""
    sid = normalise_stream_id(stream_id)
    if sid in ("", READING_LIST):
        return Stream("reading-list")
    if sid == STARRED:
        return Stream("starred")
    if sid == READ:
        return Stream("read")
    if sid == FOR_YOU:
        return Stream("for-you")
    if sid.startswith(LABEL_PREFIX) and len(sid) > len(LABEL_PREFIX):
        return Stream("label", sid[len(LABEL_PREFIX) :])
    if sid.startswith("feed/") and len(sid) > len("feed/"):
        feed = sid[len("feed/") :]
        if re.fullmatch(r"[0-9]+", feed) and not is_small_id(feed):
            raise ValueError(f"feed id out of range: {feed[:40]!r}")
        return Stream("feed", feed)
    raise ValueError(f"unknown stream id {stream_id[:200]!r}")


def format_item_id(article_id: int) -> str:
    """The long form of an item id: `tag:google.com,2005:reader/item/<16 hex digits>`."""
    return f"{ITEM_PREFIX}{article_id:016x}"


def parse_item_id(raw: str) -> int:
    """An article id from a long-form (hex) or short-form (decimal) item id; raises ValueError."""
    text = raw.strip()
    if text.startswith(ITEM_PREFIX) and re.fullmatch(r"[0-9a-fA-F]{1,16}", text[len(ITEM_PREFIX) :]):
        value = int(text[len(ITEM_PREFIX) :], 16)
    elif re.fullmatch(r"[0-9]{1,19}", text):
        value = int(text)
    else:
        raise ValueError(f"not an item id: {raw[:100]!r}")
    if not 0 < value <= MAX_ITEM_ID:
        raise ValueError(f"item id out of range: {raw[:100]!r}")
    return value


def parse_item_ids(raws: list[str]) -> list[int]:
    """Article ids of every parseable item id, in order and without repeats (unparseable ones are skipped)."""
    out: dict[int, None] = {}
    for raw in raws:
        try:
            out[parse_item_id(raw)] = None
        except ValueError:
            continue
    return list(out)


def parse_epoch(raw: str | None) -> datetime | None:
    """A time from seconds, milliseconds or microseconds since the epoch (by magnitude); None when absent."""
    if raw is None or not raw.strip():
        return None
    value = int(raw.strip())
    if value < 0:
        raise ValueError("negative timestamp")
    if value >= 10**14:
        seconds = value / 1_000_000
    elif value >= 10**11:
        seconds = value / 1000
    else:
        seconds = float(value)
    return datetime.fromtimestamp(min(seconds, 253402300799.0), UTC)


def label_id(name: str) -> str:
    """The stream id of a label (folder) name."""
    return LABEL_PREFIX + name
