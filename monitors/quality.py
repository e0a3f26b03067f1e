"""Data-quality signals (issue 6) as Prometheus gauges, per county and never per clerk or case.

The signals are read from every recent case's history through the clock engine — seconds to
minutes of work on a large store, far too slow for a scrape — so a slow job computes them and
the collector serves the last result. Cases received in the last `window` are assessed; the
gauges carry that window as a label, like the SPEC §7 figures do. Before the first run ends
there is nothing to serve, which Prometheus shows as absent rather than as a false zero.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from domain.network import Network
from domain.policy import Policy
from projections.data_quality import assess, point_gauges, stored_histories
from projections.tables import CaseTables

LEVEL = "county"  # a bounded label: a bureau has tens of counties, not thousands of clerks

HELP = {
    "sixhours_recording_lag_mean_seconds": "Mean time from a step happening to its recording",
    "sixhours_recording_lag_over_1h_ratio": "Share of steps recorded more than an hour late",
    "sixhours_deadline_heaping_z": "How far above chance met clocks stop just inside their "
                                   "deadline (z-score; 3 or more is a signal)",
    "sixhours_corrections_most_within_24h": "Most corrections written within any 24 hours",
    "sixhours_withdrawals_after_breach": "Withdrawn cases that had a clock breached before",
    "sixhours_follow_up_never_reached": "Closed cases whose every follow-up call went unanswered",
}


class QualityGauges(Collector):
    def __init__(self, reader: Engine, tables: Callable[[], CaseTables | None],
                 network: Callable[[], Network], policy: Policy, tz: tzinfo,
                 clock: Callable[[], datetime], window: timedelta = timedelta(days=30)) -> None:
        self.reader, self.tables, self.network = reader, tables, network
        self.policy, self.tz, self.clock, self.window = policy, tz, clock, window
        self._gauges: list[tuple[str, dict[str, str], float]] = []
        self._lock = threading.Lock()

    @property
    def window_label(self) -> str:
        return f"{int(self.window.total_seconds() // 86_400)}d"

    def refresh(self) -> None:
        tables = self.tables()
        if tables is None:
            return
        now, network = self.clock(), self.network()
        quality = assess(stored_histories(self.reader, tables, now - self.window), self.policy,
                         now, self.tz, network.area_of,
                         lambda point: network.key_at_level(point, LEVEL))
        gauges = point_gauges(quality, LEVEL)
        with self._lock:
            self._gauges = gauges

    def collect(self) -> Iterator[Any]:
        with self._lock:
            gauges = list(self._gauges)
        samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for name, labels, value in gauges:
            samples[name].append(({**labels, "window": self.window_label}, value))
        for name, rows in sorted(samples.items()):
            family = GaugeMetricFamily(name, f"{HELP[name]}, cases received in the window",
                                       labels=sorted(rows[0][0]))
            for labels, value in rows:
                family.add_metric([labels[k] for k in sorted(labels)], value)
            yield family
