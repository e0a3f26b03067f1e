"""Every SPEC §3 refusal through the API: a problem details body naming the case, the event and
the rule (the same codes as import rejects), and nothing of the refused request stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from domain.errors import MESSAGES
from tests.api.conftest import Api
from tests.unit.factory import CaseBuilder

CASE = "R-1"
Given = list[tuple[str, float, dict[str, Any]]]
APP = ("application_received", 0, {})
HOTLINE = ("application_received", 0, {"channel": "hotline"})
REVIEWED = ("reviewed", 30, {})
HAPPY: Given = [APP, REVIEWED, ("accepted", 35, {}), ("assigned", 40, {}),
                ("first_meeting", 60, {}), ("closed", 120, {})]


def _raw(kind: str, minute: float, event_id: str = "refused-1", **data: Any) -> dict[str, Any]:
    raw = CaseBuilder(CASE).raw(kind, minute, event_id=event_id, **data)
    raw.pop("recorded_at")
    return raw


def _with(**changes: Any) -> dict[str, Any]:
    return {**_raw("application_received", 0), **changes}


def _data(**data: Any) -> dict[str, Any]:
    raw = _raw("application_received", 0)
    return {**raw, "data": {**raw["data"], **data}}


def _without(key: str) -> dict[str, Any]:
    raw = _raw("application_received", 0)
    raw.pop(key)
    return raw


IN_A_DAY = (datetime.now(UTC) + timedelta(days=1)).isoformat()

# rule code -> (the case so far, the refused body: a JSON value, or raw bytes)
SCENARIOS: dict[str, tuple[Given, Any]] = {
    "invalid_json": ([], b'{"event_id": "refused-1", '),
    "not_an_object": ([], [1, 2]),
    "missing_field": ([], _without("occurred_at")),
    "unknown_field": ([], _with(note="x")),
    "system_field": ([], _with(ingested_at="2026-03-02T09:00:00+08:00")),
    "wrong_type": ([], _data(mobility_impaired="yes")),
    "invalid_value": ([], _data(channel="fax")),
    "invalid_id": ([], _with(case_id="bad id!")),
    "unknown_type": ([], _with(type="lunch")),
    "invalid_time": ([], _with(occurred_at="yesterday")),
    "naive_time": ([], _with(occurred_at="2026-03-02T09:00:00")),
    "future_event": ([], _with(occurred_at=IN_A_DAY)),
    "event_id_conflict": ([APP], _data(channel="online") | {"event_id": f"{CASE}-e1"}),
    "unknown_service_point": ([], _data(service_point="nowhere")),
    "retired_service_point": ([], _data(service_point="ly-old")),
    "same_service_point": ([APP], _raw("transferred", 10, to_service_point="ly-yc")),
    "case_not_started": ([], _raw("reviewed", 30)),
    "application_not_first": ([APP], _raw("application_received", 10)),
    "already_recorded": ([APP, REVIEWED], _raw("reviewed", 40)),
    "after_review": ([APP, REVIEWED], _raw("onsite_requested", 40)),
    "needs_onsite_request": ([APP], _raw("arrived", 10, who="staff")),
    "review_clock_not_open": ([HOTLINE], _raw("materials_requested", 10)),
    "review_clock_paused": ([APP, ("materials_requested", 10, {})], _raw("reviewed", 20)),
    "review_clock_not_paused": ([APP], _raw("materials_received", 10)),
    "needs_arrival": ([HOTLINE], _raw("reviewed", 10)),
    "needs_granted_review": ([APP], _raw("accepted", 10)),
    "needs_acceptance": ([APP, REVIEWED], _raw("assigned", 40)),
    "after_assignment": (HAPPY[:4], _raw("transferred", 50)),
    "case_closed": (HAPPY, _raw("assigned", 130, handler="lawyer-02")),
    "needs_assignment": (HAPPY[:3], _raw("first_meeting", 40)),
    "needs_first_meeting": (HAPPY[:4], _raw("closed", 50)),
    "needs_closure": ([APP], _raw("documents_reviewed", 10)),
    "follow_up_already_reached": ([*HAPPY, ("follow_up_call", 130, {})], _raw("follow_up_call", 140)),
    "case_refused": ([APP, ("reviewed", 30, {"decision": "refused"})], _raw("withdrawn", 40)),
    "case_withdrawn": ([APP, ("withdrawn", 10, {})], _raw("reviewed", 20)),
    "correction_target_unknown": ([APP], _raw("corrected", 10, target_event_id="nope",
                                              occurred_at="2026-03-02T09:05:00+08:00")),
    "correction_of_correction": (
        [APP, ("corrected", 10, {"target_event_id": f"{CASE}-e1",
                                 "occurred_at": "2026-03-02T09:01:00+08:00"})],
        _raw("corrected", 20, target_event_id=f"{CASE}-e2", occurred_at="2026-03-02T09:05:00+08:00")),
    "correction_target_not_earlier": (
        [APP, REVIEWED],
        _raw("corrected", 30, target_event_id=f"{CASE}-e2", occurred_at="2026-03-02T09:25:00+08:00")),
    "before_latest_event": ([APP, REVIEWED], _raw("accepted", 20)),
}


def test_every_rule_code_has_an_api_scenario() -> None:
    assert set(SCENARIOS) == set(MESSAGES)


def _given(api: Api, given: Given) -> None:
    builder = CaseBuilder(CASE)
    for kind, minute, data in given:
        raw = builder.raw(kind, minute, **data)
        raw.pop("recorded_at")
        response = api.record(raw)
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_a_refused_step_is_a_problem_naming_case_event_and_rule(api: Api, code: str) -> None:
    given, body = SCENARIOS[code]
    _given(api, given)
    stored_before = api.stored_ids(CASE)
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    response = api.record(None, content=content)

    assert response.status_code == (409 if code == "event_id_conflict" else 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"urn:sixhours:problem:{code}"
    assert problem["rule"] == problem["code"] == code
    assert problem["status"] == response.status_code
    assert f"(rule {code})" in problem["detail"] and f"（规则 {code}）" in problem["message_zh"]
    if isinstance(body, dict) and isinstance(body.get("event_id"), str):
        assert problem["event_id"] == body["event_id"]
        assert problem["case_id"] == body["case_id"]
    # Nothing of the refused request is stored.
    assert api.stored_ids(CASE) == stored_before
    if code != "event_id_conflict":
        assert api.container.service.store.select_event_cases(["refused-1"]) == {}


def test_a_client_cannot_set_recorded_at(api: Api) -> None:
    raw = {**_raw("application_received", 0), "recorded_at": "2026-03-02T09:00:00+08:00"}
    response = api.record(raw)
    assert response.status_code == 422
    assert response.json()["rule"] == "system_field"
    assert response.json()["case_id"] == CASE and response.json()["event_id"] == "refused-1"
    assert api.stored_ids(CASE) == []


def test_messages_follow_the_language_asked_for(api: Api) -> None:
    headers = {**api.auth("clerk", "bs"), "Accept-Language": "zh-CN"}
    response = api.client.post("/steps", json=_raw("reviewed", 30), headers=headers)
    assert response.json()["detail"].startswith(f"案件 {CASE}，事件 refused-1：")
