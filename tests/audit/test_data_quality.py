"""Data-quality signals: reviews recorded just inside the hour, a burst of corrections, a
withdrawal after a breach, calls never reached, late recording — per service point and clerk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.network import build_network, parse_points
from projections.data_quality import Quality, assess, point_gauges
from tests.audit.store import write_jsonl
from tests.e2e.cli import run, run_json
from tests.unit.factory import CaseBuilder, network_points


def _cases() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n in range(12):  # staff-edge's reviews land in the last five minutes of the hour
        b = CaseBuilder(f"EDGE-{n}", service_point="ly-yc")
        events += [b.raw("application_received", n * 120, actor="staff-edge"),
                   b.raw("reviewed", n * 120 + 57 + (n % 3), actor="staff-edge")]
    for n in range(12):  # staff-even's are spread over the hour
        b = CaseBuilder(f"EVEN-{n}", service_point="tc-tyz")
        events += [b.raw("application_received", n * 120, actor="staff-even"),
                   b.raw("reviewed", n * 120 + 5 + n * 4, actor="staff-even")]
    fixes = CaseBuilder("FIX-1", service_point="tc-tyz")
    events += [fixes.raw("application_received", 0), fixes.raw("reviewed", 30)]
    target = events[-1]["event_id"]
    for n in range(6):  # six corrections of one step by one clerk within two hours
        events.append(fixes.raw("corrected", 600 + n * 20, actor="staff-fix",
                                target_event_id=target,
                                occurred_at=f"2026-03-02T09:{20 + n:02d}:00+08:00"))
    late = CaseBuilder("WD-1", service_point="tc-tyz")
    events += [late.raw("application_received", 0), late.raw("reviewed", 90),
               late.raw("withdrawn", 120, actor="staff-wd")]
    calls = CaseBuilder("CALL-1", service_point="tc-tyz")
    events += [calls.raw(kind, minutes) for kind, minutes in (
        ("application_received", 0), ("reviewed", 20), ("accepted", 25), ("assigned", 30),
        ("first_meeting", 50), ("closed", 100), ("documents_reviewed", 110))]
    events += [calls.raw("follow_up_call", 120 + n, reached=False, actor="staff-call")
               for n in range(2)]
    slow = CaseBuilder("SLOW-1", service_point="tc-tyz")
    events.append(slow.raw("application_received", 0, recorded_at=180, actor="staff-slow"))
    return events


def test_the_signals_name_the_clerk_and_the_point(env: dict[str, str], examples: Path,
                                                  tmp_path: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(write_jsonl(tmp_path / "q.jsonl", _cases())))[0] == 0

    body = run_json("audit", "quality", "--by", "county", "--format", "json",
                    "--as-of", "2026-03-05T00:00:00+08:00")

    clerks, points = body["by_clerk"], body["by_service_point"]
    edge, even = clerks["staff-edge"], clerks["staff-even"]
    assert edge["deadline_heaping"]["review"]["signal"]
    assert edge["deadline_heaping"]["review"]["in_last_twelfth"] == 12
    assert not even["deadline_heaping"]["review"]["signal"]
    assert clerks["staff-fix"]["corrections"] == {"count": 6, "steps": 6, "most_within_24h": 6,
                                                  "signal": True}
    assert clerks["staff-wd"]["withdrawals"] == {"count": 1, "after_breach": 1}
    assert clerks["staff-call"]["follow_up"] == {"closed": 1, "never_reached": 1}
    assert clerks["staff-slow"]["recording_lag"]["share_over_1h"] == 1.0
    assert set(points) == {"ly", "tc"}  # grouped at county level
    assert points["ly"]["deadline_heaping"]["review"]["signal"]
    assert {(s["scope"], s["key"], s["signal"]) for s in body["signals"]} == {
        ("clerk", "staff-edge", "deadline_heaping:review"),
        ("clerk", "staff-fix", "correction_cluster"),
        ("service_point", "ly", "deadline_heaping:review"),
        ("service_point", "tc", "correction_cluster")}
    table = run("audit", "quality", "--lang", "zh")[1]
    assert "数据质量" in table and "经办人" in table


def test_gauges_are_per_service_point_only() -> None:
    from datetime import datetime

    from domain.events import parse_event
    from domain.policy import six_hours_policy
    from tests.unit.factory import SHANGHAI

    network = build_network(parse_points(network_points()))
    at = datetime(2026, 3, 5, tzinfo=SHANGHAI)
    cases: dict[str, list[Any]] = {}
    for n, raw in enumerate(_cases()):
        cases.setdefault(raw["case_id"], []).append(parse_event(raw, default_recorded_at=at,
                                                                seq=n))
    quality: Quality = assess(cases.items(), six_hours_policy(), at, SHANGHAI, network.area_of,
                              lambda p: network.key_at_level(p, "county"))
    gauges = point_gauges(quality)
    assert {labels["county"] for _, labels, _ in gauges} == {"ly", "tc"}
    assert all(set(labels) <= {"county", "clock"} for _, labels, _ in gauges)
    assert not any("staff" in str(labels) for _, labels, _ in gauges)
