"""The worker's Prometheus metrics (SPEC §7 fixed names) on a registry of its own.

Gauges and the decisions counter are a custom collector that reads the figures at scrape time
(`figures.py`); step durations are a histogram fed by a job with the clocks decided since its
last run; projection lag is sampled by the same job. Labels are the policy's clocks, outcomes,
states and windows: a few hundred series at any scale, no case or person ids, and no `county`
on the histogram.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, select

from domain.policy import Policy
from monitors.figures import WINDOWS, FiguresSource
from projections.figures import SATISFACTION
from projections.metrics_counts import OPEN_STATES, decided_since
from projections.tables import CaseTables, positions, to_us

log = logging.getLogger("sixhours.monitors")

# Seconds; the one-hour commitment is a bucket edge, so "within the hour" is read off directly.
STEP_BUCKETS = (60, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 14400, 28800, 86400,
                3 * 86400, 7 * 86400, 30 * 86400, float("inf"))
RECENT_GRACE_US = 15 * 60 * 1_000_000  # a step recorded up to 15 minutes late is still observed


class FiguresCollector(Collector):
    def __init__(self, source: FiguresSource, policy: Policy) -> None:
        self.source, self.policy = source, policy

    def collect(self) -> Iterator[Any]:
        snap = self.source.snapshot()
        if snap is None:
            return
        clocks = list(self.policy.clocks)
        # Every county that has counted anything gets every series (zeros included), so a
        # county's rate never vanishes for want of a sample.
        counties = sorted({county for county, _, _ in snap.open_by_county}
                          | {county for counts in snap.cases_by_county.values()
                             for county, _ in counts})
        outcomes = GaugeMetricFamily("sixhours_clock_outcomes", "Clocks decided in the window, "
                                     "as `report` counts them", labels=["clock", "outcome", "window"])
        cases = GaugeMetricFamily("sixhours_cases_finished", "Cases finished in the window, by "
                                  "county", labels=["outcome", "window", "county"])
        calls = GaugeMetricFamily("sixhours_follow_up_calls", "Follow-up calls in the window",
                                  labels=["satisfaction", "window"])
        for window in WINDOWS:
            fig = snap.windows[window]
            for clock in clocks:
                met, breached = fig.clocks.get(clock, [0, 0])
                outcomes.add_metric([clock, "met", window], met)
                outcomes.add_metric([clock, "breached", window], breached)
            cases_here = snap.cases_by_county.get(window, {})
            for county in counties:
                for outcome in ("achieved", "missed"):
                    cases.add_metric([outcome, window, county],
                                     cases_here.get((county, outcome), 0))
            for label in SATISFACTION:
                calls.add_metric([label, window], fig.satisfaction[label])
            calls.add_metric(["unreached", window], snap.unreached.get(window, 0))
        opened = GaugeMetricFamily("sixhours_open_clocks", "Open clocks now, by county; running "
                                   "+ warning = report's open.running", labels=["clock", "state",
                                                                                "county"])
        for county in counties:
            for clock in clocks:
                for state in OPEN_STATES:
                    opened.add_metric([clock, state, county],
                                      snap.open_by_county.get((county, clock, state), 0))
        decisions = CounterMetricFamily("sixhours_clock_decisions", "Clocks decided, counted as "
                                        "they are decided", labels=["clock", "outcome"])
        for clock in clocks:
            for outcome in ("met", "breached"):
                decisions.add_metric([clock, outcome], snap.decisions.get((clock, outcome), 0.0))
        # Not `sixhours_cases_finished`: under OpenMetrics a counter's family name drops
        # `_total`, and would clash with the gauge of that name.
        finished = CounterMetricFamily("sixhours_case_outcomes", "Cases finished, counted as "
                                       "they finish (the six-hours objective's events)",
                                       labels=["outcome"])
        for outcome in ("achieved", "missed"):
            finished.add_metric([outcome], snap.finished.get((outcome, ""), 0.0))
        as_of = GaugeMetricFamily("sixhours_figures_as_of_seconds", "The evaluation time of the "
                                  "figures above (Unix time)")
        as_of.add_metric([], snap.as_of.timestamp())
        yield from (outcomes, cases, calls, opened, decisions, finished, as_of)


class LagTracker:
    """How long the oldest event the projection has not applied has been waiting: the time this
    worker first saw the log's head pass the projection's position."""

    def __init__(self, head: Callable[[], int | None], position: Callable[[], int]) -> None:
        self.head, self.position = head, position
        self.seen: deque[tuple[int, float]] = deque()
        self.behind = 0
        self._lock = threading.Lock()

    def sample(self) -> float:
        with self._lock:
            head, at = self.head() or 0, time.time()
            if not self.seen or head > self.seen[-1][0]:
                self.seen.append((head, at))
            position = self.position()
            self.behind = max(head - position, 0)
            while self.seen and self.seen[0][0] <= position:
                self.seen.popleft()
            if self.behind == 0 or not self.seen:
                return 0.0
            return max(at - self.seen[0][1], 0.0)


class StepDurations:
    """Observes each clock's active time when it stops, once, as the job finds it decided."""

    def __init__(self, registry: CollectorRegistry, reader: Engine,
                 tables: Callable[[], CaseTables | None], policy: Policy,
                 clock: Callable[[], datetime]) -> None:
        self.reader, self.tables, self.policy = reader, tables, policy
        self.histogram = Histogram("sixhours_step_duration_seconds", "Active time of a clock "
                                   "from its start to the step that stopped it", ["clock"],
                                   buckets=STEP_BUCKETS, registry=registry)
        self.outcomes = ("met", "breached")
        self.since = to_us(clock())  # from the worker's start: history is in the gauges
        self.seen: dict[tuple[str, str, int], None] = {}

    def observe_new(self) -> int:
        tables = self.tables()
        if tables is None:
            return 0
        with self.reader.connect() as conn:
            found = decided_since(conn, tables, self.policy, self.since - RECENT_GRACE_US)
        observed = 0
        for d in found:
            key = (d.case_id, d.clock, d.decision_us)
            if key in self.seen:
                continue
            self.seen[key] = None
            self.histogram.labels(d.clock).observe(d.elapsed_us / 1_000_000)
            observed += 1
        if found:
            self.since = max(self.since, max(d.decision_us for d in found))
        horizon = self.since - RECENT_GRACE_US
        self.seen = {k: None for k in self.seen if k[2] > horizon}
        return observed


def position_reader(reader: Engine, tables: Callable[[], CaseTables | None]) -> Callable[[], int]:
    def position() -> int:
        active = tables()
        if active is None:
            return 0
        with reader.connect() as conn:
            found = conn.execute(select(positions.c.position).where(
                positions.c.name == f"cases/{active.prefix}")).scalar()
        return int(found or 0)
    return position


class LagGauge(Collector):
    def __init__(self, tracker: LagTracker) -> None:
        self.tracker = tracker

    def collect(self) -> Iterator[Any]:
        lag = self.tracker.sample()
        seconds = GaugeMetricFamily("sixhours_projection_lag_seconds", "How long the oldest "
                                    "event not yet projected has waited", labels=["projection"])
        seconds.add_metric(["cases"], lag)
        behind = GaugeMetricFamily("sixhours_projection_behind_events", "Events not yet "
                                   "projected", labels=["projection"])
        behind.add_metric(["cases"], self.tracker.behind)
        yield from (seconds, behind)


def serve_metrics(registry: CollectorRegistry, address: str, port: int) -> Any:
    """Serve /metrics; returns the server (its `shutdown()` stops it)."""
    server, _thread = start_http_server(port, addr=address, registry=registry)
    log.info("metrics: http://%s:%d/metrics", address, port)
    return server
