"""Policies and holiday calendars are data files a bureau can supply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import run, run_json

AS_OF = "2026-03-31T18:00:00+08:00"


def test_a_stricter_urban_policy_from_a_yaml_file(env: dict[str, str], examples: Path,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "urban30.yaml"
    policy.write_text(
        "name: six-hours-urban30\nversion: '2'\nfinish_clock: follow_up\n"
        "clocks:\n" + "".join(f"  {c}: {{minutes: 60, by_area: {{urban: 30}}}}\n" for c in (
            "reach", "onsite", "review", "assignment", "first_meeting", "follow_up")),
        encoding="utf-8")
    monkeypatch.setenv("SIXHOURS_POLICY_FILES", json.dumps([str(policy)]))
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(examples / "cases.jsonl"))[0] == 0
    strict = run_json("report", "--policy", "six-hours-urban30", "--as-of", AS_OF,
                      "--from", "2026-03-01", "--format", "json")
    assert strict["policy"] == "six-hours-urban30"
    assert strict["provenance"]["policy_version"] == "2"
    # ly is urban: EX-01's 60-minute review and EX-08's 30-minute assignment are judged at 30.
    assert strict["clocks"]["review"] == {"met": 3, "breached": 7, "rate": 0.3}
    lenient = run_json("report", "--as-of", AS_OF, "--from", "2026-03-01", "--format", "json")
    assert lenient["clocks"]["review"]["met"] == 6


def test_a_bureau_supplied_calendar_makes_a_new_year_countable(
        env: dict[str, str], examples: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text("2027:\n  holidays: ['2027-01-01']\n  working_days: []\n")
    monkeypatch.setenv("SIXHOURS_CALENDAR_FILE", str(calendar))
    run("network", "import", str(examples / "network.yaml"))
    events = tmp_path / "2027.jsonl"
    rows = [("application_received", "2027-01-04T09:00:00+08:00",
             {"service_point": "ly", "channel": "walk_in", "category": "civil", "groups": []}),
            ("reviewed", "2027-01-11T23:59:00+08:00", {"decision": "granted"})]
    events.write_text("".join(json.dumps({
        "event_id": f"Y-{n}", "case_id": "Y", "type": kind, "occurred_at": at,
        "recorded_at": at, "data": data}) + "\n" for n, (kind, at, data) in enumerate(rows)))
    assert run("import", str(events))[0] == 0
    view = run_json("case", "show", "Y", "--policy", "statutory", "--as-of",
                    "2027-01-20T00:00:00+08:00", "--format", "json")
    # Received Monday 4 Jan; 7 days end Monday 11 Jan at 24:00.
    assert view["clocks"]["review"]["state"] == "met"
    assert view["clocks"]["review"]["due_at"] == "2027-01-12T00:00:00+08:00"
