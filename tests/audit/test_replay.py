"""Bitemporal replay: a case as known at a time (before a correction arrived) and as happened."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.clocks import CaseEvaluation, evaluate
from domain.policy import six_hours_policy
from tests.audit.store import write_jsonl
from tests.e2e.cli import run, run_json
from tests.unit.factory import SHANGHAI, CaseBuilder, t

CASE = "LATE-1"


def _late_review() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A review recorded at 10:30 (90 minutes: breached); a day later a correction says it was
    at 09:50 (50 minutes: met). The rest of the case is on time either way."""
    b = CaseBuilder(CASE, service_point="ly")
    first = [b.raw("application_received", 0), b.raw("reviewed", 90), b.raw("accepted", 95),
             b.raw("assigned", 100), b.raw("first_meeting", 120), b.raw("closed", 180),
             b.raw("documents_reviewed", 190), b.raw("follow_up_call", 200)]
    correction = b.raw("corrected", 24 * 60, target_event_id=first[1]["event_id"],
                       occurred_at=t(50).isoformat())
    return first, [correction]


def _independent(raws: list[dict[str, Any]], as_of: datetime) -> CaseEvaluation:
    from domain.events import parse_event
    steps = [parse_event(r, default_recorded_at=as_of, seq=n) for n, r in enumerate(raws)]
    return evaluate(CASE, steps, six_hours_policy(), as_of, SHANGHAI, "urban")


def _same(view: dict[str, Any], expected: CaseEvaluation) -> None:
    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(SHANGHAI).isoformat() if moment else None

    assert {name: (c["state"], c["decision_time"], c["elapsed_seconds"])
            for name, c in view["clocks"].items()} == {
        name: (c.state, iso(c.decision_time), c.elapsed_seconds)
        for name, c in expected.clocks.items()}
    assert (view["outcome"] or {}).get("outcome") == expected.outcome


def test_as_known_before_the_correction_shows_the_uncorrected_figures(
        env: dict[str, str], examples: Path, tmp_path: Path) -> None:
    first, correction = _late_review()
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(write_jsonl(tmp_path / "first.jsonl", first)))[0] == 0
    known_at = datetime.now(UTC)
    assert run("import", str(write_jsonl(tmp_path / "fix.jsonl", correction)))[0] == 0
    happened_at = t(8 * 60)  # the same afternoon

    before = run_json("audit", "replay", CASE, "--as-known-at", known_at.isoformat(),
                      "--as-happened-at", happened_at.isoformat(), "--format", "json")
    after = run_json("audit", "replay", CASE, "--as-happened-at", happened_at.isoformat(),
                     "--format", "json")

    assert before["clocks"]["review"]["state"] == "breached"
    assert before["outcome"]["outcome"] == "missed"
    _same(before, _independent(first, happened_at))
    assert after["clocks"]["review"]["state"] == "met"
    assert after["outcome"]["outcome"] == "achieved"
    _same(after, _independent(first + correction, happened_at))
    assert (before["events_known"], after["events_known"]) == (8, 9)


def test_the_timeline_walks_the_clocks_step_by_step(env: dict[str, str], examples: Path,
                                                    tmp_path: Path) -> None:
    first, correction = _late_review()
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(write_jsonl(tmp_path / "all.jsonl", first + correction)))[0] == 0
    view = run_json("audit", "replay", CASE, "--format", "json")

    steps = [(item["type"], [(c["clock"], c["from"], c["to"]) for c in item["changes"]])
             for item in view["timeline"]]
    assert steps[0] == ("application_received", [("review", None, "running")])
    assert steps[1] == ("reviewed", [("review", "running", "met"),
                                     ("assignment", None, "running")])
    reviewed = view["timeline"][1]
    assert reviewed["originally_occurred_at"] == t(90).isoformat()
    assert steps[-2][1][-1] == ("case", None, "achieved")
    assert steps[-1][0] == "corrected"
    table = run("audit", "replay", CASE, "--lang", "zh")[1]
    assert "案件时间线" in table and "审查" in table


def test_a_time_before_the_case_was_stored_is_a_clear_error(env: dict[str, str], examples: Path,
                                                            tmp_path: Path) -> None:
    first, _ = _late_review()
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(write_jsonl(tmp_path / "first.jsonl", first)))[0] == 0
    code, _ = run("audit", "replay", CASE, "--as-known-at", "2020-01-01T00:00:00+08:00")
    assert code == 2


def test_a_whole_report_as_known_before_the_correction(env: dict[str, str], examples: Path,
                                                       tmp_path: Path) -> None:
    first, correction = _late_review()
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(write_jsonl(tmp_path / "first.jsonl", first)))[0] == 0
    known_at = datetime.now(UTC)
    assert run("import", str(write_jsonl(tmp_path / "fix.jsonl", correction)))[0] == 0
    as_of = t(8 * 60).isoformat()
    period = ("--from", "2026-03-01", "--to", "2026-03-31", "--format", "json")

    then = run_json("audit", "report", "--as-known-at", known_at.isoformat(), "--as-of", as_of,
                    *period)
    now = run_json("report", "--as-of", as_of, *period)

    assert then["cases"] == {"achieved": 0, "missed": 1, "rate": 0.0}
    assert now["cases"] == {"achieved": 1, "missed": 0, "rate": 1.0}
    assert then["known_at"] and then["provenance"]["figures_from"] == "evaluated"
