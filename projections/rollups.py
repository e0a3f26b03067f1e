"""Rollups: what each case contributes to the figures, by local day and dimensions.

A case's contribution is read off its projected rows (decided clocks, outcome, calls, volume
times). When a batch re-evaluates a case, the rollups move by (new contribution − old one), in
the same transaction as the rows, so they always equal the sum over the cases' rows. Clocks
still open are not rolled up: they turn overdue by the clock, and the report merges them in from
the open-clocks index at query time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Table

from projections.tables import CaseTables

NOW_DAY = 0  # the "day" of figures that are about the present state (open cases)
# Metrics the report counts; the others are kept for the worker's gauges (SPEC §7): open clocks
# by clock (now), and follow-up calls that did not reach the applicant (by day).
REPORTED = ("clock", "case", "satisfaction", "volume")
OPEN_CLOCK, CALLS = "open_clock", "calls"

# (day, service point, channel, category, metric, label)
PointKey = tuple[int, str | None, str | None, str | None, str, str]


def local_day(us: int, tz: tzinfo) -> int:
    # Whole seconds are enough: a local day starts on a whole second in every time zone.
    moment = datetime.fromtimestamp(us // 1_000_000, tz)
    return moment.year * 10_000 + moment.month * 100 + moment.day


def day_number(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


class CaseRows:
    """A case's projected rows (as inserted, or as read back before they are replaced): any
    rows whose columns read as attributes."""

    def __init__(self, case: Any, clocks: Sequence[Any], outcome: Any | None,
                 calls: Sequence[Any], groups: Sequence[str]) -> None:
        self.case, self.clocks, self.outcome, self.calls, self.groups = (
            case, clocks, outcome, calls, groups)

    def items(self, tz: tzinfo) -> Iterable[tuple[int, str, str]]:
        """(day, metric, label) of every item the case counts in."""
        for row in self.clocks:
            if row.state in ("met", "breached"):
                yield local_day(row.decision_us, tz), "clock", f"{row.clock}:{row.state}"
            elif row.state == "open":
                yield NOW_DAY, OPEN_CLOCK, row.clock
        if self.outcome is not None:
            yield local_day(self.outcome.finished_us, tz), "case", self.outcome.outcome
        for row in self.calls:
            if row.reached and row.satisfaction:
                yield local_day(row.at_us, tz), "satisfaction", row.satisfaction
            elif not row.reached:
                yield local_day(row.at_us, tz), CALLS, "unreached"
        c = self.case
        for label, moment in (("received", c.received_us), ("withdrawn", c.withdrawn_us),
                              ("closed", c.closed_us)):
            if moment is not None:
                yield local_day(moment, tz), "volume", label
        if c.reviewed_us is not None and c.decision:
            label = "granted" if c.decision == "granted" else "refused"
            yield local_day(c.reviewed_us, tz), "volume", label
        if c.withdrawn_us is None and self.outcome is None:
            yield NOW_DAY, "volume", "open_cases"


class RollupDelta:
    def __init__(self) -> None:
        self.days: Counter[tuple[int, str, str]] = Counter()
        self.points: Counter[PointKey] = Counter()
        self.groups: Counter[tuple[int, str, str, str]] = Counter()

    def add(self, rows: CaseRows, tz: tzinfo, sign: int) -> None:
        c = rows.case
        items = list(rows.items(tz))
        dims = (c.service_point, c.channel, c.category)
        points = [(day, *dims, metric, label) for day, metric, label in items]
        groups = [(day, group, metric, label) for day, metric, label in items
                  for group in rows.groups]
        if sign > 0:  # Counter.update counts in C
            self.days.update(items)
            self.points.update(points)
            self.groups.update(groups)
        else:
            self.days.subtract(items)
            self.points.subtract(points)
            self.groups.subtract(groups)

    def apply(self, conn: Connection, tables: CaseTables, policy: str) -> None:
        _upsert(conn, tables.rollup_days, policy, self.days, ("day", "metric", "label"))
        _upsert(conn, tables.rollup_points, policy, self.points,
                ("day", "service_point", "channel", "category", "metric", "label"))
        _upsert(conn, tables.rollup_groups, policy, self.groups, ("day", "grp", "metric", "label"))


def _upsert(conn: Connection, table: Table, policy: str, delta: Counter[Any],
            names: tuple[str, ...]) -> None:
    rows = [(policy, *key, n) for key, n in delta.items() if n != 0]
    if not rows:
        return
    columns = ("policy", *names, "n")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    keys = [c.name for c in table.primary_key.columns]
    # Both SQLite and PostgreSQL take this upsert; the driver's executemany takes plain tuples.
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET n = {table.name}.n + excluded.n", rows)
