"""One case: its clocks now or at a time, its full history, and a replay as known at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api import problems
from api.auth import Action, Principal
from api.case_points import current_service_point
from api.context import ApiContext
from api.deps import ContextDep, CurrentUser, PageDep
from api.problems import Problem
from api.schemas import CaseViewOut, HistoryOut, ReplayOut, iso
from domain.events import OrderedHistory, Step
from domain.policy import Policy
from projections.case_view import case_view
from projections.personal_data_reads import PersonalDataRead, log_read

router = APIRouter(prefix="/cases", tags=["cases"])

CaseId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="the case id")]
AsOf = Annotated[datetime | None, Query(description="evaluation time with offset; default now")]
PolicyName = Annotated[str | None, Query(description="six-hours (default), statutory, ...")]
PersonalData = Annotated[bool, Query(description="include applicant data (needs the pii grant; "
                                                 "every such read is logged)")]
READ_ERRORS = problems.responses(401, 403, 404, 422, 503)


def load_case(context: ApiContext, principal: Principal, case_id: str, action: Action,
              personal_data: bool, what: str) -> list[Step]:
    """The case's stored steps, if this principal may read them (and its personal data)."""
    principal.require(action)
    if personal_data:
        principal.require_personal_data()
    steps = context.service.history(case_id, unseal=False)
    allowed = principal.scope(context.network.subtree)
    # A case outside the token's subtree answers exactly like one that does not exist, so that
    # a token cannot learn which case ids exist elsewhere.
    if not steps or (allowed is not None and current_service_point(steps) not in allowed):
        raise Problem(404, "case_not_found", f"case {case_id} has no recorded events",
                      case_id=case_id)
    if not personal_data:
        return steps
    log_read(context.engine, PersonalDataRead(
        at=context.clock(), subject=principal.subject, role=str(principal.role),
        token_id=principal.token_id, case_id=case_id, what=what))
    return context.service.history(case_id, unseal=True)


def require_aware(moment: datetime | None, name: str) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise Problem(422, "naive_time", f"{name} needs a UTC offset, e.g. +08:00", parameter=name)


def policy_and_area(context: ApiContext, steps: list[Step],
                    policy: str | None) -> tuple[Policy, str | None]:
    """The policy asked for (or the default), and the case's area from its first service point."""
    name = policy or context.default_policy
    if name not in context.policies:
        raise Problem(422, "unknown_policy",
                      f"unknown policy {name}; known: {', '.join(context.policies)}")
    first = min(steps, key=lambda s: s.sort_key())
    return context.policies[name], context.network.get().area_of(first.data.get("service_point"))


def view_case(context: ApiContext, case_id: str, steps: list[Step], policy: str | None,
              as_of: datetime, personal_data: bool) -> dict[str, Any]:
    """The case as `case show` prints it, under the policy asked for (shared with the pages)."""
    chosen, area = policy_and_area(context, steps, policy)
    return case_view(case_id, steps, chosen, as_of, context.tz, area, personal_data=personal_data)


@router.get("/{case_id}", response_model=CaseViewOut, responses=READ_ERRORS)
def read_case(case_id: CaseId, context: ContextDep, principal: CurrentUser, as_of: AsOf = None,
              policy: PolicyName = None, personal_data: PersonalData = False) -> dict[str, Any]:
    """The case's clock states and outcome at `as_of` (SPEC §6 `case show`)."""
    require_aware(as_of, "as_of")
    steps = load_case(context, principal, case_id, Action.read_case, personal_data, "case")
    return view_case(context, case_id, steps, policy, as_of or context.clock(), personal_data)


@router.get("/{case_id}/events", response_model=HistoryOut, responses=READ_ERRORS)
def case_history(case_id: CaseId, context: ContextDep, principal: CurrentUser, page: PageDep,
                 personal_data: PersonalData = False) -> dict[str, Any]:
    """Every stored event of the case in the order it was stored, corrections included."""
    steps = load_case(context, principal, case_id, Action.history, personal_data, "history")
    times = OrderedHistory.of(steps).times
    events = []
    for step in sorted(steps, key=lambda s: s.seq)[page.offset:page.offset + page.limit]:
        data = dict(step.data)
        if not personal_data:
            data.pop("applicant", None)
        event = {"event_id": step.event_id, "type": step.type,
                 "occurred_at": iso(step.occurred_at, context.tz),
                 "recorded_at": iso(step.recorded_at, context.tz),
                 "ingested_at": iso(step.ingested_at, context.tz), "actor": step.actor,
                 "data": data, "version": step.seq + 1}
        if times[step.event_id] != step.occurred_at:
            event["corrected_occurred_at"] = iso(times[step.event_id], context.tz)
        events.append(event)
    return {"case_id": case_id, "total": len(steps), "limit": page.limit, "offset": page.offset,
            "events": events}


@router.get("/{case_id}/replay", response_model=ReplayOut, responses=READ_ERRORS)
def replay_case(case_id: CaseId, context: ContextDep, principal: CurrentUser,
                known_at: Annotated[datetime, Query(description="replay with only the events "
                                                    "stored (ingested) by this time")],
                as_of: AsOf = None, policy: PolicyName = None,
                personal_data: PersonalData = False) -> dict[str, Any]:
    """The case as the system knew it at `known_at` (by ingestion time), evaluated at `as_of`
    (default: `known_at`)."""
    require_aware(known_at, "known_at")
    require_aware(as_of, "as_of")
    steps = load_case(context, principal, case_id, Action.replay, personal_data, "replay")
    known = [s for s in steps if s.ingested_at is not None and s.ingested_at <= known_at]
    if not known:
        raise Problem(404, "case_not_known_yet",
                      f"case {case_id} had no stored events at {known_at.isoformat()}",
                      case_id=case_id)
    view = view_case(context, case_id, known, policy, as_of or known_at, personal_data)
    return {**view, "known_at": iso(known_at, context.tz)}
