"""Server-rendered pages (Jinja2): the home page, and the routers of every other page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from tidings.store import articles as article_repo
from tidings.store import sources as source_repo
from tidings.store import subscriptions as subscription_repo
from tidings.web import (
    account,
    images,
    pages_admin,
    pages_apps,
    pages_auth,
    pages_feed,
    pages_read,
    pages_settings,
    pages_state,
)
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import render, require_reader, templates
from tidings.web.session import current_web_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
PAGE_SIZE = 30
__all__ = ["router", "templates"]


def latest_context(request: Request, page: int) -> dict[str, object]:
    """The latest articles, and the failing feeds this reader may see (their own; every feed for admins)."""
    user = current_web_user(request)
    with request.app.state.engine.connect() as conn:
        items = article_repo.list_latest(conn, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        if user is None:
            rows = []
        elif user.is_admin:
            rows = source_repo.list_sources(conn)
        else:
            rows = subscription_repo.list_user_sources(conn, user.id)
        feeds = [source_repo.to_contract(r) for r in rows]
        prefs = account.display_prefs(conn, user.id if user else None)
    return {
        **prefs,
        "items": items,
        "page": page,
        "page_size": PAGE_SIZE,
        "failing": [f for f in feeds if f["error"]],
        "status": request.app.state.status,
    }


@router.get("/")
async def home(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """For you when signed in; otherwise sign-in (or, with public reading on, the latest articles)."""
    if current_web_user(request) is not None:
        return await pages_feed.for_you(request, min(page, pages_feed.MAX_PAGES))
    require_reader(request)
    context = await run_in_threadpool(latest_context, request, page)
    return render(request, "home.html", context)


@router.get("/latest")
def latest(request: Request, page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """The latest articles, newest first (for readers; for everyone with public reading on)."""
    require_reader(request)
    return render(request, "home.html", latest_context(request, page))


router.include_router(pages_auth.router)
router.include_router(pages_feed.router)
router.include_router(pages_read.router)
router.include_router(pages_settings.router)
router.include_router(pages_admin.router)
router.include_router(pages_state.router)
router.include_router(pages_apps.router)
router.include_router(images.router)
