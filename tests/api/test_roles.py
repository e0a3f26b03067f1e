"""The role × scope matrix: each role does exactly what it should, for exactly its subtree.

Given two cases — A at the ly-yc workstation (隆阳区) and B at tc-tyz (腾冲市) — every principal
tries every action; the answers must be exactly the expected statuses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from projections.personal_data_reads import reads_of
from tests.api.conftest import Api
from tests.unit.factory import CaseBuilder, iso

AT = {"A": "ly-yc", "B": "tc-tyz"}
PRINCIPALS: dict[str, tuple[str, str | None, bool]] = {
    "clerk@ly-yc": ("clerk", "ly-yc", False), "clerk@tc-tyz": ("clerk", "tc-tyz", False),
    "clerk@ly": ("clerk", "ly", False), "clerk@ly-yc+pii": ("clerk", "ly-yc", True),
    "supervisor@ly": ("supervisor", "ly", False), "supervisor@tc": ("supervisor", "tc", False),
    "leadership": ("leadership", None, False), "auditor": ("auditor", None, False),
    "auditor+pii": ("auditor", None, True), "admin": ("admin", None, False),
}
READS = ("read A", "read B", "history A", "history B", "replay A", "replay B")

_minutes = itertools.count(100)


def _arrival(case: str) -> dict[str, Any]:
    minute = next(_minutes)
    return {"event_id": f"{case}-arrival-{minute}", "case_id": case, "type": "arrived",
            "occurred_at": iso(minute), "data": {"who": "applicant", "travel_minutes": 10}}


def _application(case: str, point: str) -> dict[str, Any]:
    raw = CaseBuilder(case).raw("application_received", 0, service_point=point)
    raw.pop("recorded_at")
    return raw


ACTIONS: dict[str, Callable[[Api, dict[str, str]], Any]] = {
    "record A": lambda api, h: api.client.post("/steps", json=_arrival("A"), headers=h),
    "record B": lambda api, h: api.client.post("/steps", json=_arrival("B"), headers=h),
    "open case at ly-yc-jx": lambda api, h: api.client.post(
        "/steps", json=_application(f"N-{next(_minutes)}", "ly-yc-jx"), headers=h),
    "open case at tc-tyz-01": lambda api, h: api.client.post(
        "/steps", json=_application(f"N-{next(_minutes)}", "tc-tyz-01"), headers=h),
    "read A": lambda api, h: api.client.get("/cases/A", headers=h),
    "read B": lambda api, h: api.client.get("/cases/B", headers=h),
    "history A": lambda api, h: api.client.get("/cases/A/events", headers=h),
    "history B": lambda api, h: api.client.get("/cases/B/events", headers=h),
    "replay A": lambda api, h: api.client.get(
        "/cases/A/replay", params={"known_at": "2100-01-01T00:00:00+08:00"}, headers=h),
    "replay B": lambda api, h: api.client.get(
        "/cases/B/replay", params={"known_at": "2100-01-01T00:00:00+08:00"}, headers=h),
    "personal data of A": lambda api, h: api.client.get(
        "/cases/A", params={"personal_data": "true"}, headers=h),
    "figures": lambda api, h: api.client.get("/figures", headers=h),
    "open clocks": lambda api, h: api.client.get("/clocks/open", headers=h),
    "import network": lambda api, h: api.client.put("/network", json=[], headers=h),
    "issue token": lambda api, h: api.client.post(
        "/tokens", json={"subject": "s-2", "role": "leadership"}, headers=h),
}

OK = {"record": 201, "read": 200}
ALLOWED: dict[str, set[str]] = {
    "clerk@ly-yc": {"record A", "open case at ly-yc-jx", "read A", "history A", "open clocks"},
    "clerk@tc-tyz": {"record B", "open case at tc-tyz-01", "read B", "history B", "open clocks"},
    "clerk@ly": {"record A", "open case at ly-yc-jx", "read A", "history A", "open clocks"},
    "clerk@ly-yc+pii": {"record A", "open case at ly-yc-jx", "read A", "history A", "open clocks",
                        "personal data of A"},
    "supervisor@ly": {"read A", "history A", "replay A", "figures", "open clocks"},
    "supervisor@tc": {"read B", "history B", "replay B", "figures", "open clocks"},
    "leadership": {*READS, "figures", "open clocks"},
    "auditor": {*READS, "figures", "open clocks"},
    "auditor+pii": {*READS, "figures", "open clocks", "personal data of A"},
    "admin": {"import network", "issue token"},
}


CASE_READS = ("read ", "history ", "replay ", "personal data of ")


def _expected(principal: str, action: str) -> int:
    if action in ALLOWED[principal]:
        if action.startswith(("record", "open case", "issue")):
            return 201
        return 422 if action == "import network" else 200  # an empty network is invalid
    kind = next((k for k in CASE_READS if action.startswith(k)), None)
    if kind is not None and any(a.startswith(kind) for a in ALLOWED[principal]):
        return 404  # the role may read such cases, but this one is outside its subtree
    return 403


@pytest.fixture
def two_cases(api: Api) -> Api:
    api.recorded([_application("A", "ly-yc"), _application("B", "tc-tyz")])
    api.catch_up()
    return api


def test_each_role_does_exactly_what_it_should_for_exactly_its_subtree(two_cases: Api) -> None:
    api = two_cases
    wrong = []
    for name, (role, point, pii) in PRINCIPALS.items():
        headers = api.auth(role, point, pii=pii)
        for action, call in ACTIONS.items():
            response = call(api, headers)
            if response.status_code != _expected(name, action):
                wrong.append((name, action, response.status_code, response.text[:160]))
            elif response.status_code == 403:
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["code"] in ("role_not_allowed", "case_out_of_scope",
                                                   "personal_data_not_granted")
    assert wrong == []


def test_a_clerk_of_one_township_cannot_record_or_read_another_townships_case(two_cases: Api) -> None:
    api = two_cases
    clerk = api.auth("clerk", "tc-tyz")
    before = api.stored_ids("A")
    refused = api.client.post("/steps", json=_arrival("A"), headers=clerk)
    assert refused.status_code == 403
    assert refused.json() | {"detail": "-"} == {
        "type": "urn:sixhours:problem:case_out_of_scope", "title": "Forbidden", "status": 403,
        "detail": "-", "code": "case_out_of_scope", "case_id": "A",
        "event_id": refused.json()["event_id"], "service_point": "ly-yc"}
    assert api.stored_ids("A") == before  # nothing of it stored
    out_of_scope = api.client.get("/cases/A", headers=clerk)
    unknown = api.client.get("/cases/NO-SUCH-CASE", headers=clerk)
    assert out_of_scope.status_code == unknown.status_code == 404
    assert out_of_scope.json()["code"] == unknown.json()["code"] == "case_not_found"
    listed = api.client.get("/clocks/open", headers=clerk).json()["clocks"]
    assert {c["case_id"] for c in listed} == {"B"}


def test_a_supervisor_sees_the_figures_of_its_subtree_only(two_cases: Api) -> None:
    api = two_cases
    mine = api.client.get("/figures", headers=api.auth("supervisor", "ly")).json()
    everything = api.client.get("/figures", headers=api.auth("leadership")).json()
    assert mine["scope"] == "ly"
    assert mine["volume"]["received"] == 1
    assert everything["volume"]["received"] == 2


def test_after_a_transfer_the_case_belongs_to_its_new_point(two_cases: Api) -> None:
    api = two_cases
    transfer = {"event_id": "A-transfer", "case_id": "A", "type": "transferred",
                "occurred_at": iso(next(_minutes)), "data": {"to_service_point": "tc-tyz"}}
    assert api.client.post("/steps", json=transfer,
                           headers=api.auth("clerk", "ly-yc")).status_code == 201
    assert api.client.post("/steps", json=_arrival("A"),
                           headers=api.auth("clerk", "ly-yc")).status_code == 403
    assert api.client.post("/steps", json=_arrival("A"),
                           headers=api.auth("clerk", "tc-tyz")).status_code == 201


def test_personal_data_is_shown_only_with_the_grant_and_every_such_read_is_logged(api: Api) -> None:
    raw = _application("P", "ly-yc")
    raw["data"]["applicant"] = {"name": "张三", "phone": "13800000000"}
    api.recorded([raw])
    plain = api.client.get("/cases/P", headers=api.auth("leadership")).json()
    assert "applicant" not in plain["events"][0]["data"]
    assert "张三" not in str(api.client.get("/cases/P/events", headers=api.auth("auditor")).json())
    shown = api.client.get("/cases/P/events", params={"personal_data": "true"},
                           headers=api.auth("auditor", pii=True, subject="audit-9"))
    assert shown.status_code == 200
    assert shown.json()["events"][0]["data"]["applicant"] == {"name": "张三", "phone": "13800000000"}
    reads = reads_of(api.container.engine, "P")
    assert [(r.subject, r.role, r.what) for r in reads] == [("audit-9", "auditor", "history")]
