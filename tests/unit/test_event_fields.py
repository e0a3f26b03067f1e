"""One event on its own (SPEC §3): fields, strict JSON types, enums, times and the 5-minute rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.errors import RuleViolation
from domain.events import parse_event
from tests.unit.factory import CASE_ID, DROP, CaseBuilder, at, iso, t

NOW = t(600)  # the import time: the default recorded_at


def parse(raw: dict[str, Any]):
    return parse_event(raw, default_recorded_at=NOW)


def refusal(raw: dict[str, Any], code: str) -> RuleViolation:
    """Parsing `raw` is refused with `code`, naming the case and the event."""
    with pytest.raises(RuleViolation) as info:
        parse(raw)
    assert info.value.code == code, info.value.message("en")
    if isinstance(raw.get("case_id"), str):
        assert info.value.case_id == raw["case_id"]
    if isinstance(raw.get("event_id"), str):
        assert info.value.event_id == raw["event_id"]
    return info.value


def event(kind: str, when: float = 0, /, **data: Any) -> dict[str, Any]:
    return CaseBuilder().raw(kind, when, **data)


# --- required and optional data fields of every type --------------------------------------------

MINIMAL: list[tuple[str, dict[str, Any]]] = [
    ("application_received", {"service_point": "ly", "channel": "hotline", "category": "criminal",
                              "groups": []}),
    ("onsite_requested", {}),
    ("arrived", {"who": "staff"}),
    ("arrived", {"who": "applicant", "travel_minutes": 0}),
    ("materials_requested", {}),
    ("materials_received", {}),
    ("reviewed", {"decision": "granted"}),
    ("reviewed", {"decision": "refused", "reason": "不符合条件"}),
    ("transferred", {"to_service_point": "tc"}),
    ("accepted", {}),
    ("assigned", {"handler": "h-1", "handler_kind": "volunteer"}),
    ("first_meeting", {"mode": "video"}),
    ("closed", {"outcome": "mediated"}),
    ("documents_reviewed", {}),
    ("follow_up_call", {"reached": False}),
    ("follow_up_call", {"reached": True, "satisfaction": "basically_satisfied"}),
    ("withdrawn", {"reason": "已和解"}),
    ("corrected", {"target_event_id": "e-1", "occurred_at": iso(-10), "reason": "笔误"}),
]

FULL: list[tuple[str, dict[str, Any]]] = [
    ("application_received", {"service_point": "ly", "channel": "outreach", "category": "civil",
                              "groups": ["elderly", "disabled"], "mobility_impaired": True,
                              "area": "rural",
                              "applicant": {"name": "张三", "id_number": "5305", "phone": "138"}}),
    ("arrived", {"who": "staff", "travel_minutes": 15}),
    ("materials_requested", {"items": ["身份证", "收入证明"]}),
    ("materials_requested", {"items": []}),
    ("reviewed", {"decision": "granted", "reason": "符合条件"}),
    ("documents_reviewed", {"grade": "excellent"}),
]


@pytest.mark.parametrize(("kind", "data"), MINIMAL + FULL)
def test_every_type_accepts_its_required_and_optional_fields(kind: str, data: dict[str, Any]) -> None:
    raw = {"event_id": "e-1", "case_id": CASE_ID, "type": kind, "occurred_at": iso(0),
           "recorded_at": iso(0), "data": data}
    step = parse(raw)
    assert (step.type, dict(step.data), step.occurred_at) == (kind, data, t(0))


@pytest.mark.parametrize(("kind", "data"), [(k, d) for k, d in MINIMAL if d])
def test_each_required_field_missing_is_refused(kind: str, data: dict[str, Any]) -> None:
    for name in data:
        raw = {"event_id": "e-1", "case_id": CASE_ID, "type": kind, "occurred_at": iso(0),
               "data": {k: v for k, v in data.items() if k != name}}
        assert refusal(raw, "missing_field").params["field"] == f"data.{name}"


def test_types_without_data_accept_a_missing_or_null_data() -> None:
    raw = event("accepted")
    del raw["data"]
    assert parse(raw).data == {}
    assert parse({**raw, "data": None}).data == {}


def test_actor_is_an_optional_staff_id() -> None:
    assert parse(event("accepted")).actor is None
    assert parse({**event("accepted"), "actor": "staff-017"}).actor == "staff-017"
    refusal({**event("accepted"), "actor": 17}, "wrong_type")


# --- strict JSON types: no coercion -------------------------------------------------------------

@pytest.mark.parametrize(("kind", "data", "code"), [
    ("application_received", {"mobility_impaired": "yes"}, "wrong_type"),
    ("application_received", {"mobility_impaired": 1}, "wrong_type"),
    ("follow_up_call", {"reached": "true"}, "wrong_type"),
    ("follow_up_call", {"reached": 1, "satisfaction": "satisfied"}, "wrong_type"),
    ("arrived", {"travel_minutes": "5"}, "wrong_type"),
    ("arrived", {"travel_minutes": 5.0}, "wrong_type"),
    ("arrived", {"travel_minutes": True}, "wrong_type"),
    ("arrived", {"travel_minutes": None}, "wrong_type"),
    ("application_received", {"groups": "elderly"}, "wrong_type"),
    ("materials_requested", {"items": "身份证"}, "wrong_type"),
    ("materials_requested", {"items": ["身份证", 2]}, "wrong_type"),
    ("assigned", {"handler": 7}, "wrong_type"),
    ("withdrawn", {"reason": ""}, "wrong_type"),
    ("reviewed", {"decision": True}, "wrong_type"),
])
def test_values_must_have_the_stated_json_type(kind: str, data: dict[str, Any], code: str) -> None:
    refusal(event(kind, **data), code)


def test_data_must_be_an_object() -> None:
    refusal({**event("accepted"), "data": []}, "wrong_type")


# --- enums ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "field", "value"), [
    ("application_received", "channel", "email"),
    ("application_received", "category", "commercial"),
    ("application_received", "area", "suburban"),
    ("arrived", "who", "lawyer"),
    ("reviewed", "decision", "approved"),
    ("assigned", "handler_kind", "notary"),
    ("first_meeting", "mode", "letter"),
    ("closed", "outcome", "won"),
    ("documents_reviewed", "grade", "A"),
    ("follow_up_call", "satisfaction", "very_satisfied"),
    ("application_received", "channel", "Walk_In"),
])
def test_enum_values_outside_the_vocabulary_are_refused(kind: str, field: str, value: str) -> None:
    assert refusal(event(kind, **{field: value}), "invalid_value").params["field"] == f"data.{field}"


@pytest.mark.parametrize("groups", [[], ["woman"], ["elderly", "disabled", "migrant_worker", "woman",
                                                        "minor", "military", "low_income", "other"]])
def test_groups_is_any_subset_of_the_vocabulary(groups: list[str]) -> None:
    assert parse(event("application_received", groups=groups)).data["groups"] == groups


@pytest.mark.parametrize("groups", [["woman", "woman"], ["pensioner"], ["woman", 3]])
def test_groups_refuses_repeats_and_unknown_members(groups: list[Any]) -> None:
    code = "wrong_type" if 3 in groups else "invalid_value"
    refusal(event("application_received", groups=groups), code)


# --- unknown and system fields ------------------------------------------------------------------

def test_unknown_data_fields_are_refused() -> None:
    err = refusal(event("reviewed", note="加急"), "unknown_field")
    assert err.params["field"] == "data.note"
    refusal(event("accepted", decision="granted"), "unknown_field")


def test_unknown_top_level_fields_are_refused() -> None:
    refusal({**event("accepted"), "occured_at": iso(0)}, "unknown_field")


def test_ingested_at_is_set_by_the_system_never_by_a_caller() -> None:
    err = refusal({**event("accepted"), "ingested_at": iso(0)}, "system_field")
    assert "ingested_at" in err.message("en")


# --- applicant personal data ---------------------------------------------------------------------

def test_applicant_holds_only_name_id_number_and_phone_strings() -> None:
    step = parse(event("application_received", applicant={"name": "李四"}))
    assert step.data["applicant"] == {"name": "李四"}
    refusal(event("application_received", applicant={"name": "李四", "address": "保山"}),
            "unknown_field")
    refusal(event("application_received", applicant={"phone": 13800000000}), "wrong_type")
    refusal(event("application_received", applicant="李四"), "wrong_type")


# --- conditional fields ---------------------------------------------------------------------------

def test_travel_minutes_is_required_when_the_applicant_arrives() -> None:
    refusal(event("arrived", who="applicant", travel_minutes=DROP), "missing_field")
    assert "travel_minutes" not in parse(event("arrived", who="staff")).data


@pytest.mark.parametrize(("minutes", "accepted"), [(0, True), (1440, True), (-1, False),
                                                   (1441, False)])
def test_travel_minutes_lies_within_a_day(minutes: int, accepted: bool) -> None:
    raw = event("arrived", travel_minutes=minutes)
    if accepted:
        assert parse(raw).data["travel_minutes"] == minutes
    else:
        refusal(raw, "invalid_value")


def test_reason_is_required_when_the_review_refuses() -> None:
    refusal(event("reviewed", decision="refused", reason=DROP), "missing_field")
    assert "reason" not in parse(event("reviewed", decision="granted")).data


def test_satisfaction_is_required_if_and_only_if_the_call_reached_the_recipient() -> None:
    refusal(event("follow_up_call", reached=True, satisfaction=DROP), "missing_field")
    refusal(event("follow_up_call", reached=False, satisfaction="satisfied"), "unknown_field")


# --- times ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2026-03-02T09:00:00", "2026-03-02 09:00"])
def test_naive_times_are_refused(value: str) -> None:
    refusal({**event("accepted"), "occurred_at": value}, "naive_time")
    refusal({**event("accepted"), "recorded_at": value}, "naive_time")


@pytest.mark.parametrize("value", ["2026-03-02", "yesterday", "2026-02-30T09:00+08:00",
                                   "2026-03-02T25:00+08:00", ""])
def test_bad_time_strings_are_refused(value: str) -> None:
    refusal({**event("accepted"), "occurred_at": value}, "invalid_time")


def test_a_time_must_be_a_string() -> None:
    refusal({**event("accepted"), "occurred_at": 1772413200}, "wrong_type")


def test_times_keep_their_instant_and_sub_second_precision() -> None:
    step = parse({**event("accepted"), "occurred_at": "2026-03-02T01:00:00.250Z",
                  "recorded_at": "2026-03-02T01:00:01Z"})
    assert step.occurred_at == t(0) + timedelta(milliseconds=250)


def test_recorded_at_defaults_to_the_import_time() -> None:
    raw = event("accepted")
    del raw["recorded_at"]
    step = parse(raw)
    assert (step.recorded_at, step.recorded_supplied) == (NOW, False)


def test_occurred_at_may_be_exactly_five_minutes_after_recorded_at() -> None:
    assert parse(event("accepted", 5, recorded_at=0)).occurred_at == t(5)


def test_occurred_at_five_minutes_and_a_second_after_recorded_at_is_refused() -> None:
    refusal(event("accepted", 5 + 1 / 60, recorded_at=0), "future_event")


def test_the_five_minute_rule_uses_the_default_recorded_at_when_none_is_given() -> None:
    raw = event("accepted", 606)
    del raw["recorded_at"]
    refusal(raw, "future_event")


def test_a_corrected_time_obeys_the_five_minute_rule_against_the_corrections_recorded_at() -> None:
    fine = event("corrected", 10, target_event_id="e-1", occurred_at=iso(15))
    assert parse(fine).data["occurred_at"] == iso(15)
    late = event("corrected", 10, target_event_id="e-1", occurred_at=iso(at(15) + timedelta(seconds=1)))
    refusal(late, "future_event")


def test_a_corrected_time_must_be_an_aware_time() -> None:
    refusal(event("corrected", target_event_id="e-1", occurred_at="2026-03-02T09:00"), "naive_time")


# --- identifiers and the event type ---------------------------------------------------------------

def test_event_id_is_one_to_128_characters() -> None:
    assert parse({**event("accepted"), "event_id": "e" * 128}).event_id == "e" * 128
    refusal({**event("accepted"), "event_id": "e" * 129}, "invalid_id")
    refusal({**event("accepted"), "event_id": ""}, "wrong_type")


@pytest.mark.parametrize("case_id", ["BS-2026.000_45", "x", "A" * 64])
def test_case_ids_match_the_pattern(case_id: str) -> None:
    assert parse({**event("accepted"), "case_id": case_id}).case_id == case_id


@pytest.mark.parametrize("case_id", ["BS 2026", "BS/2026", "案件1", "A" * 65])
def test_case_ids_outside_the_pattern_are_refused(case_id: str) -> None:
    refusal({**event("accepted"), "case_id": case_id}, "invalid_id")


@pytest.mark.parametrize("missing", ["event_id", "case_id", "type", "occurred_at"])
def test_the_top_level_fields_are_required(missing: str) -> None:
    raw = event("accepted")
    del raw[missing]
    assert refusal(raw, "missing_field").params["field"] == missing


def test_unknown_event_types_are_refused() -> None:
    refusal({**event("accepted"), "type": "approved"}, "unknown_type")


@pytest.mark.parametrize("kind", [["accepted"], {"name": "accepted"}])
def test_a_type_that_is_not_a_string_is_refused(kind: object) -> None:
    with pytest.raises(RuleViolation) as info:
        parse({**event("accepted"), "type": kind})
    assert info.value.code in ("wrong_type", "unknown_type")


def test_an_event_must_be_an_object() -> None:
    with pytest.raises(RuleViolation) as info:
        parse_event(["accepted"], default_recorded_at=NOW)
    assert info.value.code == "not_an_object"
