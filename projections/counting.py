"""SQL counts of the report's items from the projected tables, into a `Tally`.

Two ways, same items: from the rollups (when every case's last event is visible at `as_of`, so
the rollups hold every decided item), or from the per-case rows of the cases whose last event is
visible (the others are re-evaluated by the caller). Open clocks are always counted from the
open-clocks index, because they turn overdue by the clock, not by an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from projections.figures import Period, Tally
from projections.rollups import NOW_DAY, REPORTED, day_number
from projections.tables import CaseTables, to_us

Keyer = Callable[[Any], list[str] | None]


@dataclass
class Counter:
    conn: Connection
    tables: CaseTables
    policy: str
    tally: Tally
    by: str | None
    keyer: Keyer
    rows_only: bool  # a grouped pass adds to the rows only: the total is counted once, apart
    points: frozenset[str] | None = None  # only cases now at these service points (a subtree)

    def add(self, value: Any, section: str, label: str, n: int) -> None:
        self.tally.add(self.keyer(value), section, label, int(n), total=not self.rows_only)

    def within_points(self, query: Any, table: Table) -> Any:
        if self.points is None:
            return query
        return query.where(table.c.service_point.in_(sorted(self.points)))

    def sliced(self, table: Table) -> tuple[FromClause, ColumnElement[Any]]:
        """The table (joined to the groups when slicing by group) and its slice column."""
        if self.by == "group":
            groups = self.tables.case_groups
            return table.join(groups, groups.c.case_id == table.c.case_id), groups.c.grp
        if self.by is None:
            return table, literal("")
        column = self.by if self.by in ("channel", "category") else "service_point"
        return table, table.c[column]

    # --- open clocks ----------------------------------------------------------------------------

    def open_clocks(self, as_of_us: int, period: Period, fresh: Any = None) -> None:
        c = self.tables.clocks
        src, dim = self.sliced(c)
        lo, hi = to_us(period.start), to_us(period.end)
        overdue = and_(c.c.due_us < as_of_us, or_(c.c.pause_began_us.is_(None),
                                                  c.c.pause_began_us > c.c.due_us))
        od = case((overdue, 1), else_=0).label("od")
        in_period = func.sum(case((and_(overdue, c.c.due_us >= lo, c.c.due_us < hi), 1), else_=0))
        query = select(dim, c.c.clock, od, in_period, func.count()).select_from(src).where(
            c.c.policy == self.policy, c.c.state == "open").group_by(dim, c.c.clock, od)
        if fresh is not None:
            query = query.where(c.c.last_event_us <= as_of_us)
        for value, clock, is_overdue, decided_now, n in self.conn.execute(
                self.within_points(query, c)):
            self.add(value, "open", "overdue" if is_overdue else "running", n)
            if decided_now:  # an overdue clock counts as breached when it became overdue
                self.add(value, "clock", f"{clock}:breached", decided_now)

    # --- from the rollups ---------------------------------------------------------------------

    def rollups(self, period: Period) -> None:
        t = self.tables
        dim: ColumnElement[Any]
        if self.points is not None:
            table = t.rollup_points  # the only rollup that knows service points
            dim = literal("") if self.by is None else table.c[
                self.by if self.by in ("channel", "category") else "service_point"]
        elif self.by is None:
            table, dim = t.rollup_days, literal("")
        elif self.by == "group":
            table, dim = t.rollup_groups, t.rollup_groups.c.grp
        else:
            table = t.rollup_points
            dim = table.c[self.by if self.by in ("channel", "category") else "service_point"]
        first = day_number(period.start.date())
        last = day_number((period.end - timedelta(days=1)).date())
        query = select(dim, table.c.metric, table.c.label, func.sum(table.c.n)).where(
            table.c.policy == self.policy, table.c.metric.in_(REPORTED),
            or_(table.c.day.between(first, last), table.c.day == NOW_DAY),
        ).group_by(dim, table.c.metric, table.c.label)
        for value, metric, label, n in self.conn.execute(self.within_points(query, table)):
            if n:
                self.add(value, metric, label, n)

    # --- from the per-case rows ---------------------------------------------------------------

    def rows(self, as_of_us: int, period: Period) -> None:
        t, a = self.tables, as_of_us
        lo, hi = to_us(period.start), to_us(period.end)

        def within(column: Any, *extra: Any) -> Any:
            return func.sum(case((and_(column >= lo, column < hi, *extra), 1), else_=0))

        k = t.clocks
        src, dim = self.sliced(k)
        decided = select(dim, k.c.clock, k.c.state, func.count()).select_from(src).where(
            k.c.policy == self.policy, k.c.state.in_(("met", "breached")), k.c.last_event_us <= a,
            k.c.decision_us >= lo, k.c.decision_us < hi,
        ).group_by(dim, k.c.clock, k.c.state)
        for value, clock, state, n in self.conn.execute(self.within_points(decided, k)):
            self.add(value, "clock", f"{clock}:{state}", n)
        o = t.outcomes
        src, dim = self.sliced(o)
        finished = select(dim, o.c.outcome, within(o.c.finished_us), func.count()).select_from(
            src).where(o.c.policy == self.policy, o.c.last_event_us <= a).group_by(dim, o.c.outcome)
        for value, outcome, in_period, n in self.conn.execute(self.within_points(finished, o)):
            if in_period:
                self.add(value, "case", outcome, in_period)
            self.add(value, "volume", "open_cases", -n)  # finished cases are not open
        cl = t.calls
        src, dim = self.sliced(cl)
        answered = select(dim, cl.c.satisfaction, func.count()).select_from(src).where(
            cl.c.reached.is_(True), cl.c.last_event_us <= a, cl.c.at_us >= lo, cl.c.at_us < hi,
        ).group_by(dim, cl.c.satisfaction)
        for value, satisfaction, n in self.conn.execute(self.within_points(answered, cl)):
            self.add(value, "satisfaction", satisfaction, n)
        cs = t.cases
        src, dim = self.sliced(cs)
        volume = select(
            dim, within(cs.c.received_us),
            within(cs.c.reviewed_us, cs.c.decision == "granted"),
            within(cs.c.reviewed_us, cs.c.decision == "refused"),
            within(cs.c.withdrawn_us), within(cs.c.closed_us),
            func.sum(case((cs.c.withdrawn_us.is_(None), 1), else_=0)),
        ).select_from(src).where(cs.c.last_event_us <= a).group_by(dim)
        labels = ("received", "granted", "refused", "withdrawn", "closed", "open_cases")
        for value, *counts in self.conn.execute(self.within_points(volume, cs)):
            for label, n in zip(labels, counts, strict=True):
                if n:
                    self.add(value, "volume", label, n)
        self.open_clocks(a, period, fresh=True)
