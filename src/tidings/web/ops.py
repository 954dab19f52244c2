"""Operations endpoints: /healthz and Prometheus /metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

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
    app.add_middleware(RequestTimer)


class RequestTimer:
    """Pure ASGI middleware timing each HTTP request (starlette's BaseHTTPMiddleware costs a task group and
    a memory stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; record its duration under the route the router matched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")  # the router sets it on the scope
            REQUEST_SECONDS.labels(route=template, method=scope["method"]).observe(
                time.perf_counter() - started
            )


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of the process metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
