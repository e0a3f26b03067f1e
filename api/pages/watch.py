"""A supervisor's page: the steps in warning and overdue across my subtree, the latest first,
each acknowledged with a silence in Alertmanager; and today's figures for the subtree.

The list reads the open clocks the monitors read and decides warning and overdue with the same
rule (`DueClock.state`), so it shows what the alerts say. Acknowledging calls the API's own
route function (role, subtree, the silence), and today's figures are the `report` of the
subtree, as `GET /figures` answers a supervisor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.auth import Action
from api.pages import step_forms
from api.pages.clock_rows import from_due_clock, lateness, local
from api.pages.web import PREFIX, PageRoute, SignedIn, read_form, require_csrf
from api.problems import Problem
from api.routes.alerts import ACKNOWLEDGING_ROLES, AcknowledgementIn, acknowledge
from projections.due_clocks import due_clocks, lead_us
from projections.queries import ReportRequest
from projections.tables import to_us

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)
Note = Annotated[str | None, Query(max_length=200)]


@router.get("/watch")
def watch(page: SignedIn, acknowledged: Note = None, until: Note = None) -> Response:
    principal, context = page.user, page.context
    principal.require(Action.open_clocks)
    policy = context.policies[context.default_policy]
    now = context.clock()
    scope = principal.scope(context.network.subtree)
    with context.engine.connect() as conn:
        due = due_clocks(conn, context.queries.tables(), policy.name,
                         to_us(now) + lead_us(policy))
    rows = [from_due_clock(d, policy, now) for d in due
            if scope is None or d.service_point in scope]
    rows = sorted((r for r in rows if r.state in ("warning", "overdue")), key=lateness,
                  reverse=True)
    figures = None
    if principal.may(Action.figures):
        today = now.astimezone(context.tz).date()
        figures = context.queries.report(ReportRequest(
            policy=policy.name, as_of=now, date_from=today, date_to=today,
            points=frozenset(scope) if scope is not None else None))
    network = context.network.get()
    return page.render(
        "watch.html", rows=rows, figures=figures, now=now,
        may_acknowledge=principal.role in ACKNOWLEDGING_ROLES,
        points=step_forms.point_labels(network, {r.service_point or "" for r in rows}),
        acknowledged=acknowledged, until=until)


@router.post("/watch/acknowledge")
async def acknowledge_step(page: SignedIn) -> Response:
    form = await read_form(page.request)
    require_csrf(page, form)
    values = {k: v[0] for k, v in form.items() if v and k in ("case_id", "clock", "minutes",
                                                                "comment")}
    values = {k: v for k, v in values.items() if v.strip()}
    try:
        wanted = AcknowledgementIn.model_validate(values)
    except ValidationError as error:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        raise Problem(422, "invalid_request", f"invalid fields: {where}") from None
    answer = await run_in_threadpool(acknowledge, page.request, page.context, page.user, wanted)
    until = local(datetime.fromisoformat(answer["ends_at"]), page.context.tz)
    return RedirectResponse(f"{PREFIX}/watch?acknowledged={quote(wanted.case_id)}"
                            f"&until={quote(until)}", status_code=303)
