"""The worker's windowed gauges equal `report` for the same window at the same evaluation time.

Given a year and more of generated cases, when the worker's collector is scraped, then every
window's clock outcomes, finished cases and answered calls are what `report --from --to` says
at the scrape's `as_of`; open clocks by state add up to the report's open clocks; and the
decisions counter starts at the decided clocks of all time.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitors.figures import FiguresSource
from monitors.metrics import FiguresCollector
from projections.metrics_counts import WINDOWS, window_dates
from projections.queries import ReportRequest
from projections.read_models import versions
from sixhours.bootstrap import utc_now
from tests.monitors.scenario import generated_history, settings_env, store


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    """The sample with these labels; summed over `county` where the gauge has it."""
    if (name, tuple(sorted(labels.items()))) in found:
        return found[(name, tuple(sorted(labels.items())))]
    matching = [v for (n, keys), v in found.items()
                if n == name and {k: x for k, x in keys if k != "county"} == labels
                and any(k == "county" for k, _ in keys)]
    assert matching, (name, labels)
    return sum(matching)


def by_county(found: dict[Any, float], name: str, **labels: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for (n, keys), v in found.items():
        named = dict(keys)
        county = named.pop("county", None)
        if n == name and county is not None and named == labels:
            out[county] = v
    return out


def assert_window_equals_report(found: dict[Any, float], window: str, report: dict[str, Any]) -> None:
    for clock, block in report["clocks"].items():
        for outcome in ("met", "breached"):
            assert value(found, "sixhours_clock_outcomes", clock=clock, outcome=outcome,
                         window=window) == block[outcome], (window, clock, outcome)
    for outcome in ("achieved", "missed"):
        assert value(found, "sixhours_cases_finished", outcome=outcome,
                     window=window) == report["cases"][outcome], (window, outcome)
    for label in ("satisfied", "basically_satisfied", "dissatisfied"):
        assert value(found, "sixhours_follow_up_calls", satisfaction=label,
                     window=window) == report["satisfaction"][label], (window, label)


def report_for(c: Any, window: str, as_of: Any, earliest: date | None,
               by: str | None = None) -> dict[str, Any]:
    first, last = window_dates(as_of.date(), earliest)[window]
    request = ReportRequest(policy=c.settings.default_policy, as_of=as_of,
                            date_from=None if window == "all" else first, date_to=last, by=by)
    return dict(c.queries.report(request))


def test_every_window_equals_report(database_url: str, tmp_path: Path) -> None:
    with store(settings_env(database_url)) as c:
        start = (utc_now() - timedelta(days=420)).replace(hour=0, minute=0, second=0, microsecond=0)
        generated_history(c, tmp_path, cases=900, start=start, days=419)
        c.catch_up()
        policy = c.policies[c.settings.default_policy]
        source = FiguresSource(c.engine, lambda: versions(c.engine).active, policy,
                               c.settings.tz, c.queries, utc_now, c.network)
        registry = CollectorRegistry()
        registry.register(FiguresCollector(source, policy))
        found = samples(registry)
        snap = source.snapshot()
        assert snap is not None and snap.source == "rollups"
        as_of = snap.as_of
        assert value(found, "sixhours_figures_as_of_seconds") == as_of.timestamp()
        whole = report_for(c, "all", as_of, None)
        for window in WINDOWS:
            assert_window_equals_report(found, window, report_for(c, window, as_of, None))
        open_running = sum(value(found, "sixhours_open_clocks", clock=k, state=s)
                           for k in policy.clocks for s in ("running", "warning"))
        open_overdue = sum(value(found, "sixhours_open_clocks", clock=k, state="overdue")
                           for k in policy.clocks)
        assert (open_running, open_overdue) == (whole["open"]["running"], whole["open"]["overdue"])
        assert open_overdue > 0
        # By county, as `report --by county` counts them (the supervisors' dashboard).
        for window in WINDOWS:
            rows = report_for(c, window, as_of, None, by="county")["rows"]
            for outcome in ("achieved", "missed"):
                expected = {r["key"]: r["cases"][outcome] for r in rows if r["cases"][outcome]}
                got = by_county(found, "sixhours_cases_finished", outcome=outcome, window=window)
                assert {k: v for k, v in got.items() if v} == expected, (window, outcome)
        rows = report_for(c, "all", as_of, None, by="county")["rows"]
        assert len(rows) > 1
        for r in rows:
            running = sum(by_county(found, "sixhours_open_clocks", clock=k, state=s).get(r["key"], 0)
                          for k in policy.clocks for s in ("running", "warning"))
            overdue = sum(by_county(found, "sixhours_open_clocks", clock=k,
                                    state="overdue").get(r["key"], 0) for k in policy.clocks)
            assert (running, overdue) == (r["open"]["running"], r["open"]["overdue"]), r["key"]
        for clock, block in whole["clocks"].items():
            for outcome in ("met", "breached"):
                assert value(found, "sixhours_clock_decisions_total", clock=clock,
                             outcome=outcome) == block[outcome]
        # The windows differ from one another, so each comparison above says something.
        received = [value(found, "sixhours_clock_outcomes", clock="review", outcome="met",
                          window=w) for w in ("7d", "30d", "year", "all")]
        assert received == sorted(received) and received[0] < received[-1]
        assert all(value(found, "sixhours_follow_up_calls", satisfaction="unreached", window=w)
                   >= 0 for w in WINDOWS)
