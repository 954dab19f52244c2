"""FastAPI app factory: pages, API routers, health and metrics, and the start-up work."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tidings.config import Settings, get_settings
from tidings.secret import bind_engine, server_key
from tidings.store import open_engine
from tidings.store.tasks import ensure_queue_schema
from tidings.web import background, pages
from tidings.web.api.routes import install_api
from tidings.web.compat.routes import install_compat
from tidings.web.form_limits import FormBodyLimit
from tidings.web.headers import NoSniff
from tidings.web.ops import install_request_metrics
from tidings.web.ops import router as ops_router
from tidings.web.pages_common import install_page_handlers
from tidings.web.unavailable import install_unavailable_handler

log = logging.getLogger(__name__)
UI_DIR = Path(__file__).parent / "ui"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web app for settings (default: the environment's)."""
    cfg = settings or get_settings()
    engine = open_engine(cfg)
    if cfg.uses_task_queue:  # workers and web processes share the queue's tables
        ensure_queue_schema(engine)
    bind_engine(engine, server_key(cfg))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = background.start(engine, cfg, app.state.status)
        # The limiter belongs to this event loop, so it is set here rather than at import.
        to_thread.current_default_thread_limiter().total_tokens = cfg.web_threads
        yield
        worker.stop()

    app = FastAPI(title="Tidings", version="0.1.0", lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    app.state.settings = cfg
    app.state.engine = engine
    app.state.status = background.Status()
    app.mount("/static", StaticFiles(directory=UI_DIR / "static"), name="static")
    app.include_router(ops_router)
    app.include_router(pages.router)
    install_api(app)
    install_compat(app)
    install_page_handlers(app)
    install_unavailable_handler(app)
    app.add_middleware(FormBodyLimit)
    app.add_middleware(NoSniff)
    install_request_metrics(app)
    return app
