"""The SPEC §7 figures as one snapshot: windowed gauges equal to `report`, open clocks, and the
monotone decisions counter, computed at scrape time from the rollups and the due range.

When some case has an event later than now (an event may be dated up to five minutes ahead),
`report` counts per-case rows instead of the rollups; the snapshot then asks `report` itself for
each window, so the two never disagree.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TypeVar

from sqlalchemy import Engine

from domain.network import Network
from domain.policy import Policy
from projections.figures import SATISFACTION, Figures
from projections.metrics_counts import (
    WINDOWS,
    OpenCounts,
    cases_by_point,
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

K = TypeVar("K", bound=tuple[str, ...])
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
    # The gauges by county (SPEC §7 welcomes a bounded county label on gauges):
    open_by_county: dict[tuple[str, str, str], int] = field(default_factory=dict)  # county, clock, state
    cases_by_county: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # window ->


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
                 tz: tzinfo, queries: ReportQueries, clock: Callable[[], datetime],
                 network: Callable[[], Network]) -> None:
        self.reader, self.tables, self.policy, self.tz = reader, tables, policy, tz
        self.queries, self.clock, self.network = queries, clock, network
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
        county = self._county_of()  # before the read: the network comes through another engine
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
            windows: dict[str, Figures] = {}
            by_county: dict[str, dict[tuple[str, str], int]] = {}
            if complete:
                windows = window_figures(conn, tables, self.policy, periods, opened)
                by_point = cases_by_point(conn, tables, self.policy.name, periods)
                for name, counts in by_point.items():
                    by_county[name] = _summed(((county(point), outcome), n)
                                              for (point, outcome), n in counts.items())
            unreached = unreached_calls(conn, tables, self.policy.name, periods)
        if not complete:
            for name, (first, last) in dates.items():
                windows[name], by_county[name] = self._from_report(first, last, local)
        open_by_county = _summed(((county(point), clock, state), n)
                                 for (point, clock, state), n in opened.by_point.items())
        return Snapshot(local, windows, unreached, opened, "rollups" if complete else "report",
                        open_by_county=open_by_county, cases_by_county=by_county)

    def _county_of(self) -> Callable[[str], str]:
        network, known = self.network(), {}

        def county(point: str) -> str:
            if point not in known:
                known[point] = (network.key_at_level(point, "county")
                                if point in network.points else "unknown")
            return known[point]
        return county

    def _from_report(self, first: object, last: object, as_of: datetime
                     ) -> tuple[Figures, dict[tuple[str, str], int]]:
        body = self.queries.report(ReportRequest(policy=self.policy.name, as_of=as_of,
                                                 date_from=first, date_to=last,  # type: ignore[arg-type]
                                                 by="county"))
        by_county = {(row["key"], outcome): row["cases"][outcome] for row in body["rows"]
                     for outcome in ("achieved", "missed") if row["cases"][outcome]}
        fig = Figures()
        for clock, block in body["clocks"].items():
            fig.add_clock(clock, "met", block["met"])
            fig.add_clock(clock, "breached", block["breached"])
        fig.add_case("achieved", body["cases"]["achieved"])
        fig.add_case("missed", body["cases"]["missed"])
        for label in SATISFACTION:
            fig.satisfaction[label] = body["satisfaction"][label]
        return fig, by_county


def _summed(counts: Iterable[tuple[K, int]]) -> dict[K, int]:
    """Counts per service point folded into their county: several points share one."""
    total: Counter[K] = Counter()
    for key, n in counts:
        total[key] += n
    return dict(total)


__all__ = ["WINDOWS", "FiguresSource", "Snapshot"]
