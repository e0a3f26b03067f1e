"""The three dashboards, generated from one config (dashboards/config.yaml, which names the
objective config the Prometheus rules come from, for the scrape job and the 90% target).

- leadership: the six-hours rate against its target, per clock, per county, its trend,
  satisfaction and volume;
- supervisor: open, warning and overdue clocks by clock and by county, and Alertmanager's alerts;
- quality: step-duration distributions, return visits and satisfaction, and the data-quality
  signals (recording lag, deadline heaping, correction clusters, withdrawals after a breach,
  calls never reached) with the read model's own lag.

The output is committed under dashboards/generated/ and checked by a golden test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from dashboards.labels import clock_names, text
from dashboards.panels import FULL, GREEN, HALF, RED, THIRD, Panels, thresholds
from dashboards.queries import PromQL
from projections.data_quality import CLUSTER_SIGNAL, Z_SIGNAL
from projections.figures import SATISFACTION
from projections.metrics_counts import WINDOWS

ALL = ".+"  # what "All" of a regex variable stands for: any value, never a missing label


@dataclass(frozen=True)
class DashboardConfig:
    job: str  # the worker's scrape job (the objective config's `job`)
    target: float  # the objective (SPEC §1: 90%)
    alertmanager_job: str
    datasource_uid: str
    timezone: str
    refresh: str
    time_from: str
    default_window: str
    folder_uid: str

    @classmethod
    def of(cls, config: Mapping[str, Any], objective: Mapping[str, Any]) -> DashboardConfig:
        window = config["default_window"]
        if window not in WINDOWS:
            raise ValueError(f"default_window {window!r} is not one of {', '.join(WINDOWS)}")
        return cls(job=objective["job"], target=float(objective["objective"]["target"]),
                   alertmanager_job=config["alertmanager_job"],
                   datasource_uid=config["datasource_uid"], timezone=config["timezone"],
                   refresh=config["refresh"], time_from=config["time_from"],
                   default_window=window, folder_uid=config["folder_uid"])


class Builder:
    def __init__(self, config: DashboardConfig, lang: str) -> None:
        self.config, self.lang = config, lang
        self.q = PromQL(config.job, config.alertmanager_job, config.target)
        self.datasource = DataSourceRef(type_val="prometheus", uid=config.datasource_uid)
        self.on_target = thresholds((None, RED), (config.target, GREEN))

    def _t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    def _dashboard(self, uid: str, key: str) -> dash.Dashboard:
        c = self.config
        return (dash.Dashboard(self._t(key)).uid(uid).description(self._t(f"{key}_about"))
                .tags(["sixhours"]).timezone(c.timezone).time(c.time_from, "now")
                .refresh(c.refresh).readonly().tooltip(DashboardCursorSync.CROSSHAIR))

    # --- variables ---------------------------------------------------------------------------

    def window(self) -> dash.CustomVariable:
        keys = {w: "all_time" if w == "all" else w for w in WINDOWS}
        default = self.config.default_window
        return (dash.CustomVariable("window").label(self._t("window"))
                .values(",".join(f"{self._t(keys[w])} : {w}" for w in WINDOWS))
                .current(VariableOption(selected=True, text=self._t(keys[default]), value=default))
                .options([VariableOption(selected=w == default, text=self._t(keys[w]), value=w)
                          for w in WINDOWS]))

    def county(self, metric: str) -> dash.QueryVariable:
        return (dash.QueryVariable("county").label(self._t("county"))
                .query(self.q.counties_of(metric)).datasource(self.datasource)
                .multi(True).include_all(True).all_value(ALL)
                .current(VariableOption(selected=True, text=[self._t("all")], value=["$__all"]))
                .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(VariableSort.ALPHABETICAL_ASC))

    def clock(self) -> dash.CustomVariable:
        return (dash.CustomVariable("clock").label(self._t("clock"))
                .values(",".join(f"{self._t(c)} : {c}" for c in clock_names()))
                .multi(True).include_all(True).all_value(ALL)
                .current(VariableOption(selected=True, text=[self._t("all")], value=["$__all"])))

    # --- the dashboards ------------------------------------------------------------------------

    def leadership(self) -> dash.Dashboard:
        q, p, pct = self.q, Panels(self.datasource, self.lang), "percentunit"
        target = f"{self.config.target:.0%}"
        return (self._dashboard("sixhours-leadership", "leadership")
                .with_variable(self.window()).with_variable(self.county("sixhours_cases_finished"))
                .with_row(p.row("row_objective"))
                .with_panel(p.stat("six_hours_rate", q.six_hours_rate(), unit=pct,
                                   colours=self.on_target,
                                   about=self._t("six_hours_rate_about", target=target)))
                .with_panel(p.stat("error_budget", q.error_budget_left(), unit=pct,
                                   about=self._t("error_budget_about"),
                                   colours=thresholds((None, RED), (0.0, "orange"), (0.5, GREEN))))
                .with_panel(p.stat("satisfaction_rate", q.satisfaction_rate(), unit=pct,
                                   about=self._t("satisfaction_rate_about")))
                .with_panel(p.stat("finished_cases", q.finished_cases()))
                .with_row(p.row("row_clocks"))
                .with_panel(p.bars("clock_rates", q.clock_rates(), unit=pct, span=FULL,
                                   colours=self.on_target, limits=(0, 1), series=clock_names()))
                .with_row(p.row("row_counties"))
                .with_panel(p.bars("county_rates", q.county_rates(), unit=pct, span=FULL,
                                   colours=self.on_target, limits=(0, 1)))
                .with_row(p.row("row_trend"))
                .with_panel(p.series("rate_trend", q.rate_trend("30d", self._t("30d")),
                                     q.rate_trend("7d", self._t("7d")), unit=pct,
                                     target_line=self.on_target))
                .with_panel(p.series("daily_finished", q.finished_per_day(),
                                     series=("achieved", "missed")))
                .with_row(p.row("row_satisfaction"))
                .with_panel(p.pie("satisfaction_split", q.calls_by_result(),
                                  series=(*SATISFACTION, "unreached")))
                .with_panel(p.stat("volume", replace(q.finished_cases(), legend=self._t("finished_cases")),
                                   replace(q.calls(), legend=self._t("calls")),
                                   replace(q.open_clocks(of_clock=False), legend=self._t("open_clocks")),
                                   span=HALF, height=8)))

    def supervisor(self) -> dash.Dashboard:
        q, p = self.q, Panels(self.datasource, self.lang)
        alarm = thresholds((None, GREEN), (1, RED))
        up = thresholds((None, RED), (1, GREEN))
        states = ("running", "warning", "overdue")
        return (self._dashboard("sixhours-supervisor", "supervisor")
                .with_variable(self.county("sixhours_open_clocks")).with_variable(self.clock())
                .with_row(p.row("row_open"))
                .with_panel(p.stat("running", q.open_clocks("running")))
                .with_panel(p.stat("warning", q.open_clocks("warning"),
                                   colours=thresholds((None, GREEN), (1, "orange"))))
                .with_panel(p.stat("overdue", q.open_clocks("overdue"), colours=alarm))
                .with_panel(p.stat("worker_up", q.worker_up(), colours=up))
                .with_panel(p.bars("overdue_by_clock", q.open_by_clock("overdue"), colours=alarm,
                                   series=clock_names()))
                .with_panel(p.bars("warning_by_clock", q.open_by_clock("warning"),
                                   series=clock_names()))
                .with_panel(p.table("open_by_county", [(s, q.open_by_county(s)) for s in states],
                                    first="county"))
                .with_panel(p.series("open_trend", q.open_trend(), span=FULL,
                                     series=("warning", "overdue")))
                .with_row(p.row("row_alerts"))
                .with_panel(p.stat("active_alerts", q.alerts("active")))
                .with_panel(p.stat("acknowledged_alerts", q.alerts("suppressed")))
                .with_panel(p.stat("silences", q.silences()))
                .with_panel(p.stat("alertmanager_up", q.alertmanager_up(), colours=up))
                .with_panel(p.series("notifications", q.notifications(),
                                     q.notifications(failed=True, legend="{{integration}} "
                                                     + self._t("notifications_failed")),
                                     unit="ops", span=FULL)))

    def quality(self) -> dash.Dashboard:
        q, p, pct = self.q, Panels(self.datasource, self.lang), "percentunit"
        clocks = clock_names()
        return (self._dashboard("sixhours-quality", "quality")
                .with_variable(self.window()).with_variable(self.clock())
                .with_variable(self.county("sixhours_recording_lag_mean_seconds"))
                .with_row(p.row("row_durations"))
                .with_panel(p.heatmap("duration_heatmap", q.duration_heatmap()))
                .with_panel(p.series("duration_quantiles",
                                     q.duration_quantile(0.5, f"{{{{clock}}}} {self._t('median')}"),
                                     q.duration_quantile(0.9, f"{{{{clock}}}} {self._t('p90')}"),
                                     unit="s"))
                .with_panel(p.bars("within_hour", q.within_hour(), unit=pct, limits=(0, 1),
                                   colours=self.on_target, series=clocks))
                .with_row(p.row("row_follow_up"))
                .with_panel(p.stat("follow_up_rate", q.follow_up_rate(), unit=pct, span=THIRD,
                                   colours=self.on_target))
                .with_panel(p.stat("calls_reached", q.calls_reached(), unit=pct, span=THIRD))
                .with_panel(p.stat("satisfaction_rate", q.satisfaction_rate(), unit=pct,
                                   span=THIRD, about=self._t("satisfaction_rate_about")))
                .with_panel(p.series("satisfaction_trend", q.satisfaction_rate("30d", instant=False),
                                     unit=pct, span=FULL))
                .with_row(p.row("row_data_quality"))
                .with_panel(p.bars("recording_lag", q.per_county("sixhours_recording_lag_mean_seconds"),
                                   unit="s", about=self._t("recording_lag_about")))
                .with_panel(p.bars("recording_late", q.per_county("sixhours_recording_lag_over_1h_ratio"),
                                   unit=pct, limits=(0, 1)))
                .with_panel(p.bars("deadline_heaping", q.per_county(
                    "sixhours_deadline_heaping_z", "{{county}} · {{clock}}", clock="~$clock"),
                    about=self._t("deadline_heaping_about", z=f"{Z_SIGNAL:g}"),
                    colours=thresholds((None, GREEN), (Z_SIGNAL, RED))))
                .with_panel(p.bars("corrections", q.per_county("sixhours_corrections_most_within_24h"),
                                   colours=thresholds((None, GREEN), (CLUSTER_SIGNAL, RED))))
                .with_panel(p.bars("withdrawals_after_breach",
                                   q.per_county("sixhours_withdrawals_after_breach")))
                .with_panel(p.bars("never_reached", q.per_county("sixhours_follow_up_never_reached")))
                .with_panel(p.series("projection_lag", q.projection_lag(), unit="s"))
                .with_panel(p.series("projection_behind", q.projection_behind())))


DASHBOARDS: dict[str, Callable[[Builder], dash.Dashboard]] = {
    "leadership.json": Builder.leadership, "supervisor.json": Builder.supervisor,
    "quality.json": Builder.quality}


def render(model: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, Chinese left readable, a final newline."""
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_all(config: DashboardConfig, lang: str) -> dict[str, str]:
    """File name -> dashboard JSON, for every dashboard."""
    builder = Builder(config, lang)
    return {name: render(make(builder).build()) for name, make in DASHBOARDS.items()}
