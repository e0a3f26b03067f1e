"""The SPEC §5 figures for one subtree of the network (a supervisor's), with `report`'s filters
and groupings.

Every case of the subtree is evaluated with the clock engine from its projected history, exactly
as the report's evaluated path does, and tallied into the same `Tally`; a case belongs to the
subtree when its service point at `as_of` (after transfers) does. A subtree is one county or
township: a few thousand cases a year, evaluated in well under a second.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select

from domain.clocks import CaseEvaluation, evaluate
from domain.network import LEVELS, Network
from projections.case_clocks import history_from_json
from projections.figures import Period, Tally, tally_case
from projections.queries import GROUPINGS, ReportQueries, ReportRequest
from projections.tables import to_us


def subtree_report(queries: ReportQueries, request: ReportRequest,
                   points: Collection[str]) -> dict[str, Any]:
    """The report of `request`, counting only cases whose service point at `as_of` is in
    `points`; the same JSON shape as `ReportQueries.report`."""
    if request.by is not None and request.by not in GROUPINGS:
        raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")
    policy = queries.policies[request.policy]
    as_of = request.as_of.astimezone(queries.tz)
    network = queries.network()
    evaluations = list(_evaluated(queries, network, as_of, set(points), request.policy))
    period = _period(queries, request, as_of, evaluations)
    tally = Tally()
    for evaluation in evaluations:
        # Counted once in the total, and once in each of its group keys' rows.
        keys = _keys(evaluation, request.by, network) if request.by is not None else None
        tally_case(tally, keys, evaluation, period, as_of)
    body: dict[str, Any] = {
        "policy": policy.name, "timezone": str(queries.tz),
        "from": period.start.date().isoformat(),
        "to": (period.end - timedelta(days=1)).date().isoformat(),
        "as_of": as_of.isoformat(), **tally.total.as_json(list(policy.clocks))}
    if request.by is not None:
        body["rows"] = [{"key": key, **fig.as_json(list(policy.clocks))}
                        for key, fig in sorted(tally.rows.items())]
    body["provenance"] = {"policy_version": policy.version}
    return body


def _evaluated(queries: ReportQueries, network: Network, as_of: datetime, points: set[str],
               policy_name: str) -> list[CaseEvaluation]:
    # A case whose last event is visible at as_of stands where the read model says; one with
    # later events may have been transferred since, so it is a candidate wherever it is now.
    a = to_us(as_of)
    tables = queries.tables()
    cases, case_histories = tables.cases, tables.case_histories
    query = (select(case_histories.c.case_id, case_histories.c.history)
             .join(cases, cases.c.case_id == case_histories.c.case_id)
             .where(or_(cases.c.service_point.in_(sorted(points)),
                        case_histories.c.last_event_us > a)))
    policy = queries.policies[policy_name]
    found = []
    with queries.engine.connect() as conn:
        for case_id, text in conn.execute(query.execution_options(yield_per=2000)):
            history = history_from_json(case_id, text)
            first = min(history, key=lambda s: s.sort_key())
            evaluation = evaluate(case_id, history, policy, as_of, queries.tz,
                                  network.area_of(first.data.get("service_point")))
            if evaluation.facts.received_at is not None and evaluation.facts.service_point in points:
                found.append(evaluation)
    return found


def _period(queries: ReportQueries, request: ReportRequest, as_of: datetime,
            evaluations: list[CaseEvaluation]) -> Period:
    start_date = request.date_from
    if start_date is None:
        received = [e.facts.received_at for e in evaluations if e.facts.received_at is not None]
        start_date = (min(received).astimezone(queries.tz).date() if received else as_of.date())
    end_date = request.date_to or as_of.date()
    if end_date < start_date:
        raise ValueError(f"--to {end_date} is before --from {start_date}")
    return Period(datetime.combine(start_date, time(0), queries.tz),
                  datetime.combine(end_date + timedelta(days=1), time(0), queries.tz))


def _keys(evaluation: CaseEvaluation, by: str, network: Network) -> list[str] | None:
    f = evaluation.facts
    if by == "group":
        return list(f.groups)
    if by in ("channel", "category"):
        value = getattr(f, by)
        return [value] if value is not None else None
    if by in LEVELS and f.service_point is not None:
        return [network.key_at_level(f.service_point, by)]
    return None
