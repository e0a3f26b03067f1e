"""Issue 8 acceptance: every panel's PromQL, run against a real Prometheus, parses and returns data.

Given two months of the generated Baoshan workload, `sixhours worker` serving /metrics and
posting its alerts to a real Alertmanager, and a real Prometheus scraping both with the
generated rules loaded, when cases are worked through all six steps while it watches (in two
waves, so the step-duration histogram and the counters move between scrapes), then each target
of each committed dashboard — its Grafana variables replaced by what Grafana sends with the
dashboard's defaults ("All" is `.+`) — answers `success` with at least one finite value, range
targets over a range too, and each county variable lists counties.

Every query is evaluated at one instant taken once everything is scraped, so how long the
tests take afterwards changes nothing.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sixhours import workload
from sixhours.bootstrap import Container, utc_now
from sixhours.dashboards_cli import load_config
from tests.dashboards.committed import CONFIG, ROOT, targets
from tests.monitors.scenario import (
    Case,
    caught_up,
    generated_history,
    settings_env,
    start_worker,
    stop_worker,
    store,
)
from tests.monitors.servers import Alertmanager, Prometheus, free_port, http_json, wait_for

RULES = ROOT / "docker" / "prometheus" / "rules" / "sixhours.rules.yml"
AM_CONFIG = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}
POINT = "ly-t01"  # a township workstation of 隆阳区 (county ly)
LIVE_CASES = 4  # per wave
# What Grafana puts for its own variables on a dashboard opened on its default 30 days: an
# interval of at least a few scrapes (Grafana's is ~45 min there; shorter is the harder test).
GRAFANA_BUILTINS = {"__rate_interval": "5m", "__interval": "1m"}
TARGETS = list(targets())


@dataclass
class Scraped:
    prometheus: Prometheus
    at: float  # the evaluation time of every query


class DashboardPrometheus(Prometheus):
    """The monitor tests' Prometheus, also scraping Alertmanager's own metrics."""

    def __init__(self, workdir: Path, worker_port: int, alertmanager_port: int) -> None:
        super().__init__(workdir, worker_port, rules=(RULES,))
        config = load_config(CONFIG)
        path = workdir / "prometheus.yml"
        body = yaml.safe_load(path.read_text())
        assert [job["job_name"] for job in body["scrape_configs"]] == [config.job]
        body["scrape_configs"].append({"job_name": config.alertmanager_job, "static_configs": [
            {"targets": [f"127.0.0.1:{alertmanager_port}"]}]})
        path.write_text(yaml.safe_dump(body))


def _work_through(c: Container, handler: tuple[str, str]) -> None:
    """A walk-in case from application to return visit, each step now (all six hours met)."""
    case = Case(c, POINT)
    case.received()
    case.step("arrived", {"who": "applicant", "travel_minutes": 20})
    case.reviewed("granted")
    case.step("accepted", {})
    case.step("assigned", {"handler": handler[0], "handler_kind": handler[1]})
    case.step("first_meeting", {"mode": "in_person"})
    case.step("closed", {"outcome": "favourable"})
    case.step("documents_reviewed", {"grade": "good"})
    case.step("follow_up_call", {"reached": True, "satisfaction": "satisfied"})


def _value(prom: Prometheus, expr: str) -> float:
    found = prom.query(expr)
    return float(found[0]["value"][1]) if found else 0.0


def _rules_evaluated_after(prom: Prometheus, moment: float) -> bool:
    groups = http_json(f"{prom.url}/api/v1/rules")["data"]["groups"]
    return bool(groups) and all(
        _unix(g["lastEvaluation"]) > moment for g in groups)


def _unix(stamp: str) -> float:
    # Go's RFC 3339 has nanoseconds; Python reads at most microseconds.
    return datetime.fromisoformat(re.sub(r"\.(\d{6})\d*", r".\1", stamp.replace("Z", "+00:00"))).timestamp()


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    workdir = tmp_path_factory.mktemp("panels")
    am = Alertmanager(workdir / "am", AM_CONFIG)
    am.start()
    port = free_port()
    env = settings_env(f"sqlite:///{workdir / 'store.sqlite'}", SIXHOURS_ALERTMANAGER_URL=am.url,
                       SIXHOURS_METRICS_PORT=str(port), SIXHOURS_MONITOR_INTERVAL_SECONDS="1",
                       # the data-quality job's first run may find the read model not built yet
                       SIXHOURS_QUALITY_EVERY_SECONDS="3")
    prom = DashboardPrometheus(workdir / "prom", port, am.port)
    handler = workload.handlers(1)[0]
    try:
        with store(env) as c:
            start = (utc_now() - timedelta(days=60)).replace(hour=0, minute=0, second=0,
                                                             microsecond=0)
            generated_history(c, workdir, cases=600, start=start, days=58)
            worker = start_worker(env, workdir / "worker.log")
            try:
                prom.start()
                wait_for(lambda: caught_up(c), 180, "the worker to catch up")
                for _ in range(LIVE_CASES):
                    _work_through(c, handler)
                steps = wait_for(lambda: _value(prom, "sum(sixhours_step_duration_seconds_count)"),
                                 90, "the first wave's step durations in Prometheus")
                for _ in range(LIVE_CASES):
                    _work_through(c, handler)
                done = time.time()
                wait_for(lambda: _value(prom, "sum(sixhours_step_duration_seconds_count)") > steps
                         and _value(prom, "sixhours_figures_as_of_seconds") > done + 1
                         and _value(prom, 'up{job="alertmanager"}') == 1
                         and _rules_evaluated_after(prom, done + 1), 90,
                         "a scrape and a rule evaluation after the second wave")
                wait_for(lambda: _value(prom, "count(sixhours_follow_up_never_reached)"), 60,
                         "the worker's data-quality gauges (projections/data_quality.py)")
                yield Scraped(prom, time.time())
            finally:
                code = stop_worker(worker)
                assert code == 0, (workdir / "worker.log").read_text()
    finally:
        prom.stop()
        am.stop()


def grafana_text(expr: str, dashboard: dict[str, Any]) -> str:
    """The expression as Grafana sends it with the dashboard's default variable values."""
    values = dict(GRAFANA_BUILTINS)
    values["__range"] = dashboard["time"]["from"].removeprefix("now-")
    for variable in dashboard["templating"]["list"]:
        current = variable["current"]["value"]
        if current in ("$__all", ["$__all"]):
            values[variable["name"]] = variable["allValue"]
        elif isinstance(current, list):
            values[variable["name"]] = "(" + "|".join(current) + ")"
        else:
            values[variable["name"]] = current
    unknown = set(re.findall(r"\$(\w+)", expr)) - values.keys()
    assert not unknown, f"no value for {unknown} in {expr}"
    return re.sub(r"\$(\w+)", lambda m: values[m.group(1)], expr)


def _finite(result: list[dict[str, Any]]) -> list[float]:
    samples = [float(r["value"][1]) for r in result if "value" in r]
    samples += [float(v) for r in result for _, v in r.get("values", [])]
    return [s for s in samples if math.isfinite(s)]


@pytest.mark.parametrize(("name", "dashboard", "panel", "target"), TARGETS,
                         ids=[f"{n.removesuffix('.json')}:{p['id']}:{t['refId']}"
                              for n, _, p, t in TARGETS])
def test_panel_query_returns_data(scraped: Scraped, name: str, dashboard: dict[str, Any],
                                  panel: dict[str, Any], target: dict[str, Any]) -> None:
    expr = grafana_text(target["expr"], dashboard)
    found = scraped.prometheus.query(expr, at=scraped.at)  # asserts status success
    assert _finite(found), f"{name} «{panel['title']}» {target['refId']}: no data for {expr}"
    if target["range"]:
        params = {"query": expr, "start": f"{scraped.at - 120:.3f}", "end": f"{scraped.at:.3f}",
                  "step": "15"}
        answer = http_json(f"{scraped.prometheus.url}/api/v1/query_range?"
                           + urllib.parse.urlencode(params))
        assert answer["status"] == "success" and _finite(answer["data"]["result"]), expr


COUNTY_VARIABLES = {(n, json.dumps(v["query"])): (d, v) for n, d, _, _ in TARGETS
                    for v in d["templating"]["list"] if v["type"] == "query"}


@pytest.mark.parametrize("key", sorted(COUNTY_VARIABLES), ids=lambda k: k[0].removesuffix(".json"))
def test_county_variable_lists_counties(scraped: Scraped, key: tuple[str, str]) -> None:
    _, variable = COUNTY_VARIABLES[key]
    metric, label = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]).groups()  # type: ignore[union-attr]
    params = {"match[]": metric, "start": f"{scraped.at - 600:.3f}", "end": f"{scraped.at:.3f}"}
    answer = http_json(f"{scraped.prometheus.url}/api/v1/label/{label}/values?"
                       + urllib.parse.urlencode(params))
    assert answer["status"] == "success"
    assert "ly" in answer["data"], f"{variable['query']} lists {answer['data']}"
