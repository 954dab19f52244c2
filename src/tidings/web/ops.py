"""Operations endpoints: /healthz and Prometheus /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(request: Request) -> dict[str, object]:
    """Liveness and readiness: the database answers."""
    with request.app.state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    status = request.app.state.status
    return {"status": "ok", "seeding": status.seeding, "refreshing": status.refreshing}


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of the process metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
