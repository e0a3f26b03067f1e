"""Counts behind the worker's Prometheus gauges (SPEC §7), the way `report` counts them.

The windowed figures come from the rollups (one query with the windows side by side, added into
the report's own `Tally`), plus the overdue clocks of each window from the open-clocks index: an
overdue clock counts as breached at the instant it became overdue, exactly as in the report.
Open clocks by state come from the projection's count of open clocks by clock and one aggregate
over the due range the monitors read (`state_counts`). Nothing here reads a case's history,
fetches per-clock rows or counts per-case rows, so a scrape costs the same at any scale but the
number of clocks near their deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import Connection, case, func, or_, select

from domain.policy import Policy
from projections.due_clocks import state_counts
from projections.figures import Figures, Period, Tally
from projections.rollups import CALLS, NOW_DAY, OPEN_CLOCK, REPORTED, day_number
from projections.tables import CaseTables, to_us

WINDOWS = ("today", "7d", "30d", "month", "year", "all")
OPEN_STATES = ("running", "warning", "overdue")


def window_dates(today: date, earliest: date | None) -> dict[str, tuple[date, date]]:
    """Local calendar windows ending today (inclusive); `all` starts at the earliest item, as
    `report` does without --from."""
    return {"today": (today, today), "7d": (today - timedelta(days=6), today),
            "30d": (today - timedelta(days=29), today), "month": (today.replace(day=1), today),
            "year": (today.replace(month=1, day=1), today),
            "all": (min(earliest, today) if earliest else today, today)}


def period_of(first: date, last: date, tz: tzinfo) -> Period:
    return Period(datetime.combine(first, time(0), tz),
                  datetime.combine(last + timedelta(days=1), time(0), tz))


@dataclass
class OpenCounts:
    by_state: dict[tuple[str, str], int] = field(default_factory=dict)  # (clock, state) -> n
    # window -> clock -> open clocks that fell overdue in it (breached at that instant)
    overdue_in: dict[str, dict[str, int]] = field(default_factory=dict)
    by_point: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (point, clock, state)


def earliest_day(conn: Connection, tables: CaseTables, policy: str, tz: tzinfo) -> date | None:
    """The local date of the earliest application (the report's default start)."""
    r = tables.rollup_days
    day = conn.execute(select(func.min(r.c.day)).where(
        r.c.policy == policy, r.c.day > NOW_DAY, r.c.metric == "volume", r.c.label == "received",
        r.c.n > 0)).scalar()
    if day is None:
        return None
    return date(day // 10_000, day // 100 % 100, day % 100)


def rollups_complete(conn: Connection, tables: CaseTables, now_us: int) -> bool:
    """Whether every case's last event is visible now, so that the rollups hold every item
    (otherwise `report` counts rows, and so must we)."""
    latest = conn.execute(select(func.max(tables.cases.c.last_event_us))).scalar()
    return latest is None or latest <= now_us


def open_counts(conn: Connection, tables: CaseTables, policy: Policy, now_us: int,
                periods: Mapping[str, Period]) -> OpenCounts:
    """Open clocks by clock and state, and each window's clocks that fell overdue in it."""
    r = tables.rollup_days  # open clocks by clock, kept by the projection (no count of rows)
    totals: dict[str, int] = dict(conn.execute(select(r.c.label, r.c.n).where(
        r.c.policy == policy.name, r.c.day == NOW_DAY, r.c.metric == OPEN_CLOCK)).all())
    near = state_counts(conn, tables, policy, now_us, {
        name: (to_us(p.start), to_us(p.end)) for name, p in periods.items()})
    counts = OpenCounts(overdue_in=near.overdue_within)
    for clock in policy.clocks:
        warning, overdue = near.warning.get(clock, 0), near.overdue.get(clock, 0)
        counts.by_state[(clock, "warning")] = warning
        counts.by_state[(clock, "overdue")] = overdue
        counts.by_state[(clock, "running")] = int(totals.get(clock, 0)) - warning - overdue
    p = tables.rollup_points
    point = func.coalesce(p.c.service_point, "")
    per_point = conn.execute(select(point, p.c.label, func.sum(p.c.n)).where(
        p.c.policy == policy.name, p.c.day == NOW_DAY, p.c.metric == OPEN_CLOCK)
        .group_by(point, p.c.label))
    for point_id, clock, total in per_point:
        if clock not in policy.clocks:
            continue
        warning, overdue = near.by_point.get((point_id, clock), (0, 0))
        counts.by_point[(point_id, clock, "warning")] = warning
        counts.by_point[(point_id, clock, "overdue")] = overdue
        counts.by_point[(point_id, clock, "running")] = int(total or 0) - warning - overdue
    return counts


def cases_by_point(conn: Connection, tables: CaseTables, policy: str,
                   periods: Mapping[str, Period]) -> dict[str, dict[tuple[str, str], int]]:
    """Cases finished per window, service point and outcome, from the point rollups (one read,
    the windows side by side, as `window_figures` reads the day rollups)."""
    p = tables.rollup_points
    point = func.coalesce(p.c.service_point, "")
    sums = [func.sum(case((p.c.day.between(day_number(w.start.date()),
                                           day_number((w.end - timedelta(days=1)).date())),
                           p.c.n), else_=0)) for w in periods.values()]
    query = select(point, p.c.label, *sums).where(
        p.c.policy == policy, p.c.metric == "case").group_by(point, p.c.label)
    found: dict[str, dict[tuple[str, str], int]] = {name: {} for name in periods}
    for point_id, outcome, *per_window in conn.execute(query):
        for name, n in zip(periods, per_window, strict=True):
            if n:
                found[name][(point_id, outcome)] = int(n)
    return found


def window_figures(conn: Connection, tables: CaseTables, policy: Policy,
                   periods: Mapping[str, Period], opened: OpenCounts) -> dict[str, Figures]:
    """Each window's figures from the rollups, plus the clocks that became overdue in it.

    One read of the rollups for all windows, each window a sum over its days: the report's
    rollup count (`Counter.rollups`: the reported metrics of the window's days and of the
    present) with the windows side by side, added into the report's own `Tally`."""
    r = tables.rollup_days
    bounds = [(day_number(p.start.date()), day_number((p.end - timedelta(days=1)).date()))
              for p in periods.values()]
    sums = [func.sum(case((or_(r.c.day.between(first, last), r.c.day == NOW_DAY), r.c.n),
                          else_=0)) for first, last in bounds]
    query = select(r.c.metric, r.c.label, *sums).where(
        r.c.policy == policy.name, r.c.metric.in_(REPORTED)).group_by(r.c.metric, r.c.label)
    tallies = {name: Tally() for name in periods}
    for metric, label, *per_window in conn.execute(query):
        for name, n in zip(periods, per_window, strict=True):
            if n:
                tallies[name].add(None, metric, label, int(n))
    found: dict[str, Figures] = {}
    for name, tally in tallies.items():
        for clock, n in opened.overdue_in.get(name, {}).items():
            if n:
                tally.total.add_clock(clock, "breached", n)
        found[name] = tally.total
    return found


def unreached_calls(conn: Connection, tables: CaseTables, policy: str,
                    periods: Mapping[str, Period]) -> dict[str, int]:
    """Follow-up calls that did not reach the applicant, per window, from the rollups."""
    r = tables.rollup_days
    sums = [func.sum(case((r.c.day.between(day_number(p.start.date()),
                                           day_number((p.end - timedelta(days=1)).date())),
                           r.c.n), else_=0)) for p in periods.values()]
    row = conn.execute(select(*sums).where(r.c.policy == policy, r.c.metric == CALLS,
                                           r.c.label == "unreached")).first()
    return {name: int(n or 0) for name, n in zip(periods, row or (), strict=False)}


@dataclass(frozen=True, slots=True)
class Decided:
    case_id: str
    clock: str
    state: str  # met | breached
    elapsed_us: int  # active time from start to stop
    decision_us: int


def decided_since(conn: Connection, tables: CaseTables, policy: Policy,
                  since_us: int) -> list[Decided]:
    """Clocks stopped (met or breached by their stop) with a decision after `since_us`: one
    range of the decided-clocks index per clock and outcome. Pauses are taken off the elapsed
    time where the target is in minutes (the due time moved by exactly the pauses)."""
    c, k = tables.clocks, tables.cases
    query = (select(c.c.case_id, c.c.clock, c.c.state, c.c.started_us, c.c.stopped_us,
                    c.c.due_us, c.c.decision_us, k.c.area)
             .select_from(c.outerjoin(k, k.c.case_id == c.c.case_id))
             .where(c.c.policy == policy.name, c.c.state.in_(("met", "breached")),
                    c.c.clock.in_(sorted(policy.clocks)), c.c.decision_us > since_us,
                    c.c.decision_us == c.c.stopped_us))  # not ended by a withdrawal or refusal
    found = []
    for case_id, clock, state, started, stopped, due, decided, area in conn.execute(query):
        target = policy.clocks[clock]
        paused = 0
        if target.minutes is not None:
            minutes = target.by_area.get(area or "", target.minutes)
            paused = max(due - started - int(minutes * 60_000_000), 0)
        found.append(Decided(case_id, clock, state, max(stopped - started - paused, 0), decided))
    return found
