"""An auditor's page: one case's timeline, "as happened" by a time or "as known at" a time.

Every event with its occurred, recorded and ingested times, corrections beside the events they
moved, the clocks drawn along time with their pauses, and the clock changes step by step. It is
the audit replay of the API (`load_case` with the replay right, `replay_view`), so the page and
`GET /audit/cases/{id}/replay` cannot disagree; applicant data only with the `pii` grant, and
every such read logged before it is shown.

The two views: "as happened at T" takes every stored event and evaluates the case at T; "as known
at K" takes only the events stored (ingested) by K and evaluates the case at K, so late records
and corrections stored after K are left out. The "what was known when" list links each moment
the case's events were stored, to step through what the system knew.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from api.auth import Action
from api.pages.clock_rows import from_case_view
from api.pages.step_forms import corrections_by_target, local_time, point_labels
from api.pages.texts import clock_label, event_label
from api.pages.timeline_chart import ChartInput, clock_chart
from api.pages.web import PREFIX, PageRoute, SignedIn, Web, known_case_id
from api.problems import Problem
from api.routes.cases import load_case, policy_and_area
from domain.events import ID_PATTERN
from domain.replay import NothingKnownYet, known_by, replay
from projections.replay_view import replay_view

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)
View = Annotated[Literal["happened", "known"], Query()]
At = Annotated[str | None, Query(max_length=64)]
CaseQuery = Annotated[str, Query(max_length=64)]


@router.get("/audit")
def audit_index(page: SignedIn, case_id: CaseQuery = "") -> Response:
    page.user.require(Action.replay)
    wanted = case_id.strip()
    if wanted and ID_PATTERN.fullmatch(wanted):
        return RedirectResponse(f"{PREFIX}/audit/cases/{wanted}", status_code=303)
    return page.render("audit_index.html", case_id=wanted)


def _moment(page: Web, text: str | None) -> datetime:
    if not text:
        return page.context.clock()
    try:
        moment = datetime.fromisoformat(local_time(text.strip(), page.context.tz))
    except ValueError:
        raise Problem(422, "invalid_time", f"{text[:40]} is not a time (2026-03-02T09:41)",
                      parameter="at") from None
    return moment


@router.get("/audit/cases/{case_id}")
def case_timeline(case_id: str, page: SignedIn, view: View = "happened", at: At = None,
                  personal_data: Annotated[bool, Query()] = False) -> Response:
    case_id = known_case_id(case_id)
    context = page.context
    moment = _moment(page, at)
    known_at = moment if view == "known" else None
    steps = load_case(context, page.user, case_id, Action.replay, personal_data, "replay")
    policy, area = policy_and_area(context, steps, None)
    values: dict[str, Any] = {"case_id": case_id, "view": view, "at": moment,
                              "personal_data": personal_data,
                              "may_see_personal_data": page.user.pii, "body": None}
    try:
        body = replay_view(case_id, steps, policy, context.tz, area, as_of=moment,
                           known_at=known_at, personal_data=personal_data)
        done = replay(case_id, steps, policy, context.tz, area, as_of=moment, known_at=known_at)
    except NothingKnownYet:
        return page.render("audit_case.html", **values)
    known = steps if known_at is None else known_by(steps, known_at)
    clocks = [from_case_view(case_id, name, c, moment) for name, c in body["clocks"].items()]
    chart = clock_chart(ChartInput(
        clocks, done.evaluation.facts.pauses,
        [(datetime.fromisoformat(e["occurred_at"]), event_label(e["type"], page.lang))
         for e in body["events"]],
        moment, {c.clock: clock_label(c.clock, page.lang) for c in clocks},
        page.t("timeline_chart")), context.tz)
    return page.render("audit_case.html", **{
        **values, "body": body, "clocks": clocks, "chart": chart,
        "corrections": corrections_by_target(known), "stored": len(steps),
        "points": point_labels(context.network.get(), context.network.get().points)})

