"""Rollups: what each case contributes to the figures, by local day and dimensions.

A case's contribution is read off its projected rows (decided clocks, outcome, calls, volume
times). When a batch re-evaluates a case, the rollups move by (new contribution − old one), in
the same transaction as the rows, so they always equal the sum over the cases' rows. Clocks
still open are not rolled up: they turn overdue by the clock, and the report merges them in from
the open-clocks index at query time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, tzinfo
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Connection, Table, inspect

from projections.bulk import insert_rows
from projections.tables import CaseTables

NOW_DAY = 0  # the "day" of figures that are about the present state (open cases)
# Metrics the report counts; the others are kept for the worker's gauges (SPEC §7): open clocks
# by clock (now), and follow-up calls that did not reach the applicant (by day).
REPORTED = ("clock", "case", "satisfaction", "volume")
OPEN_CLOCK, CALLS = "open_clock", "calls"

# (day, service point, channel, category, metric, label)
PointKey = tuple[int, str | None, str | None, str | None, str, str]


# Every UTC offset in use is a whole number of quarter hours, so local days start on quarter
# hours of UTC: the day is looked up once per quarter hour instead of once per item.
QUARTER_HOUR = 900


def local_day(us: int, tz: tzinfo) -> int:
    # Whole seconds are enough: a local day starts on a whole second in every time zone.
    seconds = us // 1_000_000
    return _quarter_day(seconds // QUARTER_HOUR, tz) or _day_at(seconds, tz)


@lru_cache(maxsize=1 << 16)
def _quarter_day(quarter: int, tz: tzinfo) -> int:
    """The local day of a whole quarter hour of UTC, or 0 when a day starts or the offset
    changes inside it (a zone's historical offset in seconds, say): then each second is looked
    up on its own."""
    first = datetime.fromtimestamp(quarter * QUARTER_HOUR, tz)
    last = datetime.fromtimestamp(quarter * QUARTER_HOUR + QUARTER_HOUR - 1, tz)
    same = first.date() == last.date() and first.utcoffset() == last.utcoffset()
    return day_number(first) if same else 0


def _day_at(seconds: int, tz: tzinfo) -> int:
    return day_number(datetime.fromtimestamp(seconds, tz))


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

    def apply(self, conn: Connection, tables: CaseTables, policy: str, *,
              staged: bool = False) -> None:
        """Add the changes to the rollups, or (`staged`, in a build) append them to the staged
        rollups, for `merge_steps` to sum in at the build's end."""
        deltas: tuple[Counter[Any], ...] = (self.days, self.points, self.groups)
        for table, staged_table, delta in zip(tables.rollups, tables.staged_rollups, deltas,
                                              strict=True):
            columns = [c.name for c in table.columns]
            rows = [(policy, *key, n) for key, n in delta.items() if n != 0]
            if staged:
                insert_rows(conn, staged_table, rows, columns=columns)
            else:
                insert_rows(conn, table, rows, columns=columns, add_on_conflict="n")


def stages_rollups(conn: Connection) -> bool:
    """Whether a build appends its rollup changes and sums them at its end (PostgreSQL), or
    adds them batch by batch (SQLite).

    On PostgreSQL an upsert costs several times a plain COPY (a speculative insertion per row),
    and a key appears in few cases of a build (most rollup rows are one case's): appending, then
    grouping once and adding the key afterwards, is a sort instead of an index probe per row.
    SQLite's upsert into a table that is its key costs about what the append would, and its
    single writer would do the grouping at the end alone, so it adds as it goes."""
    return conn.dialect.name == "postgresql"


def without_keys(conn: Connection, tables: CaseTables) -> None:
    """A new version's rollups take a build's sums before they get their key (see above)."""
    if stages_rollups(conn):
        for table in tables.rollups:
            conn.exec_driver_sql(f"ALTER TABLE {table.name} DROP CONSTRAINT {table.name}_pkey")


# The staged changes are summed in halves (even and odd days), side by side.
HALVES = 2


def merge_steps(tables: CaseTables) -> list[Callable[[Connection], None]]:
    """How a build's staged rollup changes are summed into its rollups: steps that may run side
    by side, each in its own transaction, the biggest first. A step finds its half of the
    rollup already summed when it runs again after a crash, and does nothing."""
    pairs = zip(tables.rollups, tables.staged_rollups, strict=True)
    by_point_first = sorted(pairs, key=lambda pair: pair[0] is not tables.rollup_points)
    return [partial(_sum_half, table, staged, half)
            for table, staged in by_point_first for half in range(HALVES)]


def key_steps(tables: CaseTables) -> list[Callable[[Connection], None]]:
    """After `merge_steps`: key each rollup and clear its staged changes."""
    return [partial(_key, table, staged)
            for table, staged in zip(tables.rollups, tables.staged_rollups, strict=True)]


def _sum_half(table: Table, staged: Table, half: int, conn: Connection) -> None:
    if not stages_rollups(conn):
        return
    mine = f"mod(day, {HALVES}) = {half}"  # PostgreSQL only, see stages_rollups
    if conn.exec_driver_sql(f"SELECT 1 FROM {table.name} WHERE {mine} LIMIT 1").first():
        return
    keys = ", ".join(c.name for c in table.primary_key.columns)
    conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # group in memory, not on disk
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({keys}, n) SELECT {keys}, CAST(sum(n) AS BIGINT) "
        f"FROM {staged.name} WHERE {mine} GROUP BY {keys} HAVING sum(n) <> 0")


def _key(table: Table, staged: Table, conn: Connection) -> None:
    if not stages_rollups(conn):
        return
    if not inspect(conn).get_pk_constraint(table.name)["constrained_columns"]:
        keys = ", ".join(c.name for c in table.primary_key.columns)
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD CONSTRAINT {table.name}_pkey "
                             f"PRIMARY KEY ({keys})")
    conn.exec_driver_sql(f"TRUNCATE {staged.name}")
