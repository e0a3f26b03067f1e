"""Audit (issue 6): bitemporal replay with a timeline, the hash chain and its check, the log of
admin actions and personal-data reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import problems
from api.auth import Action, Principal, Role
from api.deps import ContextDep, CurrentUser
from api.problems import Problem
from api.routes.cases import (
    READ_ERRORS,
    CaseId,
    PersonalData,
    PolicyName,
    load_case,
    policy_and_area,
    require_aware,
)
from api.schemas import CaseViewOut, Open
from domain.replay import NothingKnownYet
from projections.admin_log import audit_log
from projections.chain_verify import EventLog, verify_chain
from projections.hash_chain import head_at
from projections.replay_view import replay_view

router = APIRouter(prefix="/audit", tags=["audit"])
AUDIT_ROLES = frozenset({Role.auditor, Role.admin})
AUDIT_ERRORS = problems.responses(401, 403, 422, 503)


class TimelineItemOut(Open):
    at: str
    event_id: str | None
    type: str
    changes: list[dict[str, Any]]


class AuditReplayOut(CaseViewOut):
    known_at: str | None
    happened_at: str
    events_known: int
    events_stored: int
    timeline: list[TimelineItemOut]
    knowledge: list[dict[str, Any]]
    provenance: dict[str, Any]


class ChainOut(Open):
    through_notification: int
    chain_head: str | None


class VerificationOut(Open):
    ok: bool
    events: int
    through_notification: int
    chain_head: str | None
    unchained: int
    first: dict[str, Any] | None
    findings: list[dict[str, Any]]


class AuditLogOut(Open):
    entries: list[dict[str, Any]]


def _require_auditor(principal: Principal) -> None:
    if principal.role not in AUDIT_ROLES:
        raise Problem(403, "role_not_allowed", f"role {principal.role} may not read the audit "
                      "trail (auditor or admin only)", role=principal.role)


@router.get("/cases/{case_id}/replay", response_model=AuditReplayOut, responses=READ_ERRORS)
def replay(case_id: CaseId, context: ContextDep, principal: CurrentUser,
           known_at: Annotated[datetime | None, Query(
               description="only events stored (ingested) by then; default: all stored")] = None,
           happened_at: Annotated[datetime | None, Query(
               description="evaluate as happened by this business time (corrections applied); "
                           "default: known_at, else now")] = None,
           policy: PolicyName = None, personal_data: PersonalData = False) -> dict[str, Any]:
    """The case as known at `known_at` and as happened at `happened_at`, step by step."""
    require_aware(known_at, "known_at")
    require_aware(happened_at, "happened_at")
    steps = load_case(context, principal, case_id, Action.replay, personal_data, "replay")
    chosen, area = policy_and_area(context, steps, policy)
    as_of = happened_at or known_at or context.clock()
    try:
        return replay_view(case_id, steps, chosen, context.tz, area, as_of=as_of,
                           known_at=known_at, personal_data=personal_data)
    except NothingKnownYet as error:
        raise Problem(404, "case_not_known_yet", str(error), case_id=case_id) from None


@router.get("/chain", response_model=ChainOut, responses=AUDIT_ERRORS)
def chain_head(context: ContextDep, principal: CurrentUser,
               upto: Annotated[int | None, Query(
                   ge=1, description="the head at this notification id (the hash of the events "
                                     "up to it); default: as far as chained")] = None,
               ) -> dict[str, Any]:
    """The hash chain's head: the hash of every event chained so far, to write down elsewhere."""
    _require_auditor(principal)
    with context.engine.connect() as conn:
        return head_at(conn, upto).as_json()


@router.post("/verify", response_model=VerificationOut, responses=AUDIT_ERRORS)
def verify(context: ContextDep, principal: CurrentUser,
           findings: Annotated[int, Query(ge=0, le=100, description="findings listed in full "
                                                               "(all are counted)")] = 100,
           ) -> dict[str, Any]:
    """Check every chained event's stored bytes and every link; name the first altered event."""
    _require_auditor(principal)
    recorder: Any = context.service.recorder
    sqlite = context.engine.dialect.name == "sqlite"
    log = EventLog(recorder.events_table_name, "rowid" if sqlite else "notification_id")
    body = verify_chain(context.engine, log).as_json()
    body["more_findings"] += max(len(body["findings"]) - findings, 0)
    body["findings"] = body["findings"][:findings]
    return body


@router.get("/log", response_model=AuditLogOut, responses=AUDIT_ERRORS)
def read_log(context: ContextDep, principal: CurrentUser,
             case_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._-]{1,64}$",
                                                  description="only entries about this case")]
             = None,
             limit: Annotated[int, Query(ge=1, le=1000, description="newest first")] = 100,
             ) -> dict[str, Any]:
    """Admin actions and personal-data reads, newest first (ids only, no personal data)."""
    _require_auditor(principal)
    entries = audit_log(context.engine, case_id=case_id, limit=limit)
    for entry in entries:
        entry["at"] = entry["at"].astimezone(context.tz).isoformat()
    return {"entries": entries}
