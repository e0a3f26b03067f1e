"""Open clocks whose warning or deadline has come: what the monitors read, and nothing more.

Two reads of the open-clocks index `(policy, state, due_us)`: every open clock due before
`now + lead` (`lead`: the longest a clock can be in warning), for a full reconciliation and the
gauges; and, for the monitors' steady passes, only the clocks that crossed a threshold since the
last pass — a few narrow due ranges, since a threshold is a fixed offset before the due time.
Which rows are in warning or overdue is decided here, the same way for alerts and for the
`sixhours_open_clocks` gauge: row by row (`DueClock.state`) for alerts, and as one aggregate over
the same range (`state_counts`, the same rule in SQL) for the gauge, which needs only numbers.

A threshold is a share of the clock's span: its target in minutes (by area), or for a limit in
days the limit itself (days × 24 h), counted back from the due time. (Where holidays stretch a
day limit, the warning therefore comes later than a share of the stretched time would put it,
never after the deadline; that keeps it a fixed offset, which the index can find.)

A row's due time excludes a pause still open; while paused, the due time moves with the pause,
and a clock paused before it fell due is not overdue (SPEC §4) — as the report counts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)

from domain.policy import Policy
from projections.tables import CaseTables, from_us

MINUTE_US = 60_000_000
DAY_US = 86_400_000_000


@dataclass(frozen=True, slots=True)
class DueClock:
    """An open clock near or past its deadline, without anything personal."""

    case_id: str
    clock: str
    service_point: str | None
    area: str | None
    started_us: int
    due_us: int  # excluding a pause still open
    pause_began_us: int | None

    def paused_before_due(self) -> bool:
        return self.pause_began_us is not None and self.pause_began_us <= self.due_us

    def effective_due_us(self, now_us: int) -> int:
        """The due time as of `now`: an open pause that began in time pushes it back."""
        if self.paused_before_due():
            assert self.pause_began_us is not None
            return self.due_us + max(now_us - self.pause_began_us, 0)
        return self.due_us

    def is_overdue(self, now_us: int) -> bool:
        return self.due_us < now_us and not self.paused_before_due()

    def span_us(self, policy: Policy) -> int:
        return span_us(policy, self.clock, self.area)

    def state(self, policy: Policy, now_us: int) -> tuple[str, float | None]:
        """("overdue", 1.0), ("warning", highest threshold passed) or ("running", None)."""
        if self.is_overdue(now_us):
            return "overdue", 1.0
        due, span = self.effective_due_us(now_us), self.span_us(policy)
        passed = None
        for share in policy.warning_thresholds:
            if now_us >= due - int((1 - share) * span):
                passed = share
        return ("warning", passed) if passed is not None else ("running", None)

    def threshold_at_us(self, policy: Policy, share: float, now_us: int) -> int:
        """When the clock reached `share` of its span (for an alert's start time)."""
        return self.effective_due_us(now_us) - int((1 - share) * self.span_us(policy))

    @property
    def due_at(self) -> datetime:
        return from_us(self.due_us)


def span_us(policy: Policy, clock: str, area: str | None) -> int:
    """The time a threshold is a share of: the target in minutes (by area), or the day limit."""
    target = policy.clocks[clock]
    if target.days is not None:
        return target.days * DAY_US
    minutes = target.by_area.get(area or "", target.minutes)
    assert minutes is not None
    return int(minutes * MINUTE_US)


def spans_us(policy: Policy) -> set[int]:
    """Every span a clock of this policy can have."""
    found = set()
    for target in policy.clocks.values():
        if target.days is not None:
            found.add(target.days * DAY_US)
        else:
            assert target.minutes is not None
            found.update(int(m * MINUTE_US) for m in (target.minutes, *target.by_area.values()))
    return found


def lead_us(policy: Policy) -> int:
    """The longest a clock of this policy can be in warning before its due time."""
    lowest = min(policy.warning_thresholds, default=1.0)
    return int((1 - lowest) * max(spans_us(policy), default=0)) + 1


def crossing_ranges(policy: Policy, last_us: int, now_us: int) -> list[tuple[int, int]]:
    """Due-time ranges [lo, hi) holding every clock that fell overdue or passed a warning
    threshold after `last_us` and by `now_us` (a superset: the caller decides)."""
    ranges = [(last_us, now_us)]  # overdue: due < now, and not yet at the last pass
    for share in policy.warning_thresholds:
        for span in spans_us(policy):
            ahead = int((1 - share) * span)
            ranges.append((last_us + ahead, now_us + ahead + 1))
    return ranges


def _columns(tables: CaseTables) -> Any:
    c, k = tables.clocks, tables.cases
    return (select(c.c.case_id, c.c.clock, c.c.service_point, k.c.area, c.c.started_us,
                   c.c.due_us, c.c.pause_began_us)
            .select_from(c.outerjoin(k, k.c.case_id == c.c.case_id)))


def crossed_cases(conn: Connection, tables: CaseTables, policy: Policy, last_us: int,
                  now_us: int) -> set[str]:
    """Cases with an open clock that may have changed state between the two times."""
    c = tables.clocks
    ranges = [select(c.c.case_id).where(c.c.policy == policy.name, c.c.state == "open",
                                        c.c.due_us >= lo, c.c.due_us < hi)
              for lo, hi in crossing_ranges(policy, last_us, now_us)]
    # One statement, one round trip: each branch is still its own range of the index.
    return set(conn.execute(union_all(*ranges)).scalars())


def open_clocks_of(conn: Connection, tables: CaseTables, policy: str,
                   case_ids: Iterable[str]) -> list[DueClock]:
    """Every open clock of these cases (key lookups)."""
    c, ids = tables.clocks, sorted(case_ids)
    found: list[DueClock] = []
    for start in range(0, len(ids), 500):
        # The state is checked here, not in SQL: given `state = 'open'`, SQLite's planner walks
        # the (policy, state, ...) index over every open clock instead of the case keys.
        query = _columns(tables).add_columns(c.c.state).where(
            c.c.policy == policy, c.c.case_id.in_(ids[start:start + 500]))
        found.extend(DueClock(*row[:-1]) for row in conn.execute(query) if row[-1] == "open")
    return found


def due_clocks(conn: Connection, tables: CaseTables, policy: str, until_us: int) -> list[DueClock]:
    """Every open clock of `policy` due before `until_us` (an open pause not counted), with its
    case's area: one range of the open-clocks index, then a key lookup per row."""
    c = tables.clocks
    query = _columns(tables).where(c.c.policy == policy, c.c.state == "open",
                                   c.c.due_us <= until_us)
    return [DueClock(*row) for row in conn.execute(query)]


@dataclass
class StateCounts:
    """Open clocks in warning and overdue by clock, and the overdue ones by due-time range."""

    warning: dict[str, int] = field(default_factory=dict)
    overdue: dict[str, int] = field(default_factory=dict)
    overdue_within: dict[str, dict[str, int]] = field(default_factory=dict)  # range -> clock -> n
    # (service point, clock) -> (warning, overdue): the same counts per point, for the gauges
    # by county
    by_point: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


def state_counts(conn: Connection, tables: CaseTables, policy: Policy, now_us: int,
                 ranges: Mapping[str, tuple[int, int]]) -> StateCounts:
    """`DueClock.state` counted in the database over the due range `due_clocks` reads: one
    aggregate query, no rows fetched. `ranges` name due-time ranges [lo, hi) whose overdue
    clocks are counted apart (a window's clocks breached by falling overdue in it)."""
    c, k = tables.clocks, tables.cases
    paused = and_(c.c.pause_began_us.is_not(None), c.c.pause_began_us <= c.c.due_us)
    overdue = and_(c.c.due_us < now_us, or_(c.c.pause_began_us.is_(None),
                                             c.c.pause_began_us > c.c.due_us))
    # The due time as of now: an open pause that began in time pushes it back (effective_due_us).
    effective_due = c.c.due_us + case((and_(paused, c.c.pause_began_us < now_us),
                                       now_us - c.c.pause_began_us), else_=0)
    lowest = min(policy.warning_thresholds, default=None)
    source: Any = c
    ahead: Any = None
    if lowest is not None:
        # The lowest threshold is passed first (the furthest ahead of the due time): a clock
        # has passed some threshold exactly when it has passed that one.
        whens: list[tuple[Any, int]] = []
        area = func.coalesce(k.c.area, "")
        for name, target in policy.clocks.items():
            for key in sorted(target.by_area):
                whens.append((and_(c.c.clock == name, area == key),
                              _big(int((1 - lowest) * span_us(policy, name, key)))))
                source = c.outerjoin(k, k.c.case_id == c.c.case_id)  # only for areas' spans
            whens.append((c.c.clock == name,
                          _big(int((1 - lowest) * span_us(policy, name, None)))))
        ahead = case(*whens, else_=literal(None, BigInteger))  # not the policy's clock: never a warning
    warning = false() if ahead is None else and_(not_(overdue),
                                                 effective_due <= _big(now_us) + ahead)
    sums = [func.sum(case((overdue, 1), else_=0)), func.sum(case((warning, 1), else_=0))]
    sums += [func.sum(case((and_(overdue, c.c.due_us >= lo, c.c.due_us < hi), 1), else_=0))
             for lo, hi in ranges.values()]
    point = func.coalesce(c.c.service_point, "")
    query = (select(c.c.clock, point, *sums).select_from(source)
             .where(c.c.policy == policy.name, c.c.state == "open",
                    c.c.due_us <= now_us + lead_us(policy))
             .group_by(c.c.clock, point))
    found = StateCounts(overdue_within={name: {} for name in ranges})
    for clock, point_id, n_overdue, n_warning, *within in conn.execute(query):
        if clock not in policy.clocks:
            continue
        overdue_n, warning_n = int(n_overdue or 0), int(n_warning or 0)
        found.overdue[clock] = found.overdue.get(clock, 0) + overdue_n
        found.warning[clock] = found.warning.get(clock, 0) + warning_n
        found.by_point[(point_id, clock)] = (warning_n, overdue_n)
        for name, n in zip(ranges, within, strict=True):
            counted = found.overdue_within[name]
            counted[clock] = counted.get(clock, 0) + int(n or 0)
    return found


def _big(value: int) -> Any:
    """A microsecond count as a 64-bit SQL literal (PostgreSQL takes a bare int as 32-bit)."""
    return literal(value, BigInteger)
