"""Issue 5 acceptance: the worker, real Alertmanager and real Prometheus on loopback.

Given a generated history and a policy whose clocks last twelve seconds, when new cases arrive
and `sixhours worker` runs with Alertmanager and /metrics configured, then each case's review
clock raises a 50% and a 75% warning and then an overdue alert in Alertmanager, with the case,
clock, service point, county, due time and supervisors as labels and no personal data; a
withdrawal and a refusing review resolve them; and Prometheus scraped the fixed metrics, whose
windows equal `report` at the scrape's evaluation time.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from projections.metrics_counts import WINDOWS
from sixhours.bootstrap import utc_now
from tests.monitors.scenario import (
    Case,
    caught_up,
    generated_history,
    quick_policy_file,
    settings_env,
    start_worker,
    stop_worker,
    store,
)
from tests.monitors.servers import Alertmanager, Prometheus, free_port, wait_for
from tests.monitors.test_metrics_figures import assert_window_equals_report, report_for

AM_CONFIG = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}
APPLICANT = {"name": "张小明", "id_number": "530502199001011234", "phone": "13812345678"}
POINT = "ly-t01"  # a township workstation of 隆阳区 (county ly)
FIXED = ("sixhours_clock_outcomes", "sixhours_cases_finished", "sixhours_follow_up_calls",
         "sixhours_open_clocks", "sixhours_clock_decisions_total", "sixhours_projection_lag_seconds")


def _one(am: Alertmanager, case_id: str, **labels: str) -> dict[str, Any] | None:
    found = am.alerts(case_id=case_id, **labels)
    assert len(found) <= 1, found
    return found[0] if found else None


def _prometheus_samples(prom: Prometheus) -> dict[Any, float]:
    names = "|".join(n for n in FIXED if n.startswith("sixhours_"))
    found = {}
    for item in prom.query(f'{{__name__=~"{names}|sixhours_figures_as_of_seconds"}}'):
        labels = {k: v for k, v in item["metric"].items() if k not in ("instance", "job")}
        name = labels.pop("__name__")
        found[(name, tuple(sorted(labels.items())))] = float(item["value"][1])
    return found


def test_alerts_and_metrics_through_real_alertmanager_and_prometheus(
        database_url: str, tmp_path: Path) -> None:
    am = Alertmanager(tmp_path / "am", AM_CONFIG)
    am.start()
    port = free_port()
    env = settings_env(database_url, quick_policy_file(tmp_path, seconds=12),
                       SIXHOURS_ALERTMANAGER_URL=am.url, SIXHOURS_METRICS_PORT=str(port),
                       SIXHOURS_MONITOR_INTERVAL_SECONDS="0.5", SIXHOURS_ALERT_REPOST_SECONDS="5")
    prom = Prometheus(tmp_path / "prom", port)
    with store(env) as c:
        start = (utc_now() - timedelta(days=400)).replace(hour=0, minute=0, second=0, microsecond=0)
        generated_history(c, tmp_path, cases=300, start=start, days=398)
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            prom.start()
            wait_for(lambda: caught_up(c), 120, "the worker to catch up")
            network = c.network()
            supervisors = ",".join(s.id for s in network.supervisors_of(POINT))
            late, withdrawn, prompt = (Case(c, POINT), Case(c, POINT), Case(c, POINT))
            late.received(applicant=APPLICANT)
            late.step("arrived", {"who": "applicant", "travel_minutes": 20})
            withdrawn.received()
            prompt.received()
            prompt.reviewed("refused")  # within its twelve seconds: never alerted

            warning = wait_for(lambda: _one(am, late.case_id, threshold="50%"), 60,
                               "the 50% warning")
            labels = warning["labels"]
            due = datetime.fromisoformat(labels.pop("due"))
            assert labels == {"alertname": "SixHoursClockWarning", "severity": "warning",
                              "source": "sixhours", "policy": "quick", "case_id": late.case_id,
                              "clock": "review", "service_point": POINT, "county": "ly",
                              "supervisors": supervisors, "threshold": "50%"}
            assert due > utc_now() - timedelta(seconds=12) and "summary_zh" in warning["annotations"]
            wait_for(lambda: _one(am, late.case_id, threshold="75%"), 60, "the 75% warning")

            wait_for(lambda: _one(am, withdrawn.case_id, severity="warning"), 60,
                     "the withdrawn case's warning")
            withdrawn.withdrawn()
            wait_for(lambda: not am.alerts(case_id=withdrawn.case_id), 60,
                     "the withdrawal to resolve its alerts")

            overdue = wait_for(lambda: _one(am, late.case_id, severity="overdue"), 60, "overdue")
            assert overdue["labels"]["alertname"] == "SixHoursClockOverdue"
            assert overdue["labels"]["clock"] == "review" and overdue["labels"]["county"] == "ly"
            assert not am.alerts(case_id=late.case_id, severity="warning")  # became overdue
            late.reviewed("refused")
            wait_for(lambda: not am.alerts(case_id=late.case_id), 60,
                     "the recorded review to resolve the overdue alert")
            assert not am.alerts(case_id=prompt.case_id)
            changed = utc_now()

            # Prometheus: the fixed metrics, scraped after the last change, equal `report`.
            def scraped_after_change() -> dict[Any, float] | None:
                found = _prometheus_samples(prom)
                as_of = found.get(("sixhours_figures_as_of_seconds", ()), 0.0)
                return found if as_of > changed.timestamp() + 1 else None

            found = wait_for(scraped_after_change, 60, "a scrape after the last change")
            assert {name for name, _ in found} >= {*FIXED, "sixhours_figures_as_of_seconds"}
            as_of = datetime.fromtimestamp(found[("sixhours_figures_as_of_seconds", ())],
                                           c.settings.tz)
            for window in WINDOWS:
                assert_window_equals_report(found, window, report_for(c, window, as_of, None))
            durations = prom.query('sixhours_step_duration_seconds_bucket{clock="review",le="3600.0"}')
            assert durations and float(durations[0]["value"][1]) >= 1
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            histogram = [line for line in metrics.splitlines()
                         if line.startswith("sixhours_step_duration_seconds")]
            assert histogram and not [line for line in histogram if "county=" in line]
            assert late.case_id not in metrics
            seen = json.dumps(am.alerts(), ensure_ascii=False) + json.dumps(overdue) + metrics
            assert not [v for v in APPLICANT.values() if v in seen]
        finally:
            code = stop_worker(worker)
            prom.stop()
            am.stop()
        assert code == 0, (tmp_path / "worker.log").read_text()
