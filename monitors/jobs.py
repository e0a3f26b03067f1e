"""The worker's scheduled jobs (APScheduler 3): the alert pass and the metrics it serves.

The composition root builds `MonitorParts` from settings and starts `MonitorJobs` beside the
projection loop; nothing here reads the environment. Jobs never overlap themselves
(`max_instances=1`), and a late run is merged into one (`coalesce`), so a slow database delays
alerts but never piles passes up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from domain.network import Network
from domain.policy import Policy
from monitors.delivery import Sink
from monitors.figures import FiguresSource
from monitors.leader import leader_for
from monitors.metrics import (
    FiguresCollector,
    LagGauge,
    LagTracker,
    StepDurations,
    position_reader,
    serve_metrics,
)
from monitors.passes import AlertMonitor
from monitors.quality import QualityGauges
from projections.queries import ReportQueries
from projections.tables import CaseTables

log = logging.getLogger("sixhours.monitors")

STEP_DURATIONS_EVERY_SECONDS = 5.0


@dataclass
class MonitorParts:
    engine: Engine  # read models and the outbox (writes)
    reader: Engine  # reads that must not queue behind writers (SQLite)
    tables: Callable[[], CaseTables | None]  # the active read-model version
    network: Callable[[], Network]
    policy: Policy  # the projected policy
    tz: tzinfo
    queries: ReportQueries
    head: Callable[[], int | None]  # the notification log's last id
    changed_cases: Callable[[int, int], set[str]]  # case ids of the events in (after, upto]
    clock: Callable[[], datetime]
    sinks: Sequence[Sink] = ()
    interval_seconds: float = 5.0
    full_every_seconds: float = 900.0  # a full reconciliation heals whatever a steady pass missed
    metrics_address: str = "127.0.0.1"
    metrics_port: int | None = None
    quality_every_seconds: float = 900.0  # the data-quality gauges read every recent history


class MonitorJobs:
    def __init__(self, parts: MonitorParts) -> None:
        self.parts = parts
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 60})
        self.monitor: AlertMonitor | None = None
        self.registry: CollectorRegistry | None = None
        self.server: Any = None

    def start(self) -> MonitorJobs:
        p = self.parts
        soon = datetime.now(UTC) + timedelta(seconds=0.5)
        if p.sinks:
            self.monitor = AlertMonitor(p.engine, p.reader, p.tables, p.network, p.policy, p.tz,
                                        p.sinks, leader_for(p.engine, f"alerts/{p.policy.name}"),
                                        p.clock, p.changed_cases, p.full_every_seconds)
            self.scheduler.add_job(self.monitor.safe_pass, "interval", id="alerts",
                                   seconds=p.interval_seconds, next_run_time=soon)
        if p.metrics_port is not None:
            self.registry = CollectorRegistry()  # collectors read the database at scrape time only
            source = FiguresSource(p.reader, p.tables, p.policy, p.tz, p.queries, p.clock,
                                   p.network)
            self.registry.register(FiguresCollector(source, p.policy))
            tracker = LagTracker(p.head, position_reader(p.reader, p.tables))
            self.registry.register(LagGauge(tracker))
            durations = StepDurations(self.registry, p.reader, p.tables, p.policy, p.clock)
            self.scheduler.add_job(_logged(durations.observe_new, "step durations"), "interval",
                                   id="step-durations", seconds=STEP_DURATIONS_EVERY_SECONDS,
                                   next_run_time=soon)
            quality = QualityGauges(p.reader, p.tables, p.network, p.policy, p.tz, p.clock)
            self.registry.register(quality)
            self.scheduler.add_job(_logged(quality.refresh, "data quality"), "interval",
                                   id="data-quality", seconds=p.quality_every_seconds,
                                   next_run_time=soon)
            # Sampled between scrapes too, so a backlog's age is seen from when it began.
            self.scheduler.add_job(_logged(tracker.sample, "projection lag"), "interval",
                                   id="projection-lag", seconds=1.0, next_run_time=soon)
            self.server = serve_metrics(self.registry, p.metrics_address, p.metrics_port)
        self.scheduler.start()
        return self

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.monitor is not None:
            self.monitor.close()


def _logged(job: Callable[[], Any], what: str) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception as error:  # noqa: BLE001 - a metrics job outlives database outages
            log.warning("%s job failed, retrying at its next run: %s", what, error)
    return run
