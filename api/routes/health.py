"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api import problems
from api.deps import ContextDep
from api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
def health() -> dict[str, str]:
    """The process is up (no database is asked)."""
    return {"status": "ok"}


@router.get("/ready", response_model=HealthOut, responses=problems.responses(503))
def ready(context: ContextDep) -> dict[str, str]:
    """The event store and the read models both answer: ready for traffic."""
    try:
        # The read models first: their pool fails at once when the database is away, while the
        # event store's own calls retry for a while before they give up.
        with context.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        context.service.recorder.max_notification_id()
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        raise problems.unavailable(f"not ready: {type(error).__name__}") from None
    return {"status": "ready"}
