"""Read-only queries for the CLI and the API: the SPEC §5/§6 report and one case's view.

The report counts the projected rows in SQL for every case whose last event is visible at `as_of`
(their rows are final then, and open clocks turn overdue by their stored due time). Cases with
events after `as_of`, and every case under a policy that is not projected, are evaluated from
their stored history with the clock engine at `as_of`. Both feed the same `Tally`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, Table, and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from domain.clocks import evaluate
from domain.network import LEVELS, Network
from domain.policy import Policy
from projections.case_clocks import history_from_json
from projections.figures import Period, Tally, tally_case
from projections.tables import (
    calls,
    case_groups,
    case_histories,
    cases,
    clocks,
    outcomes,
    to_us,
)

GROUPINGS = (*LEVELS, "group", "channel", "category")


@dataclass(frozen=True)
class ReportRequest:
    policy: str
    as_of: datetime
    date_from: date | None = None
    date_to: date | None = None
    by: str | None = None


class ReportQueries:
    def __init__(self, engine: Engine, network: Callable[[], Network],
                 policies: Mapping[str, Policy], projected: str, tz: tzinfo) -> None:
        self.engine = engine
        self.network = network
        self.policies = policies
        self.projected = projected
        self.tz = tz

    def report(self, request: ReportRequest) -> dict[str, Any]:
        if request.by is not None and request.by not in GROUPINGS:
            raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")
        policy = self.policies[request.policy]
        as_of = request.as_of.astimezone(self.tz)
        period = self._period(request, as_of)
        tally = Tally()
        network = self.network()
        keyer = _keyer(request.by, network)
        projected = request.policy == self.projected
        if projected:
            # A case in several groups counts once in the total and once in each group's row,
            # so the total and the rows are counted by separate queries.
            self._count_projected(tally, None, _keyer(None, network), policy.name, as_of, period)
            if request.by is not None:
                self._count_projected(tally, request.by, keyer, policy.name, as_of, period,
                                      rows_only=True)
        for keys, evaluation in self._evaluated(policy, as_of, request.by, keyer, network,
                                                only_stale=projected):
            tally_case(tally, keys, evaluation, period, as_of)
        body: dict[str, Any] = {
            "policy": policy.name, "timezone": str(self.tz),
            "from": period.start.date().isoformat(),
            "to": (period.end - timedelta(days=1)).date().isoformat(),
            "as_of": as_of.isoformat(),
            **tally.total.as_json(list(policy.clocks)),
        }
        if request.by is not None:
            body["rows"] = [{"key": key, **fig.as_json(list(policy.clocks))}
                            for key, fig in sorted(tally.rows.items())]
        body["provenance"] = {"policy_version": policy.version}
        return body

    # --- period ------------------------------------------------------------------------------

    def _period(self, request: ReportRequest, as_of: datetime) -> Period:
        start_date = request.date_from
        if start_date is None:
            with self.engine.connect() as conn:
                earliest = conn.execute(select(func.min(cases.c.received_us))
                                        .where(cases.c.received_us <= to_us(as_of))).scalar()
            start_date = (_from_us(earliest).astimezone(self.tz).date() if earliest is not None
                          else as_of.date())
        end_date = request.date_to or as_of.date()
        if end_date < start_date:
            raise ValueError(f"--to {end_date} is before --from {start_date}")
        start = datetime.combine(start_date, time(0), self.tz)
        end = datetime.combine(end_date + timedelta(days=1), time(0), self.tz)
        return Period(start, end)

    # --- the projected path ------------------------------------------------------------------

    def _count_projected(self, tally: Tally, by: str | None,
                         keyer: Callable[[Any], list[str] | None], policy: str, as_of: datetime,
                         period: Period, *, rows_only: bool = False) -> None:
        a, lo, hi = to_us(as_of), to_us(period.start), to_us(period.end)

        def add(value: Any, section: str, label: str, n: int) -> None:
            tally.add(keyer(value), section, label, int(n), total=not rows_only)

        def sliced(table: Table) -> tuple[FromClause, ColumnElement[Any]]:
            """The table (joined to the groups when slicing by group) and its slice column."""
            if by == "group":
                return (table.join(case_groups, case_groups.c.case_id == table.c.case_id),
                        case_groups.c.grp)
            column = {"channel": "channel", "category": "category"}.get(by or "", "service_point")
            return table, (table.c[column] if by is not None else literal(""))

        def within(column: Any, *extra: Any) -> Any:
            return func.sum(case((and_(column >= lo, column < hi, *extra), 1), else_=0))

        src, dim = sliced(clocks)
        decided = select(dim, clocks.c.clock, clocks.c.state, func.count()).select_from(src).where(
            clocks.c.policy == policy, clocks.c.state.in_(("met", "breached")),
            clocks.c.last_event_us <= a, clocks.c.decision_us >= lo, clocks.c.decision_us < hi,
        ).group_by(dim, clocks.c.clock, clocks.c.state)
        overdue = and_(clocks.c.due_us < a, or_(clocks.c.pause_began_us.is_(None),
                                                clocks.c.pause_began_us > clocks.c.due_us))
        od = case((overdue, 1), else_=0).label("od")
        still_open = select(dim, clocks.c.clock, od, within(clocks.c.due_us, overdue),
                            func.count()).select_from(src).where(
            clocks.c.policy == policy, clocks.c.state == "open", clocks.c.last_event_us <= a,
        ).group_by(dim, clocks.c.clock, od)
        src, dim_o = sliced(outcomes)
        finished = select(dim_o, outcomes.c.outcome, within(outcomes.c.finished_us),
                          func.count()).select_from(src).where(
            outcomes.c.policy == policy, outcomes.c.last_event_us <= a,
        ).group_by(dim_o, outcomes.c.outcome)
        src, dim_c = sliced(calls)
        answered = select(dim_c, calls.c.satisfaction, func.count()).select_from(src).where(
            calls.c.reached.is_(True), calls.c.last_event_us <= a, calls.c.at_us >= lo,
            calls.c.at_us < hi,
        ).group_by(dim_c, calls.c.satisfaction)
        src, dim_v = sliced(cases)
        volume = select(
            dim_v, within(cases.c.received_us),
            within(cases.c.reviewed_us, cases.c.decision == "granted"),
            within(cases.c.reviewed_us, cases.c.decision == "refused"),
            within(cases.c.withdrawn_us), within(cases.c.closed_us),
            func.sum(case((cases.c.withdrawn_us.is_(None), 1), else_=0)),
        ).select_from(src).where(cases.c.last_event_us <= a).group_by(dim_v)
        with self.engine.connect() as conn:
            for value, clock, state, n in conn.execute(decided):
                add(value, "clock", f"{clock}:{state}", n)
            for value, clock, is_overdue, in_period, n in conn.execute(still_open):
                add(value, "open", "overdue" if is_overdue else "running", n)
                if in_period:
                    add(value, "clock", f"{clock}:breached", in_period)
            for value, outcome, in_period, n in conn.execute(finished):
                if in_period:
                    add(value, "case", outcome, in_period)
                add(value, "volume", "open_cases", -n)  # finished cases are not open
            for value, satisfaction, n in conn.execute(answered):
                add(value, "satisfaction", satisfaction, n)
            labels = ("received", "granted", "refused", "withdrawn", "closed", "open_cases")
            for value, *counts in conn.execute(volume):
                for label, n in zip(labels, counts, strict=True):
                    if n:
                        add(value, "volume", label, n)

    # --- the evaluated path ------------------------------------------------------------------

    def _evaluated(self, policy: Policy, as_of: datetime, by: str | None,
                   keyer: Callable[[Any], list[str] | None], network: Network, *,
                   only_stale: bool) -> Iterator[tuple[list[str] | None, Any]]:
        a = to_us(as_of)
        query = select(case_histories.c.case_id, case_histories.c.history)
        if only_stale:
            query = query.where(case_histories.c.last_event_us > a)
        with self.engine.connect() as conn:
            for case_id, text in conn.execute(query.execution_options(yield_per=2000)):
                history = history_from_json(case_id, text)
                first = min(history, key=lambda s: s.sort_key())
                evaluation = evaluate(case_id, history, policy, as_of, self.tz,
                                      network.area_of(first.data.get("service_point")))
                f = evaluation.facts
                if by == "group":
                    keys: list[str] | None = list(f.groups)
                elif by in ("channel", "category"):
                    keys = [getattr(f, by)]
                else:
                    keys = keyer(f.service_point)
                yield keys, evaluation


def _keyer(by: str | None, network: Network) -> Callable[[Any], list[str] | None]:
    if by is None:
        return lambda value: None
    if by in LEVELS:
        cache: dict[str, list[str] | None] = {}

        def level_key(point: str) -> list[str] | None:
            if point not in cache:
                cache[point] = [network.key_at_level(point, by)]
            return cache[point]
        return level_key
    return lambda value: [value]


def _from_us(value: int) -> datetime:
    from projections.tables import from_us
    moment = from_us(value)
    assert moment is not None
    return moment
