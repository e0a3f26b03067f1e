"""Steady monitor passes decide what a full reconciliation decides.

Given a generated workload recorded as it happens — ten minutes of events at a time (in the
order they occurred), clocks
starting, pausing for materials, stopping, cases withdrawn — when a monitor that only ever
makes steady passes (after its first) runs at each step, then the alerts it has firing are
exactly those a full read of every due clock says should fire at that moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from domain.events import parse_event
from monitors.alerts import desired_alerts
from monitors.leader import leader_for
from monitors.outbox import alerts
from monitors.passes import AlertMonitor
from projections.due_clocks import due_clocks, lead_us
from projections.read_models import versions
from projections.tables import to_us
from sixhours import workload
from sixhours.monitoring import changed_cases
from tests.monitors.scenario import load_network, settings_env, store

START = datetime(2026, 3, 2, 8, tzinfo=UTC)


def test_steady_passes_equal_a_full_reconciliation(database_url: str, tmp_path: Path) -> None:
    with store(settings_env(database_url)) as c:
        network = workload.baoshan_network(1)
        load_network(c, network)
        events = list(workload.generate_events(network, 120, 9, START, days=1))
        policy = c.policies[c.settings.default_policy]
        now = [START]
        m = AlertMonitor(c.engine, c.engine, lambda: versions(c.engine).active, c.network,
                         policy, c.settings.tz, [], leader_for(c.engine, "steady"),
                         lambda: now[0], changed_cases(c.service.recorder),
                         full_every_seconds=10 ** 9)
        fulls, compared = 0, 0
        while now[0] < START + timedelta(days=1, hours=6):
            now[0] += timedelta(minutes=10)
            count = next((i for i, e in enumerate(events)
                          if datetime.fromisoformat(e["occurred_at"]) > now[0]), len(events))
            due, events = events[:count], events[count:]
            steps = [parse_event(e, default_recorded_at=now[0]) for e in due]
            if steps:
                assert not c.service.record_batch(steps, c.network()).refused
            c.catch_up()
            report = m.run_pass()
            fulls += report.full
            tables = versions(c.engine).active
            assert tables is not None
            at, points = to_us(now[0]), c.network()
            with c.engine.connect() as conn:
                expected = desired_alerts(due_clocks(conn, tables, policy.name, at + lead_us(policy)),
                                          policy, points, c.settings.tz, at)
                firing = set(conn.execute(select(alerts.c.fingerprint).where(
                    alerts.c.ends_at_us.is_(None))).scalars())
            assert firing == set(expected), now[0]
            compared += len(expected)
        m.close()
        assert fulls == 1 and compared > 100
