"""Settings: feeds (add, OPML import and export, health), follows, mutes, feed controls, tokens, account."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from tidings.ingest.opml import OpmlError, OpmlFeed, export_opml, parse_opml
from tidings.ingest.urls import is_http_url
from tidings.pipeline.subscriptions import subscribe_url
from tidings.rank import UserControls
from tidings.store import subscriptions as subscription_repo
from tidings.store import tokens as token_repo
from tidings.store import users as user_repo
from tidings.web import account
from tidings.web.api.sources import FeedCapError, ensure_room, subscribe_feeds_for
from tidings.web.compat import keys
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import redirect, render, require_user
from tidings.web.session import LoginError, WebUser, check_credentials

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
MAX_OPML_UPLOAD = 2 * 1024 * 1024
CONTROL_RANGES = {
    "source_cap": (0.05, 1.0),
    "topic_cap": (0.05, 1.0),
    "mmr_lambda": (0.0, 1.0),
    "exploration_share": (0.0, 0.5),
}
ShortText = Annotated[str, Form(max_length=2048)]
PasswordField = Annotated[str, Form(max_length=1024)]


def settings_context(request: Request, user: WebUser) -> dict[str, Any]:
    """Everything the settings page shows for the reader."""
    with request.app.state.engine.connect() as conn:
        controls = user_repo.get_controls(conn, user.id)
        return {
            "sources": subscription_repo.user_sources_json(conn, user.id),
            "follows": user_repo.list_targets(conn, user.id, "follow"),
            "mutes": user_repo.list_targets(conn, user.id, "mute"),
            "tokens": [
                t for t in token_repo.list_tokens(conn, user.id) if t["name"] != token_repo.SESSION_TOKEN_NAME
            ],
            "controls": {k: controls.get(k, d) for k, d in control_defaults().items()},
            "display": account.display_prefs(conn, user.id),
            "new_token": None,
            "errors": {},
            "typed": {},  # what the reader typed into a form that came back with an error
            "here": "/settings",
        }


def apps_context(request: Request, user_id: int) -> dict[str, Any]:
    """The reader's live app passwords and Fever key, and the addresses apps connect to."""
    base = str(request.base_url).rstrip("/")
    return {
        "app_passwords": keys.list_app_passwords(request.app.state.engine, user_id),
        "reader_url": base,
        "fever_url": f"{base}/fever/",
        "new_app_password": None,
    }


def control_defaults() -> dict[str, float]:
    """The ranking stage's defaults for the diversity and exploration controls."""
    base = UserControls()
    return {k: float(getattr(base, k)) for k in CONTROL_RANGES}


def settings_page_with(request: Request, user: WebUser, status: int = 200, **extra: Any) -> Response:
    """The settings page with extra context (an error for one section, or a new token)."""
    context = settings_context(request, user)
    context.update(apps_context(request, user.id))
    context.update(extra)
    return render(request, "settings.html", context, status=status)


@router.get("/settings")
def settings_page(request: Request) -> Response:
    """The settings page."""
    return settings_page_with(request, require_user(request))


@router.post("/settings/sources")
def add_source(request: Request, url: ShortText) -> Response:
    """Subscribe to one feed URL."""
    user = require_user(request)
    url = url.strip()
    if not is_http_url(url):
        error = "That is not an http(s) feed URL, such as https://example.com/feed.xml."
        return settings_page_with(request, user, 422, errors={"sources": error}, typed={"url": url})
    engine, cap = request.app.state.engine, request.app.state.settings.max_feeds_per_user
    try:
        ensure_room(engine, user.id, [url], cap)
    except FeedCapError as exc:
        return settings_page_with(
            request,
            user,
            422,
            errors={"sources": f"{str(exc)[:1].upper()}{str(exc)[1:]}."},
            typed={"url": url},
        )
    source = subscribe_url(engine, url, shared_names=False)
    subscription_repo.link_sources(engine, user.id, [(int(source["id"]), None)])
    return redirect("/settings#sources", "feeds")


@router.post("/settings/opml")
async def import_opml(request: Request) -> Response:
    """Subscribe to every feed of an uploaded OPML file."""
    user = require_user(request)
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    data = await upload.read(MAX_OPML_UPLOAD + 1) if isinstance(upload, UploadFile) else b""
    try:
        if not data.strip():
            raise OpmlError("Choose an OPML file to import.")
        if len(data) > MAX_OPML_UPLOAD:
            raise OpmlError("The OPML file is larger than 2 MB.")
        feeds = [f for f in parse_opml(data) if is_http_url(f.url)]
    except OpmlError as exc:
        return settings_page_with(request, user, 422, errors={"opml": str(exc)})
    cap = request.app.state.settings.max_feeds_per_user
    try:
        await run_in_threadpool(subscribe_feeds_for, request.app.state.engine, user.id, feeds, cap)
    except FeedCapError as exc:
        return settings_page_with(
            request, user, 422, errors={"opml": f"{str(exc)[:1].upper()}{str(exc)[1:]}."}
        )
    return redirect("/settings#sources", "feeds")


@router.get("/settings/opml")
def download_opml(request: Request) -> Response:
    """The reader's subscriptions as an OPML download."""
    user = require_user(request)
    with request.app.state.engine.connect() as conn:
        rows = subscription_repo.list_user_sources(conn, user.id)
    feeds = [
        OpmlFeed(url=r["url"], title=r.get("title"), html_url=r.get("site_url"), category=r.get("category"))
        for r in rows
    ]
    headers = {"Content-Disposition": 'attachment; filename="tidings.opml"'}
    return Response(export_opml(feeds), media_type="text/x-opml", headers=headers)


ControlField = Annotated[str, Form(max_length=32)]


@router.post("/settings/display")
def save_display(request: Request, view: ControlField = "cards", images: ControlField = "") -> Response:
    """Save how lists look: cards or a compact, title-only list; pictures on or off."""
    user = require_user(request)
    changes = {"view": "compact" if view == "compact" else "cards", "images": images == "on"}
    account.save_controls(request.app.state.engine, user.id, changes)
    return redirect("/settings#display", "display")


@router.post("/settings/controls")
def save_diversity(
    request: Request,
    source_cap: ControlField = "",
    topic_cap: ControlField = "",
    mmr_lambda: ControlField = "",
    exploration_share: ControlField = "",
) -> Response:
    """Save the diversity and exploration controls; a bad value comes back beside its field, as typed."""
    user = require_user(request)
    typed = {
        "source_cap": source_cap,
        "topic_cap": topic_cap,
        "mmr_lambda": mmr_lambda,
        "exploration_share": exploration_share,
    }
    changes: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, raw in typed.items():
        low, high = CONTROL_RANGES[name]
        try:
            value = float(raw)
        except ValueError:
            errors[name] = f"Enter a number from {low:g} to {high:g}."
            continue
        if not low <= value <= high:
            errors[name] = f"Enter a number from {low:g} to {high:g}; {raw.strip()} is out of range."
            continue
        changes[name] = value
    if not errors:
        try:
            account.save_controls(request.app.state.engine, user.id, changes)
        except ValueError as exc:
            errors["controls"] = str(exc)
    if errors:
        return settings_page_with(request, user, 422, errors=errors, typed=typed)
    return redirect("/settings#controls", "controls")


@router.post("/settings/tokens")
def create_token(request: Request, name: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Create an API token and show it once."""
    user = require_user(request)
    with request.app.state.engine.begin() as conn:
        _, token = user_repo.create_token(conn, user.id, name.strip() or "token")
    return settings_page_with(request, user, new_token=token)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """Revoke one of the reader's API tokens."""
    user = require_user(request)
    with request.app.state.engine.begin() as conn:
        if not user_repo.revoke_token(conn, user.id, token_id):
            raise HTTPException(status_code=404, detail="No such live token.")
    return redirect("/settings#tokens", "token-revoked")


@router.post("/settings/password")
async def change_password(
    request: Request, current: PasswordField, new: PasswordField, confirm: PasswordField
) -> Response:
    """Change the password after checking the current one."""
    user = require_user(request)
    error = await run_in_threadpool(password_error, request, user, current, new, confirm)
    if error:
        return settings_page_with(request, user, 400, errors={"password": error})
    return redirect("/settings#password", "password")


def password_error(request: Request, user: WebUser, current: str, new: str, confirm: str) -> str | None:
    """Check and apply a password change; the error to show, or None when it is done."""
    if new != confirm:
        return "The new passwords differ."
    client = request.client.host if request.client else "?"
    try:
        check_credentials(request.app.state.engine, user.name, current, client)
        account.change_password(request.app.state.engine, user.id, new, user.token_id, user.name)
    except LoginError as exc:
        return "The current password is wrong." if exc.status == 401 else str(exc)
    except ValueError as exc:
        return f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    return None


@router.get("/settings/export")
def export_my_data(request: Request) -> Response:
    """Everything stored about the reader, as a JSON download."""
    user = require_user(request)
    data = account.export_data(request.app.state.engine, user.id)
    headers = {"Content-Disposition": f'attachment; filename="tidings-{user.id}.json"'}
    return Response(json.dumps(data, indent=2, default=str), media_type="application/json", headers=headers)


@router.post("/settings/delete")
async def delete_me(request: Request, password: PasswordField) -> Response:
    """Delete the account and all its data, after checking the password."""
    user = require_user(request)
    client = request.client.host if request.client else "?"
    try:
        await run_in_threadpool(check_credentials, request.app.state.engine, user.name, password, client)
    except LoginError:
        return settings_page_with(request, user, 400, errors={"delete": "The password is wrong."})
    await run_in_threadpool(account.delete_account, request.app.state.engine, user.id)
    response = redirect("/", "signed-out")
    response.delete_cookie("tidings_session", path="/")
    return response
