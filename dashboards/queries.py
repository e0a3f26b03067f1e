"""The PromQL of every panel, by name, apart from the layout (as kubernetes-mixin keeps them).

Everything reads the worker's metrics (SPEC §7) and the recording rules generated from the same
objective config (docker/prometheus/rules/sixhours.rules.yml), plus Alertmanager's own metrics.
Grafana variables stay in the text: `$window` (a SPEC §7 window), `$county` and `$clock`
(regexes: "All" is `.+`, so a series without the label never passes as a county's),
`$__rate_interval` and `$__range`.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.figures import SATISFACTION

# The one-hour commitment is a bucket edge of the step-duration histogram (monitors/metrics.py).
ONE_HOUR_BUCKET = "3600.0"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = True  # a figure now; False: a time series over the dashboard's range
    format: str = "time_series"  # or "table", "heatmap"


class PromQL:
    """The queries of one installation: its worker's and Alertmanager's scrape jobs."""

    def __init__(self, job: str, alertmanager_job: str, target: float) -> None:
        self.job, self.alertmanager_job, self.target = job, alertmanager_job, target

    def _worker(self, metric: str, **labels: str) -> str:
        return _selector(metric, {"job": self.job, **labels})

    # --- variables ------------------------------------------------------------------------

    def counties_of(self, metric: str) -> str:
        return f"label_values({self._worker(metric)}, county)"

    # --- the objective ---------------------------------------------------------------------

    def six_hours_rate(self, window: str = "$window", legend: str = "") -> Query:
        return Query(_selector("sixhours:six_hours_rate:window", {"window": window}), legend)

    def error_budget_left(self) -> Query:
        budget = round(1 - self.target, 6)
        return Query(f"1 - (1 - {self.six_hours_rate().expr}) / {budget:g}")

    def rate_trend(self, window: str, legend: str) -> Query:
        return Query(self.six_hours_rate(window).expr, legend, instant=False)

    def clock_rates(self) -> Query:
        return Query(_selector("sixhours:clock_rate:window", {"window": "$window"}), "{{clock}}")

    def county_rates(self) -> Query:
        achieved = self._worker("sixhours_cases_finished", outcome="achieved", window="$window",
                                county="~$county")
        finished = self._worker("sixhours_cases_finished", window="$window", county="~$county")
        return Query(f"sum by (county) ({achieved}) / sum by (county) ({finished})", "{{county}}")

    def finished_cases(self) -> Query:
        return Query(f"sum({self._worker('sixhours_cases_finished', window='$window')})")

    def finished_per_day(self) -> Query:
        counter = self._worker("sixhours_case_outcomes_total")
        return Query(f"sum by (outcome) (increase({counter}[1d]))", "{{outcome}}", instant=False)

    # --- follow-up calls -------------------------------------------------------------------

    def satisfaction_rate(self, window: str = "$window", instant: bool = True) -> Query:
        # As `report` counts it: satisfied and basically satisfied among the reached calls.
        good = self._worker("sixhours_follow_up_calls", satisfaction="~" + "|".join(SATISFACTION[:2]),
                            window=window)
        reached = self._worker("sixhours_follow_up_calls", satisfaction="~" + "|".join(SATISFACTION),
                               window=window)
        return Query(f"sum({good}) / sum({reached})", instant=instant)

    def calls_by_result(self) -> Query:
        calls = self._worker("sixhours_follow_up_calls", window="$window")
        return Query(f"sum by (satisfaction) ({calls})", "{{satisfaction}}")

    def calls(self) -> Query:
        return Query(f"sum({self._worker('sixhours_follow_up_calls', window='$window')})")

    def calls_reached(self) -> Query:
        reached = self._worker("sixhours_follow_up_calls", satisfaction="!unreached", window="$window")
        every = self._worker("sixhours_follow_up_calls", window="$window")
        return Query(f"sum({reached}) / sum({every})")

    def follow_up_rate(self) -> Query:
        return Query(_selector("sixhours:clock_rate:window", {"clock": "follow_up", "window": "$window"}))

    # --- open clocks -----------------------------------------------------------------------

    def open_clocks(self, state: str | None = None, of_clock: bool = True) -> Query:
        """Open clocks now; of the clocks `$clock` picks, or of every clock."""
        labels = ({"state": state} if state else {}) | ({"clock": "~$clock"} if of_clock else {})
        return Query(f"sum({self._worker('sixhours_open_clocks', **labels)})")

    def open_by_clock(self, state: str) -> Query:
        gauge = self._worker("sixhours_open_clocks", state=state, clock="~$clock")
        return Query(f"sum by (clock) ({gauge})", "{{clock}}")

    def open_by_county(self, state: str) -> Query:
        gauge = self._worker("sixhours_open_clocks", state=state, county="~$county", clock="~$clock")
        return Query(f"sum by (county) ({gauge})", "{{county}}", format="table")

    def open_trend(self) -> Query:
        gauge = self._worker("sixhours_open_clocks", state="~warning|overdue", clock="~$clock")
        return Query(f"sum by (state) ({gauge})", "{{state}}", instant=False)

    # --- health and Alertmanager -----------------------------------------------------------

    def worker_up(self) -> Query:
        return Query(_selector("up", {"job": self.job}))

    def alertmanager_up(self) -> Query:
        return Query(_selector("up", {"job": self.alertmanager_job}))

    def _alertmanager(self, metric: str, **labels: str) -> str:
        return _selector(metric, {"job": self.alertmanager_job, **labels})

    def alerts(self, state: str) -> Query:
        # Alertmanager counts a silenced (acknowledged) alert as `suppressed`, not `active`.
        return Query(f"sum({self._alertmanager('alertmanager_alerts', state=state)})")

    def silences(self) -> Query:
        return Query(f"sum({self._alertmanager('alertmanager_silences', state='active')})")

    def notifications(self, failed: bool = False, legend: str = "{{integration}}") -> Query:
        metric = "alertmanager_notifications_failed_total" if failed else "alertmanager_notifications_total"
        return Query(f"sum by (integration) (rate({self._alertmanager(metric)}[$__rate_interval]))",
                     legend, instant=False)

    def projection_lag(self) -> Query:
        lag = self._worker("sixhours_projection_lag_seconds")
        return Query(f"max by (projection) ({lag})", "{{projection}}", instant=False)

    def projection_behind(self) -> Query:
        behind = self._worker("sixhours_projection_behind_events")
        return Query(f"max by (projection) ({behind})", "{{projection}}", instant=False)

    # --- step durations (the histogram has no county: SPEC §7) -------------------------------

    def duration_heatmap(self) -> Query:
        buckets = self._worker("sixhours_step_duration_seconds_bucket", clock="~$clock")
        return Query(f"sum by (le) (increase({buckets}[$__rate_interval]))", "{{le}}",
                     instant=False, format="heatmap")

    def duration_quantile(self, quantile: float, legend: str) -> Query:
        buckets = self._worker("sixhours_step_duration_seconds_bucket", clock="~$clock")
        return Query(f"histogram_quantile({quantile:g}, sum by (le, clock) "
                     f"(rate({buckets}[$__rate_interval])))", legend, instant=False)

    def within_hour(self) -> Query:
        within = self._worker("sixhours_step_duration_seconds_bucket", clock="~$clock",
                              le=ONE_HOUR_BUCKET)
        every = self._worker("sixhours_step_duration_seconds_count", clock="~$clock")
        return Query(f"sum by (clock) (increase({within}[$__range])) / "
                     f"sum by (clock) (increase({every}[$__range]))", "{{clock}}")

    # --- data quality, per county (projections/data_quality.py point_gauges) -----------------

    def per_county(self, metric: str, legend: str = "{{county}}", **labels: str) -> Query:
        return Query(self._worker(metric, county="~$county", **labels), legend)


def _selector(metric: str, labels: dict[str, str]) -> str:
    """`metric{a="x",b=~"y"}`: a value starting with `~` is a regex, with `!` a negation."""
    parts = []
    for name, value in labels.items():
        op = {"~": "=~", "!": "!="}.get(value[:1], "=")
        parts.append(f'{name}{op}"{value[1:] if op != "=" else value}"')
    return f"{metric}{{{','.join(parts)}}}"
