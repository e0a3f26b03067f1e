"""Import → report scenarios, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sixhours.cli import app
from tests.e2e.cli import comparable, run, run_json

AS_OF = "2026-03-31T18:00:00+08:00"
REPORT = ("report", "--from", "2026-03-01", "--to", "2026-03-31", "--as-of", AS_OF,
          "--format", "json")


@pytest.fixture
def loaded(env: dict[str, str], examples: Path) -> Path:
    assert run("network", "import", str(examples / "network.yaml"))[0] == 0
    code, out = run("import", str(examples / "cases.jsonl"))
    assert code == 0, out
    return examples


def _same_instants(got: object, want: object) -> bool:
    return datetime.fromisoformat(str(got)) == datetime.fromisoformat(str(want))


def test_the_worked_examples_give_the_expected_report(loaded: Path) -> None:
    want = json.loads((loaded / "expected_report.json").read_text())
    got = run_json(*REPORT)
    assert _same_instants(got["as_of"], want["as_of"])
    for key in ("policy", "timezone", "from", "to", "clocks", "cases", "satisfaction", "volume",
                "open"):
        assert got[key] == want[key], key


def test_the_worked_examples_give_the_expected_clock_states(loaded: Path) -> None:
    expected = json.loads((loaded / "expected.json").read_text())
    for case_id, want in expected["cases"].items():
        view = run_json("case", "show", case_id, "--as-of", expected["as_of"], "--format", "json")
        states = {name: c["state"] for name, c in view["clocks"].items()}
        assert states == {name: c["state"] for name, c in want["clocks"].items()}, case_id
        for name, clock in want["clocks"].items():
            if clock["decision_time"] is None:
                assert view["clocks"][name]["decision_time"] is None
            else:
                assert _same_instants(view["clocks"][name]["decision_time"],
                                      clock["decision_time"]), (case_id, name)
        if want["case"] is None:
            assert view["outcome"] is None
        else:
            assert view["outcome"]["outcome"] == want["case"]["outcome"]
            assert _same_instants(view["outcome"]["decision_time"], want["case"]["decision_time"])


def test_importing_a_file_twice_changes_nothing(loaded: Path) -> None:
    before = run_json(*REPORT)
    code, out = run("import", str(loaded / "cases.jsonl"))
    assert code == 0
    assert json.loads(out)["stored"] == 0 and json.loads(out)["duplicates"] == 35
    assert comparable(run_json(*REPORT)) == comparable(before)


def test_a_file_with_bad_lines_keeps_the_good_ones_and_lists_every_bad_one(
        env: dict[str, str], examples: Path, tmp_path: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    good = (examples / "cases.jsonl").read_text().splitlines()
    bad = [
        '{"event_id": "B-1", "case_id": "B", "type": "reviewed", "occurred_at": '
        '"2026-03-02T09:00:00+08:00", "data": {"decision": "granted"}}',
        "this is not json",
        '{"event_id": "B-2", "case_id": "B2", "type": "application_received", "occurred_at": '
        '"2026-03-02T09:00:00", "data": {}}',
        '{"event_id": "EX-01-x1", "case_id": "EX-01", "type": "application_received", '
        '"occurred_at": "2026-03-02T09:05:00+08:00", "data": {"service_point": "ly", '
        '"channel": "walk_in", "category": "civil", "groups": []}}',
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(good[:5] + bad[:2] + good[5:] + bad[2:]) + "\n")
    code, out = run("import", str(source))
    assert code == 1
    assert json.loads(out)["stored"] == len(good)
    rejects = [json.loads(line) for line in
               (tmp_path / "mixed.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [6, 7, 38, 39]
    assert [r["rule"] for r in rejects] == ["case_not_started", "invalid_json", "naive_time",
                                            "event_id_conflict"]
    assert rejects[0]["case_id"] == "B" and rejects[0]["event_id"] == "B-1"
    assert rejects[1]["input"] == "this is not json"
    assert all({"line", "event_id", "case_id", "rule", "message", "input"} <= r.keys()
               for r in rejects)


def test_importing_only_bad_lines_leaves_the_report_unchanged(
        loaded: Path, tmp_path: Path) -> None:
    before = run_json(*REPORT)
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text(
        '{"event_id": "Z-1", "case_id": "EX-01", "type": "accepted", "occurred_at": '
        '"2026-03-02T10:05:00+08:00", "recorded_at": "2026-03-02T09:00:00+08:00"}\n'
        '{"event_id": "Z-2", "case_id": "EX-09", "type": "follow_up_call", "occurred_at": '
        '"2026-03-05T11:00:00+08:00", "data": {"reached": true, "satisfaction": "satisfied"}}\n')
    code, _ = run("import", str(only_bad))
    assert code == 1
    rules = [json.loads(x)["rule"] for x in
             (tmp_path / "bad.jsonl.rejects.jsonl").read_text().splitlines()]
    assert rules == ["future_event", "follow_up_already_reached"]
    assert comparable(run_json(*REPORT)) == comparable(before)


def test_a_csv_file_imports_like_its_json_lines(env: dict[str, str], examples: Path,
                                                tmp_path: Path) -> None:
    import csv
    run("network", "import", str(examples / "network.yaml"))
    target = tmp_path / "cases.csv"
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["event_id", "case_id", "type", "occurred_at", "recorded_at", "actor",
                         "data"])
        for line in (examples / "cases.jsonl").read_text().splitlines():
            e = json.loads(line)
            writer.writerow([e["event_id"], e["case_id"], e["type"], e["occurred_at"],
                             e.get("recorded_at", ""), e.get("actor", ""),
                             json.dumps(e["data"], ensure_ascii=False)])
    assert run("import", str(target))[0] == 0
    want = json.loads((examples / "expected_report.json").read_text())
    got = run_json(*REPORT)
    assert got["clocks"] == want["clocks"] and got["volume"] == want["volume"]


def test_events_arriving_in_any_file_order_are_accepted(env: dict[str, str], examples: Path,
                                                        tmp_path: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    lines = (examples / "cases.jsonl").read_text().splitlines()
    first, second = tmp_path / "late.jsonl", tmp_path / "early.jsonl"
    first.write_text("\n".join(reversed(lines)) + "\n")
    assert run("import", str(first))[0] == 0
    want = json.loads((examples / "expected_report.json").read_text())
    assert run_json(*REPORT)["clocks"] == want["clocks"]
    second.write_text(lines[0] + "\n")
    code, out = run("import", str(second))
    assert code == 0 and json.loads(out)["duplicates"] == 1


def test_report_by_county_and_by_group(loaded: Path) -> None:
    by_county = run_json(*REPORT, "--by", "county")
    assert [row["key"] for row in by_county["rows"]] == ["ly"]
    assert by_county["rows"][0]["volume"]["received"] == 10
    by_group = run_json(*REPORT, "--by", "group")
    assert by_group["rows"] == []  # the examples' cases belong to no group
    by_township = run_json(*REPORT, "--by", "township")
    assert [row["key"] for row in by_township["rows"]] == ["ly"]  # above township: itself


def test_unknown_grouping_and_naive_as_of_are_clear_errors(loaded: Path) -> None:
    code, _ = run("report", "--by", "street")
    assert code == 2
    code, _ = run("report", "--as-of", "2026-03-31T18:00:00")
    assert code == 2


def test_the_statutory_policy_names_a_year_the_calendar_does_not_know(
        env: dict[str, str], examples: Path, tmp_path: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    case_2027 = tmp_path / "2027.jsonl"
    case_2027.write_text(json.dumps({
        "event_id": "Y-1", "case_id": "Y", "type": "application_received",
        "occurred_at": "2027-01-05T09:00:00+08:00", "recorded_at": "2027-01-05T09:00:00+08:00",
        "data": {"service_point": "ly", "channel": "walk_in", "category": "civil",
                 "groups": []}}) + "\n")
    assert run("import", str(case_2027))[0] == 0
    result = CliRunner().invoke(app, ["report", "--policy", "statutory", "--as-of",
                                      "2027-01-20T00:00:00+08:00"])
    assert result.exit_code == 2
    assert "2027" in result.output
    assert run("report", "--as-of", "2027-01-20T00:00:00+08:00")[0] == 0  # six-hours needs none
