"""Operations endpoints: /healthz and Prometheus /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tidings.metrics import REQUEST_SECONDS
from tidings.store.engine import ping

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(request: Request) -> dict[str, object]:
    """Liveness and readiness: the database answers."""
    ping(request.app.state.engine)
    status = request.app.state.status
    return {
        "status": "ok",
        "seeding": status.seeding,
        "refreshing": status.refreshing,
        "pool_ready": status.pool_ready,
    }


def install_request_metrics(app: FastAPI) -> None:
    """Time every request into a histogram labelled by route template (not raw path: bounded cardinality)."""

    @app.middleware("http")
    async def _timed(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        try:
            return await call_next(request)
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(route=template, method=request.method).observe(
                time.perf_counter() - started
            )


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of the process metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
