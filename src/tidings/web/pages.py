"""Server-rendered pages (Jinja2): latest articles and the article view."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tidings.store import articles as article_repo
from tidings.store import sources as source_repo

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "ui" / "templates")
PAGE_SIZE = 30


@router.get("/", response_class=HTMLResponse)
def home(request: Request, page: int = 1) -> HTMLResponse:
    """The latest articles, newest first, with feed errors when there are any."""
    page = max(1, min(page, 10_000))
    with request.app.state.engine.connect() as conn:
        items = article_repo.list_latest(conn, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        feeds = [source_repo.to_contract(r) for r in source_repo.list_sources(conn)]
    failing = [f for f in feeds if f["error"]]
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "items": items,
            "page": page,
            "page_size": PAGE_SIZE,
            "failing": failing,
            "feeds": feeds,
            "status": request.app.state.status,
        },
    )


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: int) -> HTMLResponse:
    """One article: clean text, captions, related links and enrichment."""
    with request.app.state.engine.connect() as conn:
        row = article_repo.get_article(conn, article_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such article")
    return templates.TemplateResponse(
        request, "article.html", {"a": article_repo.to_contract(row), "html": row["html"]}
    )
