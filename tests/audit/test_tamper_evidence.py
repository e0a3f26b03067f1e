"""Tamper evidence: a hash chain over the stored bytes names the first altered event."""

from __future__ import annotations

import json
from pathlib import Path

from tests.audit.store import (
    edit_stored_event,
    events_table,
    execute,
    notification_column,
    notification_id,
)
from tests.e2e.cli import run, run_json


def _store_examples(examples: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(examples / "cases.jsonl"))[0] == 0


def _verify() -> tuple[int, dict]:  # type: ignore[type-arg]
    code, out = run("audit", "verify", "--format", "json")
    return code, json.loads(out)


def test_an_untouched_store_verifies_and_the_head_is_stable(env: dict[str, str],
                                                             examples: Path) -> None:
    _store_examples(examples)
    code, first = _verify()
    assert code == 0 and first["ok"] and first["events"] == 35 and first["unchained"] == 0
    again = run_json("audit", "chain")
    assert again["chained"] == 0 and again["chain_head"] == first["chain_head"]


def test_editing_one_stored_event_with_sql_is_named(env: dict[str, str], examples: Path) -> None:
    url = env["SIXHOURS_DATABASE_URL"]
    _store_examples(examples)
    assert _verify()[0] == 0
    # EX-01's second event is its review: a clerk's friend turns "granted" into "refused".
    edit_stored_event(url, "EX-01", 2, '"granted"', '"refused"')

    code, result = _verify()

    assert code == 1 and not result["ok"]
    assert result["first"]["kind"] == "event_altered"
    assert result["first"]["case_id"] == "EX-01"
    assert result["first"]["event_id"] == "EX-01-x2"
    assert result["first"]["notification_id"] == notification_id(url, "EX-01", 2)
    assert [f["event_id"] for f in result["findings"]] == ["EX-01-x2"]  # named once, no cascade
    text_out = run("audit", "verify", "--lang", "zh")[1]
    assert "EX-01-x2" in text_out and "事件内容被改动" in text_out


def _event_id(url: str, case_id: str, version: int) -> str:
    state = execute(url, f"SELECT state FROM {events_table(url)} WHERE originator_id = :c "
                         "AND originator_version = :v", c=case_id, v=version)[0][0]
    return str(json.loads(bytes(state))["event_id"])


def test_a_deleted_event_is_named(env: dict[str, str], examples: Path) -> None:
    url = env["SIXHOURS_DATABASE_URL"]
    _store_examples(examples)
    assert _verify()[0] == 0
    gone, event_id = notification_id(url, "EX-03", 2), _event_id(url, "EX-03", 2)
    execute(url, f"DELETE FROM {events_table(url)} WHERE {notification_column(url)} = :n",
            n=gone)

    code, result = _verify()

    assert code == 1
    assert result["first"] | {"message": None} == {
        "kind": "event_deleted", "notification_id": gone, "case_id": "EX-03",
        "event_id": event_id, "message": None}


def test_an_event_put_in_the_place_of_another_is_named(env: dict[str, str],
                                                       examples: Path) -> None:
    url = env["SIXHOURS_DATABASE_URL"]
    _store_examples(examples)
    assert _verify()[0] == 0
    table, column = events_table(url), notification_column(url)
    slot, event_id = notification_id(url, "EX-03", 2), _event_id(url, "EX-03", 2)
    execute(url, f"DELETE FROM {table} WHERE {column} = :n", n=slot)
    forged = json.dumps({"event_id": "FORGED-1", "type": "reviewed"}).encode()
    execute(url, f"INSERT INTO {table} ({column}, originator_id, originator_version, topic, state) "
                 "VALUES (:n, 'EX-99', 1, 'domain.service:StepRecorded', :s)", n=slot, s=forged)

    code, result = _verify()

    assert code == 1
    assert [(f["kind"], f["case_id"], f["event_id"]) for f in result["findings"]] == [
        ("event_moved", "EX-03", event_id)]


def test_a_chain_rewritten_to_match_is_caught_by_an_anchor(env: dict[str, str],
                                                           examples: Path) -> None:
    url = env["SIXHOURS_DATABASE_URL"]
    _store_examples(examples)
    anchor = run_json("audit", "anchor", "--note", "monthly report 2026-03")
    edit_stored_event(url, "EX-01", 2, '"granted"', '"refused"')
    # The tamperer also rebuilds the whole chain from the altered bytes.
    for table in ("sixhours_audit_chain", "sixhours_audit_case_heads"):
        execute(url, f"DELETE FROM {table}")
    execute(url, "DELETE FROM sixhours_projection_positions WHERE name = 'audit/hash_chain'")
    assert run_json("audit", "chain")["chain_head"] != anchor["chain_head"]

    code, result = _verify()

    assert code == 1
    assert result["first"]["kind"] == "anchor_mismatch"
    assert result["first"]["notification_id"] == anchor["through_notification"]


def test_a_report_names_the_event_range_policy_and_code(env: dict[str, str],
                                                         examples: Path) -> None:
    _store_examples(examples)
    head = run_json("audit", "chain")
    report = run_json("report", "--format", "json")
    provenance = report["provenance"]
    assert provenance["policy"] == "six-hours@1"
    assert provenance["events"] == {"through_notification": head["through_notification"],
                                    "chain_head": head["chain_head"],
                                    "chained_through": head["through_notification"]}
    assert provenance["code"]["version"] and len(provenance["code"]["source_sha256"]) == 64
