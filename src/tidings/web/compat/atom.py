"""Google Reader's Atom streams (`/reader/atom/<stream id>`), which newsboat's `feedhq` backend reads.

Each entry carries the Reader item id and the user's state as `<category>` terms (read, starred), so an
app that reloads sees what was read or saved in the web app or another app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from tidings.digits import ascii_int
from tidings.store import streams as stream_repo
from tidings.store import subscriptions as subscription_repo
from tidings.web.compat.common import item_html
from tidings.web.compat.greader import MAX_CONTENTS, item_json, stream_page
from tidings.web.compat.greader_auth import Call, authorise, bad_request
from tidings.web.compat.streams import READING_LIST, Stream, feed_ref, normalise_stream_id, parse_stream

ATOM = "http://www.w3.org/2005/Atom"
GR = "http://www.google.com/schemas/reader/atom/"
SCHEME = "http://www.google.com/reader/"
# Google's shared-items streams: we have no sharing, so they are empty rather than unknown.
EMPTY_STREAMS = ("user/-/state/com.google/broadcast", "user/-/state/com.google/broadcast-friends")
router = APIRouter(include_in_schema=False)
ET.register_namespace("", ATOM)
ET.register_namespace("gr", GR)


def rfc3339(seconds: int) -> str:
    """An Atom date from seconds since the epoch."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append an Atom child element."""
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def entry(feed: ET.Element, row: dict[str, Any]) -> None:
    """One article as an Atom entry in Google Reader's form."""
    item = item_json(row)
    node = sub(feed, "entry", **{f"{{{GR}}}crawl-timestamp-msec": item["crawlTimeMsec"]})
    sub(node, "id", item["id"], **{f"{{{GR}}}original-id": row.get("url") or ""})
    for term in item["categories"]:
        sub(node, "category", term=term, scheme=SCHEME, label=term.rsplit("/", 1)[-1])
    # Plain text: the title is not markup, so no entity is escaped twice.
    sub(node, "title", row.get("title") or "", type="text")
    sub(node, "published", rfc3339(item["published"]))
    sub(node, "updated", rfc3339(item["updated"]))
    if row.get("url"):
        sub(node, "link", rel="alternate", href=str(row["url"]), type="text/html")
    sub(node, "content", item_html(row), type="html")
    if row.get("byline"):
        sub(sub(node, "author"), "name", str(row["byline"]))
    source = sub(node, "source", **{f"{{{GR}}}stream-id": item["origin"]["streamId"]})
    sub(source, "id", f"tag:google.com,2005:reader/{item['origin']['streamId']}")
    sub(source, "title", item["origin"]["title"], type="text")
    if item["origin"]["htmlUrl"]:
        sub(source, "link", rel="alternate", href=item["origin"]["htmlUrl"], type="text/html")


def stream_title(call: Call, stream: Stream) -> tuple[str, str]:
    """The title and website of a stream (a feed's own, else the stream's name)."""
    if stream.kind == "feed":
        with call.engine.connect() as conn:
            source_id = subscription_repo.subscribed_source_id(conn, call.user_id, feed_ref(stream.value))
            subs = {int(s["id"]): s for s in stream_repo.app_sources(conn, call.user_id)}
        if source_id is None:
            source_id = ascii_int(stream.value)
        found = subs.get(source_id) if source_id is not None else None
        if found:
            return str(found.get("title") or found["url"]), str(found.get("site_url") or "")
    return stream.value or stream.kind, ""


def atom_document(call: Call, stream_id: str) -> bytes:
    """The Atom document of one page of a stream."""
    sid = normalise_stream_id(stream_id) or READING_LIST
    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", f"tag:google.com,2005:reader/{sid}")
    sub(feed, "generator", "Tidings", uri="https://github.com/tidings")
    if sid in EMPTY_STREAMS:
        sub(feed, "title", sid.rsplit("/", 1)[-1], type="text")
        return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    try:
        stream = parse_stream(sid)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    title, site = stream_title(call, stream)
    sub(feed, "title", title, type="text")
    if site:
        sub(feed, "link", rel="alternate", href=site, type="text/html")
    sub(feed, "updated", rfc3339(int(datetime.now(UTC).timestamp())))
    ids, continuation = stream_page(call, stream, MAX_CONTENTS)
    if continuation:
        ET.SubElement(feed, f"{{{GR}}}continuation").text = continuation
    with call.engine.connect() as conn:
        rows = stream_repo.load_items(conn, call.user_id, ids)
    for row in rows:
        entry(feed, row)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@router.get("/reader/atom/{stream_id:path}")
async def atom_stream(request: Request, stream_id: str) -> Response:
    """A stream as Atom (feed/<id or URL>, user/-/label/<folder>, user/-/state/com.google/<state>)."""
    call = await authorise(request)
    body = await run_in_threadpool(atom_document, call, stream_id)
    return Response(body, media_type="application/atom+xml; charset=utf-8")
