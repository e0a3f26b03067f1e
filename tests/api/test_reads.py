"""Reads through the API give exactly what the command line gives, on the worked examples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sixhours.bootstrap import build
from sixhours.serve import build_app, keyring
from sixhours.settings import Settings
from tests.api.conftest import Api
from tests.e2e.cli import run, run_json

AS_OF = "2026-03-31T18:00:00+08:00"
PERIOD = {"from": "2026-03-01", "to": "2026-03-31", "as_of": AS_OF}
FIXED = ("policy", "timezone", "from", "to", "clocks", "cases", "satisfaction", "volume", "open")


@pytest.fixture
def examples_api(env: dict[str, str], examples: Path) -> Iterator[Api]:
    assert run("network", "import", str(examples / "network.yaml"))[0] == 0
    assert run("import", str(examples / "cases.jsonl"))[0] == 0
    container = build(Settings())
    container.catch_up()
    with TestClient(build_app(container)) as client:
        yield Api(client, container, keyring(container.settings))
    container.close()


def _get(api: Api, path: str, role: str, point: str | None = None, **params: Any) -> Any:
    response = api.client.get(path, params=params, headers=api.auth(role, point))
    assert response.status_code == 200, response.text
    return response.json()


def test_figures_for_leadership_are_the_report(examples_api: Api, examples: Path) -> None:
    want = json.loads((examples / "expected_report.json").read_text())
    got = _get(examples_api, "/figures", "leadership", **PERIOD)
    assert {k: got[k] for k in FIXED} == {k: want[k] for k in FIXED}


def test_a_supervisors_figures_are_its_countys_row_of_the_report(examples_api: Api) -> None:
    by_county = _get(examples_api, "/figures", "leadership", **PERIOD, by="county")
    for row in by_county["rows"]:
        mine = _get(examples_api, "/figures", "supervisor", row["key"], **PERIOD)
        assert {k: mine[k] for k in ("clocks", "cases", "satisfaction", "volume", "open")} == {
            k: row[k] for k in ("clocks", "cases", "satisfaction", "volume", "open")}, row["key"]
    grouped = _get(examples_api, "/figures", "supervisor", "ly", **PERIOD, by="channel")
    everything = _get(examples_api, "/figures", "leadership", **PERIOD, by="channel")
    assert sum(r["volume"]["received"] for r in grouped["rows"]) <= sum(
        r["volume"]["received"] for r in everything["rows"])


def test_a_case_reads_as_case_show_prints_it(examples_api: Api, examples: Path) -> None:
    expected = json.loads((examples / "expected.json").read_text())
    for case_id in expected["cases"]:
        cli = run_json("case", "show", case_id, "--as-of", AS_OF, "--format", "json")
        assert _get(examples_api, f"/cases/{case_id}", "auditor", as_of=AS_OF) == cli, case_id


def test_a_replay_sees_only_what_was_stored_by_then(examples_api: Api) -> None:
    case_id = "EX-01"
    before = examples_api.client.get(f"/cases/{case_id}/replay",
                                     params={"known_at": "2026-01-01T00:00:00+08:00"},
                                     headers=examples_api.auth("auditor"))
    assert before.status_code == 404 and before.json()["code"] == "case_not_known_yet"
    history = _get(examples_api, f"/cases/{case_id}/events", "auditor")
    ingested = max(e["ingested_at"] for e in history["events"])
    replay = _get(examples_api, f"/cases/{case_id}/replay", "auditor", known_at=ingested,
                  as_of=AS_OF)
    assert replay["known_at"] is not None
    assert {k: v for k, v in replay.items() if k != "known_at"} == _get(
        examples_api, f"/cases/{case_id}", "auditor", as_of=AS_OF)


def test_open_clocks_are_the_reports_open_clocks_now(examples_api: Api) -> None:
    now = _get(examples_api, "/figures", "leadership")
    listed = _get(examples_api, "/clocks/open", "leadership", limit=1000)
    assert listed["total"] == now["open"]["running"] + now["open"]["overdue"] == len(listed["clocks"])
    overdue = _get(examples_api, "/clocks/open", "leadership", state="overdue")
    assert overdue["total"] == now["open"]["overdue"]
    assert [c["due_at"] for c in listed["clocks"]] == sorted(c["due_at"] for c in listed["clocks"])
    network = examples_api.container.network()
    per_county = 0
    for county in ("ly", "tc", "sd"):
        mine = _get(examples_api, "/clocks/open", "supervisor", county, limit=1000)
        assert {c["service_point"] for c in mine["clocks"]} <= network.subtree(county)
        per_county += mine["total"]
    assert per_county == listed["total"]  # every example case stands in one of the counties


def test_unknown_cases_policies_and_naive_times_are_problems(examples_api: Api) -> None:
    headers = examples_api.auth("auditor")
    assert examples_api.client.get("/cases/NOPE", headers=headers).json()["code"] == "case_not_found"
    assert examples_api.client.get("/cases/EX-01", params={"policy": "x"},
                                   headers=headers).json()["code"] == "unknown_policy"
    naive = examples_api.client.get("/figures", params={"as_of": "2026-03-31T18:00:00"},
                                    headers=headers)
    assert naive.status_code == 422 and naive.json()["code"] == "naive_time"
    backwards = examples_api.client.get("/figures", params={"from": "2026-03-31", "to": "2026-03-01"},
                                        headers=headers)
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_period"
