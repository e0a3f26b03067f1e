"""The SPEC §7 figures as one snapshot: windowed gauges equal to `report`, open clocks, and the
monotone decisions counter, computed at scrape time from the rollups and the due range.

When some case has an event later than now (an event may be dated up to five minutes ahead),
`report` counts per-case rows instead of the rollups; the snapshot then asks `report` itself for
each window, so the two never disagree.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy import Engine

from domain.policy import Policy
from projections.figures import SATISFACTION, Figures
from projections.metrics_counts import (
    WINDOWS,
    OpenCounts,
    earliest_day,
    open_counts,
    period_of,
    rollups_complete,
    unreached_calls,
    window_dates,
    window_figures,
)
from projections.queries import ReportQueries, ReportRequest
from projections.tables import CaseTables, to_us

CACHE_SECONDS = 1.0  # two scrapers (or a scrape and a test) in the same second share one read


@dataclass
class Snapshot:
    as_of: datetime
    windows: dict[str, Figures]
    unreached: dict[str, int]
    open: OpenCounts
    source: str  # rollups | report
    decisions: dict[tuple[str, str], float] = field(default_factory=dict)
    finished: dict[tuple[str, str], float] = field(default_factory=dict)


class Decisions:
    """A counter from totals (`sixhours_clock_decisions_total`, `sixhours_case_outcomes_total`):
    it starts at the items of all time and only grows, by each increase of a total — so a
    later correction never decrements it."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str], int] = {}
        self.value: dict[tuple[str, str], float] = {}

    def update(self, totals: dict[tuple[str, str], int]) -> dict[tuple[str, str], float]:
        for key, total in totals.items():
            if key not in self.value:
                self.value[key] = float(total)
            else:
                self.value[key] += max(total - self.last.get(key, 0), 0)
            self.last[key] = total
        return dict(self.value)


class FiguresSource:
    def __init__(self, reader: Engine, tables: Callable[[], CaseTables | None], policy: Policy,
                 tz: tzinfo, queries: ReportQueries, clock: Callable[[], datetime]) -> None:
        self.reader, self.tables, self.policy, self.tz = reader, tables, policy, tz
        self.queries, self.clock = queries, clock
        self.decisions = Decisions()
        self.finished = Decisions()  # cases, for the burn-rate rules on the six-hours objective
        self._lock = threading.Lock()
        self._cached: tuple[float, Snapshot] | None = None

    def snapshot(self) -> Snapshot | None:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            tables = self.tables()
            if tables is None:
                return None
            snap = self._compute(tables, self.clock())
            totals = {(clock, outcome): n for clock, (met, breached)
                      in snap.windows["all"].clocks.items()
                      for outcome, n in (("met", met), ("breached", breached))}
            snap.decisions = self.decisions.update(totals)
            achieved, missed = snap.windows["all"].cases
            snap.finished = self.finished.update({("achieved", ""): achieved, ("missed", ""): missed})
            self._cached = (time.monotonic(), snap)
            return snap

    def _compute(self, tables: CaseTables, now: datetime) -> Snapshot:
        now_us = to_us(now)
        local = now.astimezone(self.tz)
        with self.reader.connect() as conn:
            if conn.dialect.name == "postgresql":
                # These are small aggregates over index ranges; PostgreSQL's estimate of the due
                # range runs high, and a parallel plan's start-up cost more than doubled the open-
                # clock count at a million open clocks (measured). For this transaction only.
                conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            dates = window_dates(local.date(), earliest_day(conn, tables, self.policy.name, self.tz))
            periods = {name: period_of(first, last, self.tz) for name, (first, last) in dates.items()}
            opened = open_counts(conn, tables, self.policy, now_us, periods)
            complete = rollups_complete(conn, tables, now_us)
            windows = window_figures(conn, tables, self.policy, periods, opened) if complete else {}
            unreached = unreached_calls(conn, tables, self.policy.name, periods)
        if not complete:
            windows = {name: self._from_report(first, last, local)
                       for name, (first, last) in dates.items()}
        return Snapshot(local, windows, unreached, opened, "rollups" if complete else "report")

    def _from_report(self, first: object, last: object, as_of: datetime) -> Figures:
        body = self.queries.report(ReportRequest(policy=self.policy.name, as_of=as_of,
                                                 date_from=first, date_to=last))  # type: ignore[arg-type]
        fig = Figures()
        for clock, block in body["clocks"].items():
            fig.add_clock(clock, "met", block["met"])
            fig.add_clock(clock, "breached", block["breached"])
        fig.add_case("achieved", body["cases"]["achieved"])
        fig.add_case("missed", body["cases"]["missed"])
        for label in SATISFACTION:
            fig.satisfaction[label] = body["satisfaction"][label]
        return fig


__all__ = ["WINDOWS", "FiguresSource", "Snapshot"]
