"""Delivery survives an Alertmanager outage, once; the generic webhook hears each change once.

Given a clock that falls overdue while Alertmanager is stopped, when Alertmanager starts again,
then the overdue alert arrives in it — one alert, and one notification to its receiver, however
often the worker re-posts it — and the warnings that came and went during the outage are never
sent. A firing alert is re-posted when its re-post falls due, not at every pass, and a restarted
worker does not post it again early. A webhook sink is told each change once: fired, then
resolved.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from monitors.alertmanager import AlertmanagerSink
from monitors.leader import leader_for
from monitors.outbox import Changes, alerts, deliveries
from monitors.passes import AlertMonitor
from monitors.webhook import WebhookSink
from projections.read_models import versions
from sixhours import workload
from sixhours.bootstrap import Container, utc_now
from sixhours.monitoring import changed_cases
from tests.monitors.scenario import Case, load_network, quick_policy_file, settings_env, store
from tests.monitors.servers import Alertmanager, Receiver, free_port, wait_for

POINT = "tc-t01"  # a township workstation of 腾冲市 (county tc)


def monitor(c: Container, *sinks: Any) -> AlertMonitor:
    policy = c.policies["quick"]
    return AlertMonitor(c.engine, c.engine, lambda: versions(c.engine).active, c.network, policy,
                        c.settings.tz, list(sinks), leader_for(c.engine, "test"), utc_now,
                        changed_cases(c.service.recorder))


def notified(receiver: Receiver, case_id: str, severity: str) -> list[dict[str, Any]]:
    return [a for message in receiver.received for a in message["alerts"]
            if a["labels"].get("case_id") == case_id and a["labels"]["severity"] == severity]


def am_config(receiver: Receiver) -> dict[str, Any]:
    return {"route": {"receiver": "hook", "group_by": ["alertname", "case_id", "clock"],
                      "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "hook", "webhook_configs": [
                {"url": receiver.url, "send_resolved": False}]}]}


def test_an_overdue_alert_during_an_outage_arrives_once(database_url: str, tmp_path: Path) -> None:
    receiver = Receiver()
    am = Alertmanager(tmp_path / "am", am_config(receiver), port=free_port())
    am.start()
    with store(settings_env(database_url, quick_policy_file(tmp_path, seconds=12))) as c:
        load_network(c, workload.baoshan_network(1))
        sink = AlertmanagerSink(am.url, repost_seconds=1.0)
        m = monitor(c, sink)
        m.delivery.first_backoff = 0.5
        try:
            am.stop()
            case = Case(c, POINT).received(ago=timedelta(seconds=7))  # in warning: 50%
            c.catch_up()
            assert m.run_pass().changes == Changes(fired=1, resolved=0)
            time.sleep(0.3)
            case.step("arrived", {"who": "applicant", "travel_minutes": 5})
            c.catch_up()
            wait_for(lambda: m.run_pass() and _severities(c, case.case_id) == {"overdue"}, 30,
                     "the clock to fall overdue during the outage")
            with c.engine.connect() as conn:  # the overdue alert is owed, not acknowledged
                owed = conn.execute(select(deliveries.c.version, deliveries.c.next_post_us).join(
                    alerts, alerts.c.fingerprint == deliveries.c.fingerprint).where(
                    alerts.c.severity == "overdue")).all()
                assert [tuple(row) for row in owed] == [(None, 0)]

            am.start()
            wait_for(lambda: m.run_pass() and am.alerts(case_id=case.case_id), 30,
                     "the overdue alert to arrive once Alertmanager is back")
            wait_for(lambda: notified(receiver, case.case_id, "overdue"), 30,
                     "Alertmanager's notification")
            # Several re-posts later: still one alert, one notification, no warnings.
            for _ in range(3):
                time.sleep(1.1)
                assert m.run_pass().sent == {"alertmanager": 1}
            found = am.alerts(case_id=case.case_id)
            assert [a["labels"]["severity"] for a in found] == ["overdue"]
            assert len(notified(receiver, case.case_id, "overdue")) == 1
            assert notified(receiver, case.case_id, "warning") == []

            case.reviewed("refused")
            c.catch_up()
            m.run_pass()
            wait_for(lambda: not am.alerts(case_id=case.case_id), 30, "the alert to resolve")
        finally:
            m.close()
            am.stop()
            receiver.close()


def _severities(c: Container, case_id: str) -> set[str]:
    with c.engine.connect() as conn:
        return {row.severity for row in conn.execute(
            select(alerts.c.severity).where(alerts.c.case_id == case_id,
                                            alerts.c.ends_at_us.is_(None)))}


def test_a_firing_alert_is_reposted_when_due(database_url: str, tmp_path: Path) -> None:
    am = Alertmanager(tmp_path / "am", {"route": {"receiver": "nobody"},
                                        "receivers": [{"name": "nobody"}]}, port=free_port())
    am.start()
    # Ten-minute clocks: received 5.5 minutes ago, the case stays in warning while the test runs.
    with store(settings_env(database_url, quick_policy_file(tmp_path, seconds=600))) as c:
        load_network(c, workload.baoshan_network(1))
        m = monitor(c, AlertmanagerSink(am.url, repost_seconds=3.0))
        try:
            case = Case(c, POINT).received(ago=timedelta(seconds=330))
            c.catch_up()
            assert m.run_pass().sent == {"alertmanager": 1}
            assert m.run_pass().sent == {"alertmanager": 0}  # posted just now: not due
            with c.engine.connect() as conn:
                sent_at, next_post = conn.execute(select(
                    deliveries.c.sent_at_us, deliveries.c.next_post_us)).one()
            assert next_post == sent_at + 3_000_000
            m.close()  # a restart: the new worker's first delivery compares every row
            m = monitor(c, AlertmanagerSink(am.url, repost_seconds=3.0))
            assert m.run_pass().sent == {"alertmanager": 0}  # and agrees: nothing is due yet
            time.sleep(3.1)
            assert m.run_pass().sent == {"alertmanager": 1}
            assert [a["labels"]["threshold"] for a in am.alerts(case_id=case.case_id)] == ["50%"]

            case.withdrawn()
            c.catch_up()
            assert m.run_pass().sent == {"alertmanager": 1}  # the end, once
            time.sleep(3.1)
            assert m.run_pass().sent == {"alertmanager": 0}  # a resolved alert is not re-posted
            wait_for(lambda: not am.alerts(case_id=case.case_id), 30, "the alert to resolve")
        finally:
            m.close()
            am.stop()


def test_the_webhook_hears_each_change_once(database_url: str, tmp_path: Path) -> None:
    receiver = Receiver()
    with store(settings_env(database_url, quick_policy_file(tmp_path, seconds=12))) as c:
        load_network(c, workload.baoshan_network(1))
        m = monitor(c, WebhookSink(receiver.url))
        try:
            case = Case(c, POINT).received(ago=timedelta(seconds=7))
            c.catch_up()
            for _ in range(3):
                m.run_pass()
            case.withdrawn()
            c.catch_up()
            for _ in range(3):
                m.run_pass()
        finally:
            m.close()
            receiver.close()
    heard = [(a["status"], a["labels"]["threshold"]) for message in receiver.received
             for a in message["alerts"] if a["labels"]["case_id"] == case.case_id]
    assert heard == [("firing", "50%"), ("resolved", "50%")]
    assert all(message["version"] == "4" for message in receiver.received)
