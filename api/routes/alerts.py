"""Acknowledging alerts: a supervisor silences a case's alerts in Alertmanager for a while.

Alertmanager already knows how to acknowledge — a silence — so the API makes one, limited to
one case (and optionally one clock) of the caller's subtree, and names the caller as its author.
The silence client comes from the composition root (`app.state.silences`); without an
Alertmanager configured the routes answer 503 (after the role and scope checks, so that a caller
who may not acknowledge learns that first).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from api import problems
from api.auth import Principal, Role
from api.case_points import current_service_point
from api.context import ApiContext
from api.deps import ContextDep, CurrentUser
from api.problems import Problem
from api.schemas import iso

router = APIRouter(prefix="/alerts", tags=["alerts"])

ACKNOWLEDGING_ROLES = frozenset({Role.supervisor, Role.leadership})
CASE_ID = r"^[A-Za-z0-9._-]{1,64}$"
Clock = Literal["onsite", "review", "assignment", "first_meeting", "follow_up"]


class Silences(Protocol):
    def create_silence(self, matchers: dict[str, str], ends_at: datetime, created_by: str,
                       comment: str, starts_at: datetime | None = None) -> str: ...
    def silence(self, silence_id: str) -> dict[str, Any]: ...
    def expire_silence(self, silence_id: str) -> None: ...


def get_silences(request: Request) -> Silences:
    silences: Silences | None = getattr(request.app.state, "silences", None)
    if silences is None:
        raise Problem(503, "alerting_not_configured", "no Alertmanager is configured "
                      "(SIXHOURS_ALERTMANAGER_URL): alerts cannot be acknowledged here")
    return silences


class AcknowledgementIn(BaseModel):
    case_id: str = Field(pattern=CASE_ID, examples=["BS-2026-000045"])
    clock: Clock | None = Field(None, description="only this clock's alerts; default: all")
    minutes: int = Field(240, ge=1, le=7 * 24 * 60, description="how long to stay quiet")
    comment: str = Field("", max_length=500, description="what is being done about it")


class AcknowledgementOut(BaseModel):
    silence_id: str
    case_id: str
    clock: str | None
    ends_at: str
    created_by: str


def _require_acknowledger(principal: Principal) -> None:
    if principal.role not in ACKNOWLEDGING_ROLES:
        raise Problem(403, "role_not_allowed", f"role {principal.role} may not acknowledge alerts",
                      role=principal.role, action="acknowledge")


def _require_case_in_scope(context: ApiContext, principal: Principal, case_id: str) -> None:
    steps = context.service.history(case_id, unseal=False)
    allowed = principal.scope(context.network.subtree)
    # Outside the subtree answers like an unknown case: a token learns nothing of other cases.
    if not steps or (allowed is not None and current_service_point(steps) not in allowed):
        raise Problem(404, "case_not_found", f"case {case_id} has no recorded events",
                      case_id=case_id)


def _unavailable(error: Exception) -> Problem:
    return Problem(503, "alertmanager_unavailable", f"Alertmanager did not answer: {error}",
                   headers={"Retry-After": str(problems.RETRY_AFTER_SECONDS)})


@router.post("/acknowledgements", response_model=AcknowledgementOut, status_code=201,
             responses=problems.responses(401, 403, 404, 422, 503))
def acknowledge(request: Request, context: ContextDep, principal: CurrentUser,
                wanted: AcknowledgementIn) -> dict[str, Any]:
    """Acknowledge a case's alerts: silence them in Alertmanager for a while (supervisors)."""
    _require_acknowledger(principal)
    _require_case_in_scope(context, principal, wanted.case_id)
    silences = get_silences(request)
    matchers = {"source": "sixhours", "case_id": wanted.case_id}
    if wanted.clock is not None:
        matchers["clock"] = wanted.clock
    now = context.clock()
    ends = now + timedelta(minutes=wanted.minutes)
    comment = f"已知悉 acknowledged by {principal.subject}" + (
        f": {wanted.comment}" if wanted.comment else "")
    try:
        silence_id = silences.create_silence(matchers, ends, principal.subject, comment, now)
    except (RuntimeError, OSError) as error:
        raise _unavailable(error) from None
    return {"silence_id": silence_id, "case_id": wanted.case_id, "clock": wanted.clock,
            "ends_at": iso(ends, context.tz), "created_by": principal.subject}


@router.delete("/acknowledgements/{silence_id}", status_code=204,
               responses=problems.responses(401, 403, 404, 422, 503))
def withdraw_acknowledgement(
        request: Request, context: ContextDep, principal: CurrentUser,
        silence_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{1,64}$")]) -> Response:
    """Withdraw an acknowledgement: the case's alerts notify again."""
    _require_acknowledger(principal)
    silences = get_silences(request)
    try:
        found = silences.silence(silence_id)
    except (RuntimeError, OSError):
        found = {}
    matchers = {m.get("name"): m.get("value") for m in found.get("matchers", [])}
    case_id = matchers.get("case_id")
    if matchers.get("source") != "sixhours" or not case_id:
        raise Problem(404, "acknowledgement_not_found", f"no acknowledgement {silence_id}")
    _require_case_in_scope(context, principal, case_id)
    try:
        silences.expire_silence(silence_id)
    except (RuntimeError, OSError) as error:
        raise _unavailable(error) from None
    return Response(status_code=204)
