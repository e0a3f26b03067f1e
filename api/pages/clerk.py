"""A clerk's pages: the open cases of my service point, one case with its next steps, and the
registration of a new application.

Reads and writes go through the JSON API's own code: `load_case` (role, subtree and the
personal-data grant, with the read logged), `view_case` (the clock engine at now), and
`record_as` (the role, `parse_event`, the subtree and the group-commit writer). A refused step
shows its form again as the clerk filled it, with the rule's code and message.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Action
from api.pages import step_forms
from api.pages.clock_rows import ClockRow, from_case_view, from_due_clock, lateness
from api.pages.texts import event_label
from api.pages.web import (
    PREFIX,
    PageRoute,
    SignedIn,
    Web,
    known_case_id,
    read_form,
    require_csrf,
)
from api.routes.cases import load_case, view_case
from api.routes.steps import record_as
from domain.errors import RuleViolation
from domain.events import PAYLOADS, Step
from projections.open_cases import OpenCase, open_cases

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)
Flag = Annotated[bool, Query()]
Recorded = Annotated[str | None, Query(max_length=32)]


def new_event_id() -> str:
    """Written into each form when it is shown: sending the form twice records the step once."""
    return f"web-{uuid.uuid4().hex}"


@router.get("/cases")
def case_list(page: SignedIn) -> Response:
    principal, context = page.user, page.context
    principal.require(Action.open_clocks)
    policy = context.policies[context.default_policy]
    now = context.clock()
    scope = principal.scope(context.network.subtree)
    found, total = open_cases(context.engine, context.queries.tables(), context.default_policy,
                              scope)
    listed: list[tuple[OpenCase, list[ClockRow]]] = []
    for case in found:
        clocks = sorted((from_due_clock(c, policy, now) for c in case.clocks), key=lateness,
                        reverse=True)
        listed.append((case, clocks))
    # The most urgent first: the latest clock (or least time left); cases with no clock open last.
    listed.sort(key=lambda item: (not item[1], -lateness(item[1][0]).total_seconds()
                                  if item[1] else 0.0))
    network = context.network.get()
    return page.render("cases.html", cases=listed, total=total, now=now,
                       points=step_forms.point_labels(network, {c.service_point or ""
                                                                for c, _ in listed}))


@router.get("/cases/new")
def new_case_form(page: SignedIn) -> Response:
    return _new_case_page(page)


def _new_case_page(page: Web, refusal: RuleViolation | None = None,
                   kept: Mapping[str, list[str]] | None = None, status: int = 200) -> Response:
    principal, context = page.user, page.context
    principal.require(Action.record)
    network = context.network.get()
    form = step_forms.offered_form("new-case", "application_received", [], network,
                                   context.clock(), principal.scope(context.network.subtree))
    # A new form starts at the clerk's own service point.
    kept = kept if kept is not None else {"data.service_point": [principal.service_point or ""]}
    return page.render("new_case.html", status, form=form, refusal=refusal, kept=kept,
                       event_id=new_event_id(),
                       points=step_forms.point_labels(network, network.points))


@router.post("/cases/new")
async def register(page: SignedIn) -> Response:
    form = await read_form(page.request)
    require_csrf(page, form)
    principal, context = page.user, page.context
    now = context.clock()
    case_id = (form.get("case_id") or [""])[0].strip() or _numbered(form, now, context.tz)
    raw = step_forms.submitted_event("application_received", form, case_id=case_id,
                                     tz=context.tz, now=now, actor=principal.subject)
    try:
        await record_as(context, page.request.app.state.writer, principal, raw)
    except RuleViolation as refusal:
        if not await run_in_threadpool(_sent_before, page, raw, refusal):
            return await run_in_threadpool(_new_case_page, page, refusal, form, 422)
    return RedirectResponse(f"{PREFIX}/cases/{case_id}?recorded=application_received",
                            status_code=303)


def _numbered(form: Mapping[str, list[str]], now: datetime, tz: tzinfo) -> str:
    """A new case id: the service point, the date and a part of the form's event id
    ("ly-yc-20260302-3f9a1c"), so that the same form sent twice names the same case."""
    point = (form.get("data.service_point") or [""])[0]
    prefix = point if re.fullmatch(r"[A-Za-z0-9._-]{1,40}", point) else "case"
    event_id = (form.get("event_id") or [""])[0]
    unique = hashlib.sha256(event_id.encode()).hexdigest()[:8] if event_id else secrets.token_hex(4)
    return f"{prefix}-{now.astimezone(tz):%Y%m%d}-{unique}"


def _sent_before(page: Web, raw: dict[str, Any], refusal: RuleViolation) -> bool:
    """Whether a refused form is one already recorded, sent again (a double click, a reload):
    its event id is taken by a step of the same case, type, data and clerk. Only the time
    differs then, because an empty time means "now" each time the form is sent."""
    if refusal.code != "event_id_conflict":
        return False
    stored = page.context.service.history(raw["case_id"], unseal=False)
    same = [s for s in stored if s.event_id == raw["event_id"]]
    if not same:
        return False
    kept = {k: v for k, v in same[0].data.items() if k != "applicant"}
    sent = {k: v for k, v in raw["data"].items() if k != "applicant"}
    return (same[0].type, kept, same[0].actor) == (raw["type"], sent, raw["actor"])


@router.get("/cases/{case_id}")
def case_page(case_id: str, page: SignedIn, personal_data: Flag = False,
              recorded: Recorded = None) -> Response:
    return _case_page(page, known_case_id(case_id), personal_data=personal_data, recorded=recorded)


def _case_page(page: Web, case_id: str, *, personal_data: bool = False,
               recorded: str | None = None, refusal: RuleViolation | None = None,
               failed: str | None = None, kept: Mapping[str, list[str]] | None = None,
               status: int = 200) -> Response:
    principal, context = page.user, page.context
    steps = load_case(context, principal, case_id, Action.read_case, personal_data, "case")
    now = context.clock()
    view = view_case(context, case_id, steps, None, now, personal_data)
    clocks = [from_case_view(case_id, name, c, now) for name, c in view["clocks"].items()]
    network = context.network.get()
    forms = (step_forms.next_steps(case_id, steps, network, now)
             if principal.may(Action.record) else [])
    return page.render(
        "case.html", status, view=view, clocks=clocks, forms=forms, now=now,
        recorded=recorded if recorded in PAYLOADS else None, refusal=refusal, failed=failed,
        kept=kept or {}, event_id=new_event_id(), personal_data=personal_data,
        may_see_personal_data=principal.pii, corrections=step_forms.corrections_by_target(steps),
        event_names=_event_names(steps, page), points=step_forms.point_labels(network,
                                                                              network.points))


def _event_names(steps: list[Step], page: Web) -> dict[str, str]:
    return {s.event_id: f"{event_label(s.type, page.lang)} · {s.event_id}" for s in steps}


@router.post("/cases/{case_id}/steps")
async def record_step(case_id: str, page: SignedIn) -> Response:
    form = await read_form(page.request)
    require_csrf(page, form)
    case_id = known_case_id(case_id)
    principal, context = page.user, page.context
    kind = (form.get("type") or [""])[0]
    try:
        if kind not in PAYLOADS or kind == "application_received":
            raise RuleViolation("unknown_type", value=kind).about(case_id=case_id, event_id=None)
        raw = step_forms.submitted_event(kind, form, case_id=case_id, tz=context.tz,
                                         now=context.clock(), actor=principal.subject)
        await record_as(context, page.request.app.state.writer, principal, raw)
    except RuleViolation as refusal:
        if not await run_in_threadpool(_sent_before, page, raw, refusal):
            return await run_in_threadpool(partial(_case_page, page, case_id, refusal=refusal,
                                                   failed=kind, kept=form, status=422))
    return RedirectResponse(f"{PREFIX}/cases/{case_id}?recorded={kind}", status_code=303)
