"""The Google Reader API as FreshRSS and Miniflux serve it: ClientLogin, tokens, streams, edit-tag.

Subscriptions, folders and unread counts are in greader_subs. Extra: the stream `user/-/label/For you`
holds Tidings' ranked, story-deduplicated feed in ranked order.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tidings.ingest.urls import safe_http_url
from tidings.service import reading
from tidings.store import streams as stream_repo
from tidings.store.streams import Window
from tidings.store.util import utcnow
from tidings.web.compat import keys
from tidings.web.compat.common import (
    FailureLimiter,
    Params,
    client_key,
    epoch_micros,
    epoch_seconds,
    item_author,
    item_html,
    item_title,
    ranked_ids,
    read_params,
    website_of,
)
from tidings.web.compat.greader_auth import (
    Call,
    answer_edit,
    answer_json,
    authorise,
    bad_request,
)
from tidings.web.compat.streams import (
    KEPT_UNREAD,
    READ,
    READING_LIST,
    STARRED,
    Stream,
    format_item_id,
    is_small_id,
    label_id,
    normalise_stream_id,
    parse_epoch,
    parse_item_ids,
    parse_stream,
    selection,
)
from tidings.web.logins import LoginError

PREFIX = "/reader/api/0"
MAX_IDS = 10_000
MAX_CONTENTS = 1000
MAX_EDIT_IDS = 10_000
LOGIN_FAILURES = FailureLimiter(limit=10, window=300.0)
router = APIRouter(include_in_schema=False)


# --- login and account ------------------------------------------------------------------------------


@router.api_route("/accounts/ClientLogin", methods=["GET", "POST"])
async def client_login(request: Request) -> Response:
    """Email + Passwd -> SID/LSID/Auth lines; the Auth value is a new API token named "greader"."""
    params = await read_params(request)
    if "Passwd" in request.query_params:
        # URLs end up in access logs, proxies and browser history: the password belongs in a POST body.
        return PlainTextResponse("Error=BadAuthentication\nInfo=PasswordInURL\n", status_code=400)
    who = client_key(request)
    if LOGIN_FAILURES.is_blocked(who):
        return too_many_attempts()
    try:
        _, token = await run_in_threadpool(
            keys.login, request.app.state.engine, params.get("Email") or "", params.get("Passwd") or "", who
        )
    except LoginError as exc:
        if exc.status == 429:
            return too_many_attempts()
        LOGIN_FAILURES.record_failure(who)
        return PlainTextResponse("Error=BadAuthentication\n", status_code=401)
    return PlainTextResponse(f"SID={token}\nLSID=null\nAuth={token}\n")


def too_many_attempts() -> Response:
    """The 429 answer of a throttled ClientLogin."""
    return PlainTextResponse("Error=TooManyAttempts\n", status_code=429, headers={"Retry-After": "300"})


@router.get(PREFIX + "/token")
async def get_token(request: Request) -> Response:
    """The action token T that edits must carry (valid as long as the login token)."""
    call = await authorise(request)
    return PlainTextResponse(keys.edit_token(call.token_hash) + "\n")


@router.get(PREFIX + "/user-info")
async def user_info(request: Request) -> Response:
    """Who is signed in."""
    call = await authorise(request)
    uid = str(call.user_id)
    return JSONResponse({"userId": uid, "userName": call.name, "userProfileId": uid, "userEmail": call.name})


# --- streams ----------------------------------------------------------------------------------------


def window_from(params: Params) -> Window:
    """The filters of a stream request: xt (exclude), it (include), r=o, ot and nt."""
    try:
        return Window(
            unread_only=READ in [normalise_stream_id(x) for x in params.getlist("xt")],
            starred_only=STARRED in [normalise_stream_id(x) for x in params.getlist("it")],
            newer_than=parse_epoch(params.get("ot")),
            older_than=parse_epoch(params.get("nt")),
            oldest_first=params.get("r") == "o",
        )
    except ValueError:
        raise bad_request("ot and nt are times in seconds since the epoch") from None


def page_of(params: Params, maximum: int) -> tuple[int, str]:
    """(n, continuation) of a paged request."""
    try:
        n = params.get_int("n", 20, 1, maximum)
    except ValueError:
        raise bad_request("n is an integer") from None
    return n, (params.get("c") or "").strip()


def parse_cursor(raw: str) -> tuple[int, int] | None:
    """The (time in microseconds, item id) after which a page starts; None for the first page, 400 if bad.

    An item-based cursor: new arrivals between two pages neither repeat nor skip items."""
    if not raw:
        return None
    micros, _, item = raw.partition("-")
    if not (is_small_id(micros) and is_small_id(item)):
        raise bad_request("c is a continuation this server gave (it may be stale)")
    return int(micros), int(item)


def parsed_stream(raw: str | None) -> Stream:
    """The stream of a request, or 400."""
    try:
        return parse_stream(raw or READING_LIST)
    except ValueError as exc:
        raise bad_request(str(exc)) from None


def stream_page(call: Call, stream: Stream, maximum: int) -> tuple[list[int], str | None]:
    """One page of a stream's article ids and the continuation for the next (None at the end)."""
    window = window_from(call.params)
    n, raw = page_of(call.params, maximum)
    if stream.kind == "for-you":
        return ranked_page(call, window, n, raw)
    after = parse_cursor(raw)
    with call.engine.connect() as conn:
        rows = stream_repo.list_stream_page(conn, call.user_id, selection(stream), window, n + 1, after)
    if len(rows) <= n:
        return [i for i, _ in rows], None
    last_id, last_time = rows[n - 1]
    return [i for i, _ in rows[:n]], f"{epoch_micros(last_time)}-{last_id}"


def ranked_page(call: Call, window: Window, n: int, raw: str) -> tuple[list[int], str | None]:
    """A page of the ranked For you stream; its cursor is the last item shown ("r<id>"), in ranked order."""
    ranked = ranked_ids(call.engine, call.settings, call.user_id, call.name)
    with call.engine.connect() as conn:
        ids = stream_repo.filter_ids(conn, call.user_id, ranked, window)
    start = 0
    if raw:
        last = raw.removeprefix("r")
        if not (raw.startswith("r") and is_small_id(last)) or int(last) not in ids:
            raise bad_request("c is a continuation this server gave (it may be stale)")
        start = ids.index(int(last)) + 1
    page = ids[start : start + n]
    return page, f"r{page[-1]}" if len(ids) > start + n and page else None


def item_json(row: dict[str, Any]) -> dict[str, Any]:
    """One article as a Google Reader item."""
    categories = [READING_LIST]
    if row.get("category"):
        categories.append(label_id(str(row["category"])))
    if row["is_read"]:
        categories.append(READ)
    if row["is_starred"]:
        categories.append(STARRED)
    url = safe_http_url(row.get("url")) or ""
    published = epoch_seconds(row["sort_time"])
    return {
        "id": format_item_id(int(row["id"])),
        "crawlTimeMsec": str(epoch_micros(row["ingested_at"]) // 1000),
        "timestampUsec": str(epoch_micros(row["sort_time"])),
        "published": published,
        "updated": published,
        "title": item_title(row),
        "author": item_author(row),
        "canonical": [{"href": url}],
        "alternate": [{"href": url, "type": "text/html"}],
        "categories": categories,
        "origin": {
            "streamId": f"feed/{row['source_id']}",
            "title": row.get("feed_title") or row.get("source") or "",
            "htmlUrl": website_of({"site_url": row.get("site_url"), "url": row.get("feed_url")}),
        },
        "summary": {"direction": "ltr", "content": item_html(row)},
    }


def contents_json(call: Call, stream_id: str, ids: list[int], continuation: str | None) -> dict[str, Any]:
    """The stream-contents document for ids."""
    with call.engine.connect() as conn:
        rows = stream_repo.load_items(conn, call.user_id, ids)
    title = stream_id.rsplit("/", 1)[-1] if stream_id else "reading-list"
    doc: dict[str, Any] = {
        "direction": "ltr",
        "id": stream_id,
        "title": title,
        "self": [{"href": ""}],
        "updated": int(utcnow().timestamp()),
        "items": [item_json(r) for r in rows],
    }
    if continuation:
        doc["continuation"] = continuation
    return doc


def stream_contents_json(call: Call, stream_id: str) -> dict[str, Any]:
    """A page of a stream's items."""
    ids, continuation = stream_page(call, parsed_stream(stream_id), MAX_CONTENTS)
    return contents_json(call, stream_id or READING_LIST, ids, continuation)


@router.api_route(PREFIX + "/stream/contents", methods=["GET", "POST"])
async def stream_contents_query(request: Request) -> Response:
    """Stream contents with the stream in `s`."""
    call = await authorise(request)
    stream_id = call.params.get("s") or READING_LIST
    return JSONResponse(await run_in_threadpool(stream_contents_json, call, stream_id))


@router.api_route(PREFIX + "/stream/contents/{stream_id:path}", methods=["GET", "POST"])
async def stream_contents(request: Request, stream_id: str) -> Response:
    """Stream contents with the stream in the path."""
    call = await authorise(request)
    return JSONResponse(await run_in_threadpool(stream_contents_json, call, stream_id))


def item_ids_json(call: Call) -> dict[str, Any]:
    """A page of a stream's item ids (short decimal form)."""
    ids, continuation = stream_page(call, parsed_stream(call.params.get("s")), MAX_IDS)
    doc: dict[str, Any] = {"itemRefs": [{"id": str(i), "directStreamIds": []} for i in ids]}
    if continuation:
        doc["continuation"] = continuation
    return doc


@router.get(PREFIX + "/stream/items/ids")
async def stream_item_ids(request: Request) -> Response:
    """Item ids of a stream."""
    return await answer_json(request, item_ids_json)


def requested_ids(call: Call) -> list[int]:
    """The article ids of the request's `i` fields (at most MAX_EDIT_IDS)."""
    return parse_item_ids(call.params.getlist("i")[:MAX_EDIT_IDS])


@router.api_route(PREFIX + "/stream/items/contents", methods=["GET", "POST"])
async def stream_item_contents(request: Request) -> Response:
    """The items named by `i` (long or short ids), in the order asked."""
    call = await authorise(request)
    ids = requested_ids(call)[:MAX_CONTENTS]
    return JSONResponse(await run_in_threadpool(contents_json, call, READING_LIST, ids, None))


# --- edits ------------------------------------------------------------------------------------------

STATE_EDITS = {READ: ("is_read", True), KEPT_UNREAD: ("is_read", False), STARRED: ("is_starred", True)}


def edits_of(params: Params) -> list[tuple[str, bool]]:
    """The (field, value) changes of an edit-tag request's a= and r= fields (labels are ignored)."""
    changes = []
    for tag in params.getlist("a"):
        if (edit := STATE_EDITS.get(normalise_stream_id(tag))) is not None:
            changes.append(edit)
    for tag in params.getlist("r"):
        edit = STATE_EDITS.get(normalise_stream_id(tag))
        if edit is not None and normalise_stream_id(tag) != KEPT_UNREAD:
            changes.append((edit[0], not edit[1]))
    return changes


def apply_edits(call: Call) -> None:
    """Apply edit-tag to the user's own articles; each read or star is a reading signal, as in the web."""
    ids = requested_ids(call)
    changes = edits_of(call.params)
    if not ids:
        raise bad_request("edit-tag needs at least one item id in i")
    with call.engine.connect() as conn:
        mine = stream_repo.filter_ids(conn, call.user_id, ids, Window())
    if not mine:
        raise bad_request("no such item")
    for field, value in changes:
        reading.mark(call.engine, call.settings, call.user_id, mine, stream_repo.STATE_NAMES[field], value)


@router.post(PREFIX + "/edit-tag")
async def edit_tag(request: Request) -> Response:
    """Mark items read/unread and starred/unstarred."""
    return await answer_edit(request, apply_edits)


def mark_all(call: Call) -> None:
    """Mark a stream read up to the `ts` time."""
    stream = parsed_stream(call.params.get("s"))
    try:
        before = parse_epoch(call.params.get("ts"))
    except ValueError:
        raise bad_request("ts is a time since the epoch") from None
    if stream.kind == "for-you":
        ranked = ranked_ids(call.engine, call.settings, call.user_id, call.name)
        with call.engine.connect() as conn:
            ids = stream_repo.filter_ids(conn, call.user_id, ranked, Window(older_than=before))
    else:
        with call.engine.connect() as conn:
            ids = stream_repo.stream_unread_ids(conn, call.user_id, selection(stream), before)
    # One bulk state change: skimming past a stream is not a read of each item.
    reading.mark(call.engine, call.settings, call.user_id, ids, "read", True, bulk=True)


@router.post(PREFIX + "/mark-all-as-read")
async def mark_all_as_read(request: Request) -> Response:
    """Mark a whole stream read."""
    return await answer_edit(request, mark_all)
