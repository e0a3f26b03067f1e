"""The worker's data-quality gauges are the audit's signals per county for the recent window.

Given two months of generated cases, when the gauges are refreshed and scraped, then each county's
recording lag, heaping, correction, withdrawal and unreached-call figures equal those of
`audit quality` over the cases received in the last 30 days, and no gauge names a clerk.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

from monitors.quality import QualityGauges
from projections.data_quality import assess, point_gauges, stored_histories
from projections.read_models import versions
from sixhours.bootstrap import utc_now
from tests.monitors.scenario import generated_history, settings_env, store
from tests.monitors.test_metrics_figures import samples


def test_gauges_equal_the_audit_signals_of_the_window(database_url: str, tmp_path: Path) -> None:
    with store(settings_env(database_url)) as c:
        now = utc_now()
        start = (now - timedelta(days=60)).replace(hour=0, minute=0, second=0, microsecond=0)
        generated_history(c, tmp_path, cases=400, start=start, days=59)
        c.catch_up()
        policy, tz, network = c.policies[c.settings.default_policy], c.settings.tz, c.network()
        gauges = QualityGauges(c.engine, lambda: versions(c.engine).active, c.network, policy, tz,
                               lambda: now)
        registry = CollectorRegistry()
        registry.register(gauges)
        assert samples(registry) == {}  # nothing is served before the first assessment
        gauges.refresh()
        found = samples(registry)

        tables = versions(c.engine).active
        assert tables is not None
        expected = point_gauges(assess(
            stored_histories(c.engine, tables), policy, now, tz, network.area_of,
            lambda point: network.key_at_level(point, "county"),
            received=(now - timedelta(days=30), now + timedelta(days=1))), "county")
        assert expected, "the generated window has signals to compare"
        assert found == {(name, tuple(sorted({**labels, "window": "30d"}.items()))): value
                         for name, labels, value in expected}
        assert {k for _, labels in found for k, _ in labels} <= {"county", "clock", "window"}
