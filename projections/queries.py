"""Read-only queries for the CLI and the API: the SPEC §5/§6 report and one case's view.

Under the projected policy the report counts in SQL (`counting.py`): from the rollups when every
case's last event is visible at `as_of` (the usual "as of now"), else from the per-case rows of
the cases whose last event is visible. Cases with later events, and every case under a policy
that is not projected, are evaluated from their stored history with the clock engine at
`as_of`. All paths feed the same `Tally`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, func, select

from domain.clocks import evaluate
from domain.network import LEVELS, Network
from domain.policy import Policy
from domain.replay import known_by
from projections.case_clocks import history_from_json
from projections.counting import Counter, Keyer
from projections.figures import Period, Tally, tally_case
from projections.provenance import report_provenance
from projections.tables import CaseTables, from_us, to_us

GROUPINGS = (*LEVELS, "group", "channel", "category")


@dataclass(frozen=True)
class ReportRequest:
    policy: str
    as_of: datetime
    date_from: date | None = None
    date_to: date | None = None
    by: str | None = None
    points: frozenset[str] | None = None  # only cases whose service point at as_of is one of these
    known_at: datetime | None = None  # only the events stored by then (issue 6: "as known at")


class ReportQueries:
    def __init__(self, engine: Engine, tables: Callable[[], CaseTables],
                 network: Callable[[], Network], policies: Mapping[str, Policy], projected: str,
                 tz: tzinfo) -> None:
        self.engine = engine
        self.tables = tables
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
        tables = self.tables()
        # As known at a time, every case is evaluated from the events stored by then.
        projected = request.policy == self.projected and request.known_at is None
        source = "evaluated"
        if projected:
            source = self._count_projected(tally, tables, request.by, keyer, policy.name,
                                           as_of, period, request.points)
        for keys, evaluation in self._evaluated(tables, policy, as_of, request.by, keyer,
                                                network, only_stale=projected,
                                                known_at=request.known_at):
            if request.points is None or evaluation.facts.service_point in request.points:
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
        with self.engine.connect() as conn:
            body["provenance"] = report_provenance(conn, f"cases/{tables.prefix}", policy, source)
        if request.known_at is not None:
            body["known_at"] = request.known_at.astimezone(self.tz).isoformat()
        return body

    # --- period ------------------------------------------------------------------------------

    def _period(self, request: ReportRequest, as_of: datetime) -> Period:
        start_date = request.date_from
        if start_date is None:
            with self.engine.connect() as conn:
                cases = self.tables().cases
                query = select(func.min(cases.c.received_us)).where(
                    cases.c.received_us <= to_us(as_of))
                if request.points is not None:
                    query = query.where(cases.c.service_point.in_(sorted(request.points)))
                earliest = conn.execute(query).scalar()
            start_date = (from_us(earliest).astimezone(self.tz).date() if earliest is not None
                          else as_of.date())
        end_date = request.date_to or as_of.date()
        if end_date < start_date:
            raise ValueError(f"--to {end_date} is before --from {start_date}")
        start = datetime.combine(start_date, time(0), self.tz)
        end = datetime.combine(end_date + timedelta(days=1), time(0), self.tz)
        return Period(start, end)

    # --- the projected path ------------------------------------------------------------------

    def _count_projected(self, tally: Tally, tables: CaseTables, by: str | None,
                         keyer: Keyer, policy: str, as_of: datetime, period: Period,
                         points: frozenset[str] | None) -> str:
        """Count from the rollups when they hold every item at `as_of`, else from the rows.

        A case in several groups counts once in the total and once in each group's row, so
        the total and the rows are counted in separate passes."""
        a = to_us(as_of)
        with self.engine.connect() as conn:
            latest = conn.execute(select(func.max(tables.cases.c.last_event_us))).scalar()
            # The group rollups know no service points: a subtree sliced by group counts rows.
            from_rollups = (latest is None or latest <= a) and not (points and by == "group")
            passes: list[tuple[str | None, Keyer, bool]] = [(None, lambda value: None, False)]
            if by is not None:
                passes.append((by, keyer, True))
            for pass_by, pass_keyer, rows_only in passes:
                counter = Counter(conn, tables, policy, tally, pass_by, pass_keyer, rows_only,
                                  points)
                if from_rollups:
                    counter.rollups(period)
                    counter.open_clocks(a, period)
                else:
                    counter.rows(a, period)
        return "rollups" if from_rollups else "rows"

    # --- the evaluated path ------------------------------------------------------------------

    def _evaluated(self, tables: CaseTables, policy: Policy, as_of: datetime, by: str | None,
                   keyer: Callable[[Any], list[str] | None], network: Network, *,
                   only_stale: bool, known_at: datetime | None = None,
                   ) -> Iterator[tuple[list[str] | None, Any]]:
        a = to_us(as_of)
        histories = tables.case_histories
        query = select(histories.c.case_id, histories.c.history)
        if only_stale:
            query = query.where(histories.c.last_event_us > a)
        with self.engine.connect() as conn:
            for case_id, text in conn.execute(query.execution_options(yield_per=2000)):
                history = history_from_json(case_id, text)
                if known_at is not None:
                    history = known_by(history, known_at)
                    if not history:
                        continue
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
