"""The admin page: every account and every shared feed, with account removal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response

from tidings.service.users import create_invite
from tidings.store import invites as invite_repo
from tidings.store import sources as source_repo
from tidings.store import tasks as task_repo
from tidings.store import users as user_repo
from tidings.store.util import iso
from tidings.web import account
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import redirect, render, require_user
from tidings.web.session import WebUser

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])


def require_admin(request: Request) -> WebUser:
    """The signed-in admin; 403 for other readers."""
    user = require_user(request)
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only admins can open this page.")
    return user


def admin_context(request: Request) -> dict[str, Any]:
    """Accounts, feeds, invites and the sign-up policy."""
    with request.app.state.engine.connect() as conn:
        accounts = [{**r, "created_at": iso(r["created_at"])} for r in user_repo.list_accounts(conn)]
        feeds = [source_repo.to_contract(r) for r in source_repo.list_sources(conn)]
        invites = invite_repo.list_invites(conn)
        failed_tasks = task_repo.failed_jobs(conn)
    policy = request.app.state.settings.signup_policy
    return {
        "accounts": accounts,
        "feeds": feeds,
        "invites": invites,
        "policy": policy,
        "new_invite": None,
        "failed_tasks": failed_tasks,
    }


@router.get("/admin")
def admin_page(request: Request) -> Response:
    """Accounts, feeds and invites, for admins."""
    require_admin(request)
    return render(request, "admin.html", admin_context(request))


@router.post("/admin/invites")
def new_invite(request: Request) -> Response:
    """Create a single-use sign-up invite and show its code and link once."""
    admin = require_admin(request)
    code = create_invite(request.app.state.engine, admin.id, request.app.state.settings.invite_days)
    context = admin_context(request)
    context["new_invite"] = {"code": code, "link": f"{request.base_url}signup?invite={code}"}
    return render(request, "admin.html", context)


@router.post("/admin/users/{user_id}/delete")
def delete_user(request: Request, user_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """Delete another account and its data (admins cannot delete themselves here)."""
    admin = require_admin(request)
    if user_id == admin.id:
        raise HTTPException(status_code=422, detail="Delete your own account from Settings.")
    with request.app.state.engine.connect() as conn:
        exists = user_repo.get_user(conn, user_id)
    if not exists:
        raise HTTPException(status_code=404, detail="No such account.")
    account.delete_account(request.app.state.engine, user_id)
    return redirect("/admin", "deleted")


@router.post("/admin/feeds/{source_id}/delete")
def delete_feed(request: Request, source_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """Delete a shared feed: it is no longer fetched and every subscription to it ends."""
    require_admin(request)
    with request.app.state.engine.begin() as conn:
        if not source_repo.delete_source(conn, source_id):
            raise HTTPException(status_code=404, detail="No such feed.")
    return redirect("/admin", "feed-deleted")
