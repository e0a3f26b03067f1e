"""What-if: a generated year re-scored under `statutory` and a stricter six-hours variant; every
case's scores and every county's counts equal the clock engine run per case on the stored events.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from domain.clocks import evaluate
from domain.policy import Policy, policy_from_mapping
from domain.policy_versions import PolicyVersions
from projections.what_if import WhatIf, case_score, rescore, run_summary
from sixhours.bootstrap import Container, build, utc_now
from sixhours.settings import Settings
from tests.e2e.cli import run
from tests.unit.factory import SHANGHAI

AS_OF = datetime(2026, 1, 20, 12, 0, tzinfo=SHANGHAI)
CLOCKS = ("reach", "onsite", "review", "assignment", "first_meeting", "follow_up")
URBAN_30 = {"name": "six-hours-urban30", "version": "1", "finish_clock": "follow_up",
            "clocks": {c: {"minutes": 60, "by_area": {"urban": 30}} for c in CLOCKS}}


@pytest.fixture
def year(env: dict[str, str], tmp_path: Path) -> Container:
    """A generated year of applications (2025) in this test's database, projected."""
    code, out = run("generate", "--out", str(tmp_path), "--cases", "240", "--seed", "6",
                    "--start", "2025-01-01", "--days", "365")
    assert code == 0, out
    run("network", "import", str(tmp_path / "network.yaml"))
    assert run("import", str(tmp_path / "events.jsonl"))[0] == 0
    container = build(Settings())
    container.catch_up()
    yield container
    container.close()


def _engine_scores(c: Container, policy: Any, as_of: datetime) -> dict[str, tuple[Any, ...]]:
    """Each case evaluated from its stored events by the clock engine: (county, outcome, clocks)."""
    network = c.network()
    scores = {}
    for case_id in _case_ids(c):
        steps = c.service.history(case_id)
        first = min(steps, key=lambda s: s.sort_key())
        area = network.area_of(first.data.get("service_point"))
        chosen = policy
        if isinstance(policy, PolicyVersions):
            received = evaluate(case_id, steps, c.policies["six-hours"], as_of, SHANGHAI, area)
            chosen = policy.in_effect(received.facts.received_at, SHANGHAI)
        e = evaluate(case_id, steps, chosen, as_of, SHANGHAI, area)
        county = network.key_at_level(e.facts.service_point, "county")
        scores[case_id] = (county, e.outcome, {n: k.state for n, k in e.clocks.items()})
    return scores


def _case_ids(c: Container) -> list[str]:
    from sqlalchemy import select
    h = c.active_tables().case_histories
    with c.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(h.c.case_id).order_by(h.c.case_id))]


def _changed(base: tuple[Any, ...], alt: tuple[Any, ...]) -> bool:
    """The outcome, or a clock both policies score, differs."""
    return base[1] != alt[1] or any(alt[2][n] != s for n, s in base[2].items() if n in alt[2])


def _county_counts(scores: dict[str, tuple[Any, ...]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for county, outcome, clocks in scores.values():
        for key in (county, "*"):
            row = counts.setdefault(key, {})
            if outcome:
                row[outcome] = row.get(outcome, 0) + 1
            for name, state in clocks.items():
                if state in ("met", "breached", "overdue"):
                    label = f"{name}:{'met' if state == 'met' else 'breached'}"
                    row[label] = row.get(label, 0) + 1
    return counts


def _run_counts(groups: dict[str, Any], side: str) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    index = 0 if side == "current" else 1
    for key, g in groups.items():
        row = {k: v for k, v in g[side].items() if k != "rate" and v}
        for name, c in g["clocks"].items():
            for outcome in ("met", "breached"):
                if c[outcome][index]:
                    row[f"{name}:{outcome}"] = c[outcome][index]
        counts[key] = row
    return counts


def _check_run(c: Container, body: dict[str, Any], policy: Any) -> None:
    base = _engine_scores(c, c.policies["six-hours"], AS_OF)
    alt = _engine_scores(c, policy, AS_OF)
    assert body["status"] == "done" and body["cases"] == len(base) > 200
    for case_id in base:
        stored = case_score(c.engine, body["run_id"], case_id)
        assert stored is not None
        assert (stored["group"], stored["current"]["outcome"], stored["current"]["clocks"]) == \
            base[case_id], case_id
        assert (stored["group"], stored["what_if"]["outcome"], stored["what_if"]["clocks"]) == \
            alt[case_id], case_id
        assert stored["changed"] == _changed(base[case_id], alt[case_id])
    assert body["changed"] == sum(_changed(base[k], alt[k]) for k in base) > 0
    assert _run_counts(body["groups"], "current") == _county_counts(base)
    assert _run_counts(body["groups"], "what_if") == _county_counts(alt)


def _what_if(c: Container, policy: Policy | PolicyVersions, **options: Any) -> dict[str, Any]:
    base = c.policies["six-hours"]
    return rescore(c.engine, c.active_tables(), c.network(),
                   WhatIf(policy, base, "six-hours", AS_OF, SHANGHAI), now=utc_now, **options)


def test_statutory_rescores_a_year_exactly_as_the_engine(year: Container) -> None:
    body = _what_if(year, year.policies["statutory"])
    _check_run(year, body, year.policies["statutory"])


def test_a_stricter_variant_in_separate_processes_is_exact_too(year: Container) -> None:
    stricter = policy_from_mapping(URBAN_30, year.calendar)
    url = year.engine.url.render_as_string(hide_password=False)
    body = _what_if(year, stricter, url=url, workers=2, parallel_from=1)
    _check_run(year, body, stricter)
    current = {k: g["current"] for k, g in body["groups"].items()}
    assert all(g["what_if"]["rate"] is None or g["current"]["rate"] is None
               or g["what_if"]["rate"] <= g["current"]["rate"] for g in body["groups"].values())
    # The current scores are untouched, and a second run keeps the first.
    again = _what_if(year, stricter)
    assert again["run_id"] != body["run_id"]
    assert {k: g["current"] for k, g in run_summary(year.engine, body["run_id"], SHANGHAI)
            ["groups"].items()} == current


def test_versions_by_effective_date_score_each_case_under_its_own(year: Container) -> None:
    from datetime import date
    stricter = policy_from_mapping({**URBAN_30, "name": "six-hours", "version": "2"},
                                   year.calendar)
    versions = PolicyVersions.of([(None, year.policies["six-hours"]), (date(2025, 7, 1), stricter)])
    body = _what_if(year, versions)
    assert body["policy"] == "six-hours@1, 2 from 2025-07-01"
    _check_run(year, body, versions)


def test_the_command_prints_the_county_diff(year: Container) -> None:
    code, out = run("audit", "what-if", "--policy", "statutory", "--as-of", AS_OF.isoformat(),
                    "--format", "json")
    assert code == 0, out
    body = json.loads(out)
    assert body["policy"] == "statutory@1" and set(body["groups"]) > {"*"}
    table = run("audit", "what-if", "--policy", "statutory", "--lang", "zh")[1]
    assert "假设分析" in table and "合计" in table
