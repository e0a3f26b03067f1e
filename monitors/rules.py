"""Prometheus recording and alerting rules, generated from one config (docker/prometheus/slo.yaml).

The six-hours objective (SPEC §1: over 90% of finished cases achieve all six hours) is watched
two ways: the windowed rate the bureau reports (`sixhours_cases_finished{window}`) below its
target, and multi-window, multi-burn-rate alerts on the rate of missed cases (`The Site
Reliability Workbook`, ch. 5): each alert needs a long and a short window both burning the error
budget faster than its factor, so it fires fast on a big burn and stops soon after it ends.
Plus the worker's health: its projection stalled, or the worker not scraped at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "sixhours"


def _ratio(job: str, window: str) -> dict[str, str]:
    events = f'sixhours_case_outcomes_total{{job="{job}"}}'
    missed = f'sixhours_case_outcomes_total{{job="{job}",outcome="missed"}}'
    return {"record": f"{PREFIX}:case_misses:ratio_rate{window}",
            "expr": f"sum(rate({missed}[{window}])) / sum(rate({events}[{window}]))"}


def recording_rules(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    job = config["job"]
    windows = sorted({w for burn in config["burn_rates"] for w in (burn["long"], burn["short"])},
                     key=_seconds)
    rules = [_ratio(job, w) for w in windows]
    rules.append({"record": f"{PREFIX}:six_hours_rate:window",
                  "expr": f'sum by (window) (sixhours_cases_finished{{job="{job}",outcome="achieved"}})'
                          f' / sum by (window) (sixhours_cases_finished{{job="{job}"}})'})
    rules.append({"record": f"{PREFIX}:clock_rate:window",
                  "expr": f'sum by (clock, window) (sixhours_clock_outcomes{{job="{job}",outcome="met"}})'
                          f' / sum by (clock, window) (sixhours_clock_outcomes{{job="{job}"}})'})
    return rules


def alerting_rules(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    job, objective = config["job"], config["objective"]
    target = float(objective["target"])
    budget = 1 - target
    below = objective["below_target"]
    rules: list[dict[str, Any]] = [{
        "alert": "SixHoursRateBelowTarget",
        "expr": f'{PREFIX}:six_hours_rate:window{{window="{below["window"]}"}} < {target:g}',
        "for": below["for"], "labels": {"severity": below["severity"], "source": "prometheus"},
        "annotations": {
            "summary_zh": f"近{below['window']}六个一小时达标率 {{{{ $value | humanizePercentage }}}}，"
                          f"低于目标 {target:.0%}",
            "summary_en": f"six-hours rate over {below['window']} is "
                          f"{{{{ $value | humanizePercentage }}}}, below the {target:.0%} target"}}]
    by_severity: dict[str, list[Mapping[str, Any]]] = {}
    for burn in config["burn_rates"]:
        by_severity.setdefault(burn["severity"], []).append(burn)
    for severity, burns in by_severity.items():
        conditions = []
        for burn in burns:
            # With a 10% budget a factor above 10 would need more than every case missed:
            # such a window then fires when every case in it missed (hence >=, not >).
            threshold = min(float(burn["factor"]) * budget, 1.0)
            conditions.append(
                f"({PREFIX}:case_misses:ratio_rate{burn['long']} >= {threshold:g}"
                f" and {PREFIX}:case_misses:ratio_rate{burn['short']} >= {threshold:g})")
        rules.append({
            "alert": "SixHoursErrorBudgetBurn", "expr": "\n  or ".join(conditions),
            "labels": {"severity": severity, "source": "prometheus"},
            "annotations": {
                "summary_zh": f"六个一小时目标（{target:.0%}）的差错预算消耗过快",
                "summary_en": f"the six-hours objective ({target:.0%}) is burning its error "
                              "budget too fast"}})
    stalled, down = config["projection_stalled"], config["worker_down"]
    rules.append({
        "alert": "SixHoursProjectionStalled",
        "expr": f'max by (projection) (sixhours_projection_lag_seconds{{job="{job}"}})'
                f' > {stalled["lag_seconds"]}',
        "for": stalled["for"], "labels": {"severity": stalled["severity"], "source": "prometheus"},
        "annotations": {"summary_zh": "读模型已停止更新：统计和预警不再反映新记录的步骤",
                        "summary_en": "the read model has stopped: figures and alerts miss new "
                                      "steps"}})
    rules.append({
        "alert": "SixHoursWorkerDown",
        "expr": f'up{{job="{job}"}} == 0 or absent(up{{job="{job}"}})',
        "for": down["for"], "labels": {"severity": down["severity"], "source": "prometheus"},
        "annotations": {"summary_zh": "sixhours worker 无法抓取：没有预警、统计也不再更新",
                        "summary_en": "the sixhours worker is not scraped: no alerts are sent "
                                      "and figures are stale"}})
    return rules


def rules_file(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"groups": [
        {"name": "sixhours-recording", "rules": recording_rules(config)},
        {"name": "sixhours-alerts", "rules": alerting_rules(config)}]}


def _seconds(window: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return int(window[:-1]) * units[window[-1]]
