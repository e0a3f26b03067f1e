"""Recording steps: idempotency, concurrent writers on one case, group commit, limits, logs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from api.writer import GroupCommitWriter
from tests.api.conftest import Api
from tests.unit.factory import CaseBuilder


def _raw(builder: CaseBuilder, kind: str, minute: float, **fields: Any) -> dict[str, Any]:
    raw = builder.raw(kind, minute, **fields)
    raw.pop("recorded_at")
    return raw


async def _post_all(api: Api, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    headers = api.auth("clerk", "bs")
    transport = httpx.ASGITransport(app=api.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return list(await asyncio.gather(*(client.post("/steps", json=b, headers=headers)
                                           for b in bodies)))


def test_repeating_a_step_returns_the_original_and_other_content_is_a_conflict(api: Api) -> None:
    builder = CaseBuilder("C-1")
    application = _raw(builder, "application_received", 0, actor="staff-017")
    first = api.record(application)
    again = api.record(application)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()  # the original, recorded_at included
    changed = api.record({**application, "data": {**application["data"], "channel": "online"}})
    assert changed.status_code == 409
    assert changed.json()["rule"] == "event_id_conflict"
    assert api.stored_ids("C-1") == ["C-1-e1"]
    other_case = api.record({**application, "case_id": "C-2"})
    assert other_case.status_code == 409 and api.stored_ids("C-2") == []


def test_concurrent_conflicting_steps_on_one_case_never_make_an_invalid_history(api: Api) -> None:
    builder = CaseBuilder("C-1")
    api.recorded([_raw(builder, "application_received", 0)])
    reviews = [_raw(CaseBuilder("C-1"), "reviewed", 30 + i, event_id=f"review-{i}",
                    decision="granted" if i % 2 else "refused") for i in range(12)]
    responses = asyncio.run(_post_all(api, reviews))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [422] * 11
    assert {r.json()["rule"] for r in responses if r.status_code == 422} <= {
        "already_recorded", "before_latest_event"}
    history = api.container.service.history("C-1")
    assert [s.type for s in history] == ["application_received", "reviewed"]


def test_the_same_step_sent_concurrently_is_stored_once(api: Api) -> None:
    application = _raw(CaseBuilder("C-1"), "application_received", 0)
    responses = asyncio.run(_post_all(api, [application] * 10))
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.text for r in responses}) == 1
    assert api.stored_ids("C-1") == ["C-1-e1"]


def test_concurrent_steps_share_transactions_and_each_gets_its_own_answer(api: Api) -> None:
    writer: GroupCommitWriter = api.client.app.state.writer  # type: ignore[attr-defined]
    bodies = [_raw(CaseBuilder(f"G-{i}"), "application_received", 0) for i in range(150)]
    bodies[7]["data"]["service_point"] = "ly-old"  # retired: refused, alone
    batches_before = writer.batches
    responses = asyncio.run(_post_all(api, bodies))
    assert [r.status_code for r in responses] == [422 if i == 7 else 201 for i in range(150)]
    assert responses[7].json()["case_id"] == "G-7"
    assert [r.json()["case_id"] for r in responses] == [f"G-{i}" for i in range(150)]
    assert writer.batches - batches_before < 150  # grouped into shared transactions
    assert api.stored_ids("G-7") == [] and api.stored_ids("G-149") == ["G-149-e1"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    raw = _raw(CaseBuilder("C-1"), "application_received", 0)
    raw["data"]["applicant"] = {"name": "x" * 70_000}
    response = api.record(raw)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert api.stored_ids("C-1") == []


def test_pages_are_bounded(api: Api) -> None:
    api.recorded([_raw(CaseBuilder("C-1"), "application_received", 0)])
    headers = api.auth("auditor")
    assert api.client.get("/cases/C-1/events", params={"limit": 5000},
                          headers=headers).status_code == 422
    page = api.client.get("/cases/C-1/events", params={"limit": 1, "offset": 1}, headers=headers)
    assert page.json() | {"events": None} == {"case_id": "C-1", "total": 1, "limit": 1, "offset": 1,
                                              "events": None}


def test_the_access_log_names_routes_and_callers_but_no_personal_data(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    raw = _raw(CaseBuilder("C-1"), "application_received", 0)
    raw["data"]["applicant"] = {"name": "张三", "id_number": "530502199001011234"}
    with caplog.at_level(logging.INFO, logger="sixhours.access"):
        api.recorded([raw])
        api.client.get("/cases/C-1", params={"personal_data": "true"},
                       headers=api.auth("auditor", pii=True, subject="audit-9"))
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "sixhours.access"]
    assert [(e["method"], e["route"], e["status"], e["role"]) for e in entries] == [
        ("POST", "/steps", 201, "clerk"), ("GET", "/cases/{case_id}", 200, "auditor")]
    assert entries[1]["subject"] == "audit-9"
    text = caplog.text
    assert "张三" not in text and "530502199001011234" not in text and "C-1" not in text


def test_unknown_routes_and_methods_answer_problem_details(api: Api) -> None:
    missing = api.client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert api.client.delete("/steps").json()["code"] == "method_not_allowed"


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    assert api.client.get("/ready").json() == {"status": "ready"}
