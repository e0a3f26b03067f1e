"""The audit routes of the HTTP API: replay as known / as happened, the chain, the log."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.conftest import Api, api  # noqa: F401 - the API fixture on this test's database
from tests.unit.factory import CaseBuilder, t

CASE = "API-LATE-1"


def _submitted(raw: dict) -> dict:  # type: ignore[type-arg]
    """As a clerk submits it: the system sets recorded_at."""
    raw.pop("recorded_at")
    return raw


def test_replay_as_known_before_a_correction_and_as_happened(api: Api) -> None:  # noqa: F811
    b = CaseBuilder(CASE)  # ly-yc, urban
    first = [_submitted(b.raw("application_received", 0)), _submitted(b.raw("reviewed", 90))]
    api.recorded(first)
    known_at = datetime.now(UTC)
    api.recorded([_submitted(b.raw("corrected", 100, target_event_id=first[1]["event_id"],
                                   occurred_at=t(50).isoformat()))])
    headers = api.auth("auditor")
    url = f"/audit/cases/{CASE}/replay"

    before = api.client.get(url, headers=headers, params={
        "known_at": known_at.isoformat(), "happened_at": t(120).isoformat()})
    after = api.client.get(url, headers=headers, params={"happened_at": t(120).isoformat()})

    assert before.status_code == 200 and after.status_code == 200, before.text
    assert before.json()["clocks"]["review"]["state"] == "breached"
    assert after.json()["clocks"]["review"]["state"] == "met"
    timeline = after.json()["timeline"]
    assert [i["type"] for i in timeline] == [
        "application_received", "reviewed", "corrected", "overdue"]
    # nobody was assigned within the hour of the (corrected) review: overdue at its due time
    assert timeline[-1]["at"] == t(110).isoformat()
    assert timeline[-1]["changes"] == [{"clock": "assignment", "from": "running", "to": "overdue"}]


def test_the_chain_and_the_log_are_for_auditors(api: Api) -> None:  # noqa: F811
    b = CaseBuilder("API-PII-1", applicant={"name": "张三", "phone": "13800000000"})
    api.recorded([_submitted(b.raw("application_received", 0))])
    from projections.hash_chain import extend_chain
    from sixhours.audit import event_log  # the same wiring as the command line
    extend_chain(api.container.engine, api.container.service.recorder)
    assert event_log(api.container).table

    assert api.client.get("/audit/chain", headers=api.auth("leadership")).status_code == 403
    head = api.client.get("/audit/chain", headers=api.auth("auditor")).json()
    verified = api.client.post("/audit/verify", headers=api.auth("auditor")).json()
    assert verified["ok"] and verified["chain_head"] == head["chain_head"]

    read = api.client.get("/cases/API-PII-1", headers=api.auth("auditor", pii=True),
                          params={"personal_data": "true"})
    assert read.status_code == 200
    log = api.client.get("/audit/log", headers=api.auth("admin"),
                         params={"case_id": "API-PII-1"}).json()["entries"]
    assert [(e["kind"], e["action"], e["target"]) for e in log] == [
        ("personal_data_read", "read:case", "API-PII-1")]
    assert "张三" not in str(log)
