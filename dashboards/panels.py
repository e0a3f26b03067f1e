"""Panel layout through grafana-foundation-sdk's builders: one helper per kind of panel.

A panel gets its title in the dashboard's language, the Prometheus datasource, its queries as
targets A, B, ... and, where its series are named by a label value (a clock, an outcome, a
satisfaction grade, a state), display names in that language. Ids count up per dashboard, so
the generated JSON is the same on every run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    heatmap,
    piechart,
    prometheus,
    stat,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
)
from grafana_foundation_sdk.models.piechart import PieChartType
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards.labels import text
from dashboards.queries import Query

FULL, HALF, THIRD, QUARTER = 24, 12, 8, 6
RED, AMBER, GREEN = "red", "orange", "green"


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    """Colour steps from the lowest (value None) up."""
    return dash.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=value, color=color) for value, color in steps])


class Panels:
    """Builds the panels of one dashboard in one language."""

    def __init__(self, datasource: DataSourceRef, lang: str) -> None:
        self.datasource, self.lang = datasource, lang
        self.ids = itertools.count(1)

    def row(self, key: str) -> dash.Row:
        return dash.Row(text(key, self.lang)).id(next(self.ids))

    def _target(self, query: Query, ref: str) -> prometheus.Dataquery:
        target = (prometheus.Dataquery().expr(query.expr).ref_id(ref).datasource(self.datasource)
                  .format(PromQueryFormat(query.format)))
        if query.legend:
            target = target.legend_format(query.legend)
        return target.instant() if query.instant else target.range()

    def _panel(self, panel: Any, key: str, queries: Sequence[Query], *, unit: str, span: int,
               height: int, about: str | None, series: Iterable[str]) -> Any:
        panel = (panel.id(next(self.ids)).title(text(key, self.lang)).datasource(self.datasource)
                 .span(span).height(height).unit(unit))
        if about:
            panel = panel.description(about)
        for ref, query in zip("ABCDEFGH", queries, strict=False):
            panel = panel.with_target(self._target(query, ref))
        for name in series:  # a series named by a label value gets a readable name
            panel = panel.override_by_name(name, [DynamicConfigValue(
                id_val="displayName", value=text(name, self.lang))])
        return panel

    def stat(self, key: str, *queries: Query, unit: str = "short", span: int = QUARTER,
             height: int = 5, about: str | None = None, colours: dash.ThresholdsConfig | None = None,
             series: Iterable[str] = ()) -> stat.Panel:
        panel = self._panel(stat.Panel(), key, queries, unit=unit, span=span, height=height,
                            about=about, series=series)
        panel = (panel.reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
                 .graph_mode(common.BigValueGraphMode.NONE).color_mode(common.BigValueColorMode.VALUE))
        return panel.thresholds(colours) if colours else panel

    def bars(self, key: str, *queries: Query, unit: str = "short", span: int = HALF,
             height: int = 8, about: str | None = None, colours: dash.ThresholdsConfig | None = None,
             series: Iterable[str] = (), limits: tuple[float, float] | None = None) -> bargauge.Panel:
        panel = self._panel(bargauge.Panel(), key, queries, unit=unit, span=span, height=height,
                            about=about, series=series)
        panel = (panel.reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
                 .orientation(common.VizOrientation.HORIZONTAL)
                 .display_mode(common.BarGaugeDisplayMode.BASIC))
        if limits:
            panel = panel.min(limits[0]).max(limits[1])
        return panel.thresholds(colours) if colours else panel

    def series(self, key: str, *queries: Query, unit: str = "short", span: int = HALF,
               height: int = 8, about: str | None = None, series: Iterable[str] = (),
               target_line: dash.ThresholdsConfig | None = None) -> timeseries.Panel:
        panel = self._panel(timeseries.Panel(), key, queries, unit=unit, span=span,
                            height=height, about=about, series=series)
        panel = panel.legend(common_builders.VizLegendOptions().show_legend(True)
                             .display_mode(common.LegendDisplayMode.LIST)
                             .placement(common.LegendPlacement.BOTTOM))
        if target_line:  # the objective drawn as a dashed line across the graph
            panel = panel.thresholds(target_line).thresholds_style(
                common_builders.GraphThresholdsStyleConfig().mode(
                    common.GraphThresholdsStyleMode.DASHED))
        return panel

    def pie(self, key: str, query: Query, *, span: int = HALF, height: int = 8,
            series: Iterable[str] = ()) -> piechart.Panel:
        panel = self._panel(piechart.Panel(), key, [query], unit="short", span=span,
                            height=height, about=None, series=series)
        return (panel.reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
                .pie_type(PieChartType.DONUT))

    def heatmap(self, key: str, query: Query, *, span: int = FULL, height: int = 9) -> heatmap.Panel:
        panel = self._panel(heatmap.Panel(), key, [query], unit="s", span=span, height=height,
                            about=None, series=())
        return panel.calculate(False)

    def table(self, key: str, columns: Sequence[tuple[str, Query]], *, first: str,
              span: int = FULL, height: int = 8) -> table.Panel:
        """Instant queries joined on their shared label into one row per value of it; each
        query's value column is named by its key."""
        panel = self._panel(table.Panel(), key, [q for _, q in columns], unit="short",
                            span=span, height=height, about=None, series=())
        rename = {f"Value #{ref}": text(name, self.lang)
                  for ref, (name, _) in zip("ABCDEFGH", columns, strict=False)}
        rename[first] = text(first, self.lang)
        return (panel.with_transformation(DataTransformerConfig(id_val="merge", options={}))
                .with_transformation(DataTransformerConfig(id_val="organize", options={
                    "excludeByName": {"Time": True}, "renameByName": rename})))
