"""The report's two paths (projected rows in SQL; re-evaluation of cases with later events)
agree exactly with a from-scratch evaluation of every case's events, on both backends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.clocks import evaluate
from projections.figures import Period, Tally, tally_case
from projections.queries import ReportRequest
from sixhours.bootstrap import build
from sixhours.settings import Settings
from tests.e2e.cli import run, run_json


def scratch_report(c: Any, policy_name: str, as_of: datetime, start: date, end: date,
                   by: str | None, points: frozenset[str] | None = None) -> dict[str, Any]:
    """Every case's events, straight from the event store, through the clock engine."""
    tz = c.settings.tz
    policy = c.policies[policy_name]
    period = Period(datetime.combine(start, time(0), tz),
                    datetime.combine(end + timedelta(days=1), time(0), tz))
    network = c.network()
    tally = Tally()
    histories = c.service.store.select_histories(_all_case_ids(c))
    for case_id, stored in histories.items():
        steps = [c.service.to_step(s) for s in stored]
        first = min(steps, key=lambda s: s.sort_key())
        ev = evaluate(case_id, steps, policy, as_of, tz,
                      network.area_of(first.data.get("service_point")))
        f = ev.facts
        if points is not None and f.service_point not in points:
            continue
        if by is None:
            keys = None
        elif by == "group":
            keys = list(f.groups)
        elif by in ("channel", "category"):
            keys = [getattr(f, by)] if f.received_at else []
        else:
            keys = [network.key_at_level(f.service_point, by)] if f.service_point else []
        tally_case(tally, keys, ev, period, as_of)
    body: dict[str, Any] = tally.total.as_json(list(policy.clocks))
    if by is not None:
        body["rows"] = [{"key": k, **fig.as_json(list(policy.clocks))}
                        for k, fig in sorted(tally.rows.items())]
    return body


def _all_case_ids(c: Any) -> list[str]:
    from sqlalchemy import select

    cases = c.active_tables().cases
    with c.engine.connect() as conn:
        return [row[0] for row in conn.execute(select(cases.c.case_id))]


@pytest.fixture
def workload(env: dict[str, str], tmp_path: Path) -> Any:
    run_json("generate", "--out", str(tmp_path), "--cases", "500", "--seed", "5",
             "--start", "2026-03-01", "--days", "12")
    assert run("network", "import", str(tmp_path / "network.yaml"))[0] == 0
    code, out = run("import", str(tmp_path / "events.jsonl"))
    assert code == 0, out
    c = build(Settings())
    c.catch_up()
    yield c
    c.close()


AS_OF = ["2026-03-04T10:15:00+08:00", "2026-03-08T23:59:59.5+08:00", "2026-03-20T00:00:00+08:00"]


SECTIONS = ("clocks", "cases", "satisfaction", "volume", "open")


def test_report_equals_a_from_scratch_evaluation(workload: Any) -> None:
    """Early as_of: most cases have later events (rows + re-evaluation); late: the rollups."""
    sources = []
    for as_of in AS_OF:
        moment = datetime.fromisoformat(as_of)
        start, end = date(2026, 3, 1), moment.date()
        for by in (None, "county", "township", "group", "channel", "category"):
            got = workload.queries.report(ReportRequest("six-hours", moment, start, end, by))
            sources.append(got["provenance"]["figures_from"])
            want = scratch_report(workload, "six-hours", moment, start, end, by)
            for section in SECTIONS:
                assert got[section] == want[section], (as_of, by, section)
            if by is not None:
                got_rows = {r["key"]: r for r in got["rows"]}
                want_rows = {r["key"]: r for r in want["rows"]}
                assert got_rows.keys() == want_rows.keys(), (as_of, by)
                for key, row in want_rows.items():
                    for section in SECTIONS:
                        assert got_rows[key][section] == row[section], (as_of, by, key, section)
    assert sources[0] == "rows" and sources[-1] == "rollups"


def test_a_subtrees_report_equals_a_from_scratch_evaluation_of_its_cases(workload: Any) -> None:
    """A supervisor's figures: only cases whose service point at as_of is in the subtree."""
    county = next(p.id for p in workload.network().points.values() if p.level == "county")
    points = frozenset(workload.network().subtree(county))
    for as_of in AS_OF:
        moment = datetime.fromisoformat(as_of)
        start, end = date(2026, 3, 1), moment.date()
        for by in (None, "township", "group"):
            request = ReportRequest("six-hours", moment, start, end, by, points)
            got = workload.queries.report(request)
            want = scratch_report(workload, "six-hours", moment, start, end, by, points)
            for section in SECTIONS:
                assert got[section] == want[section], (as_of, by, section)
            if by is not None:
                assert {r["key"]: {x: r[x] for x in SECTIONS} for r in got["rows"]} == \
                    {r["key"]: {x: r[x] for x in SECTIONS} for r in want["rows"]}, (as_of, by)
        assert got["volume"]["received"] > 0


def test_the_statutory_policy_is_evaluated_from_the_stored_histories(workload: Any) -> None:
    moment = datetime.fromisoformat(AS_OF[-1])
    got = workload.queries.report(ReportRequest("statutory", moment, date(2026, 3, 1),
                                                date(2026, 3, 20)))
    want = scratch_report(workload, "statutory", moment, date(2026, 3, 1), date(2026, 3, 20),
                          None)
    assert list(got["clocks"]) == ["review", "assignment", "first_meeting"]
    assert got["clocks"] == want["clocks"] and got["cases"] == want["cases"]
    assert got["cases"]["achieved"] > 0


def test_the_default_period_runs_from_the_earliest_item_to_the_as_of_date(workload: Any) -> None:
    body = run_json("report", "--as-of", AS_OF[-1], "--format", "json")
    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-20"
    assert body["provenance"]["figures_from"] == "rollups"  # every case's last event is visible
