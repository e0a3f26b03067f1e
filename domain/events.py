"""The event vocabulary of SPEC §3 and the validation of one event on its own.

Rules that need the rest of the case (which step may follow which) live in `case.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from domain.errors import RuleViolation

ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
FUTURE_TOLERANCE = timedelta(minutes=5)

# Rank orders equal instants within a case (SPEC §3 table).
TYPES: tuple[str, ...] = (
    "application_received", "onsite_requested", "arrived", "materials_requested",
    "materials_received", "reviewed", "transferred", "accepted", "assigned", "first_meeting",
    "closed", "documents_reviewed", "follow_up_call", "withdrawn", "corrected",
)
RANK: Mapping[str, int] = {name: rank for rank, name in enumerate(TYPES)}

CHANNELS = ("walk_in", "hotline", "online", "referral", "outreach")
CATEGORIES = ("criminal", "civil", "administrative")
GROUPS = ("elderly", "disabled", "migrant_worker", "woman", "minor", "military", "low_income",
          "other")
AREAS = ("urban", "rural")
HANDLER_KINDS = ("lawyer", "grassroots_worker", "aid_staff", "volunteer")
MEETING_MODES = ("in_person", "video", "phone")
OUTCOMES = ("favourable", "partially_favourable", "unfavourable", "mediated", "terminated",
            "other")
GRADES = ("excellent", "good", "pass", "fail")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
# The grades as the bureau says them (zh-CN, en): every report, page and dashboard shows these.
SATISFACTION_LABELS: dict[str, tuple[str, str]] = {
    "satisfied": ("满意", "satisfied"), "basically_satisfied": ("基本满意", "basically satisfied"),
    "dissatisfied": ("不满意", "dissatisfied")}
PERSONAL_FIELDS = ("name", "id_number", "phone")

TOP_LEVEL = ("event_id", "case_id", "type", "occurred_at", "recorded_at", "actor", "data")
SYSTEM_FIELDS = ("ingested_at",)


class Step(NamedTuple):
    """One accepted-or-candidate case event, validated on its own.

    A named tuple rather than a frozen dataclass: as immutable, and built several times faster,
    which a rebuild of millions of events feels."""

    event_id: str
    case_id: str
    type: str
    occurred_at: datetime
    recorded_at: datetime
    data: Mapping[str, Any]
    actor: str | None = None
    recorded_supplied: bool = True
    ingested_at: datetime | None = None
    seq: int = 0  # position in the case's stored history, then in the files: breaks ties

    @property
    def rank(self) -> int:
        return RANK[self.type]

    def sort_key(self, at: datetime | None = None) -> tuple[datetime, int, int]:
        return (at or self.occurred_at, RANK[self.type], self.seq)

    def with_seq(self, seq: int) -> Step:
        return Step(self.event_id, self.case_id, self.type, self.occurred_at, self.recorded_at,
                    self.data, self.actor, self.recorded_supplied, self.ingested_at, seq)

    def same_content(self, other: Step) -> bool:
        """SPEC §3: a resubmission is a no-op when its content is identical."""
        if (self.case_id, self.type, self.occurred_at, self.actor, dict(self.data)) != (
            other.case_id, other.type, other.occurred_at, other.actor, dict(other.data)
        ):
            return False
        both_supplied = self.recorded_supplied and other.recorded_supplied
        return not both_supplied or self.recorded_at == other.recorded_at


def parse_time(value: object, field_name: str) -> datetime:
    if not isinstance(value, str):
        raise RuleViolation("wrong_type", field=field_name, expected="时间字符串",
                            expected_en="an ISO 8601 time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RuleViolation("invalid_time", field=field_name, value=value) from None
    if "T" not in value and " " not in value:
        raise RuleViolation("invalid_time", field=field_name, value=value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RuleViolation("naive_time", field=field_name, value=value)
    return parsed


# --- payload checks: each returns the value or raises ------------------------------------------

Check = Callable[[object, str], object]


def _string(value: object, name: str) -> object:
    if not isinstance(value, str) or not value:
        raise RuleViolation("wrong_type", field=name, expected="非空字符串",
                            expected_en="a non-empty string")
    return value


def _boolean(value: object, name: str) -> object:
    if type(value) is not bool:
        raise RuleViolation("wrong_type", field=name, expected="布尔值", expected_en="a boolean")
    return value


def _one_of(allowed: tuple[str, ...]) -> Check:
    def check(value: object, name: str) -> object:
        _string(value, name)
        if value not in allowed:
            raise RuleViolation("invalid_value", field=name, value=value,
                                allowed=", ".join(allowed))
        return value
    return check


def _point_id(value: object, name: str) -> object:
    _string(value, name)
    if not ID_PATTERN.fullmatch(str(value)):
        raise RuleViolation("invalid_id", field=name, value=value)
    return value


def _groups(value: object, name: str) -> object:
    if not isinstance(value, list):
        raise RuleViolation("wrong_type", field=name, expected="列表", expected_en="a list")
    for item in value:
        _one_of(GROUPS)(item, name)
    if len(set(value)) != len(value):
        raise RuleViolation("invalid_value", field=name, value=value, allowed="no repeats")
    return value


def _strings(value: object, name: str) -> object:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleViolation("wrong_type", field=name, expected="字符串列表",
                            expected_en="a list of strings")
    return value


def _minutes(value: object, name: str) -> object:
    if type(value) is not int:
        raise RuleViolation("wrong_type", field=name, expected="整数", expected_en="an integer")
    if not 0 <= value <= 1440:
        raise RuleViolation("invalid_value", field=name, value=value, allowed="0–1440")
    return value


def _applicant(value: object, name: str) -> object:
    if not isinstance(value, dict):
        raise RuleViolation("wrong_type", field=name, expected="对象", expected_en="an object")
    for key, item in value.items():
        if key not in PERSONAL_FIELDS:
            raise RuleViolation("unknown_field", field=f"{name}.{key}")
        _string(item, f"{name}.{key}")
    return value


def _time_string(value: object, name: str) -> object:
    parse_time(value, name)
    return value


# The payload field that names a service point, by step type.
POINT_FIELDS: Mapping[str, str] = {"application_received": "service_point",
                                   "transferred": "to_service_point"}
# type -> field -> (check, required)
PAYLOADS: Mapping[str, Mapping[str, tuple[Check, bool]]] = {
    "application_received": {
        "service_point": (_point_id, True), "channel": (_one_of(CHANNELS), True),
        "category": (_one_of(CATEGORIES), True), "groups": (_groups, True),
        "mobility_impaired": (_boolean, False), "area": (_one_of(AREAS), False),
        "applicant": (_applicant, False),
    },
    "onsite_requested": {},
    "arrived": {"who": (_one_of(("applicant", "staff")), True), "travel_minutes": (_minutes, False)},
    "materials_requested": {"items": (_strings, False)},
    "materials_received": {},
    "reviewed": {"decision": (_one_of(("granted", "refused")), True), "reason": (_string, False)},
    "transferred": {"to_service_point": (_point_id, True)},
    "accepted": {},
    "assigned": {"handler": (_string, True), "handler_kind": (_one_of(HANDLER_KINDS), True)},
    "first_meeting": {"mode": (_one_of(MEETING_MODES), True)},
    "closed": {"outcome": (_one_of(OUTCOMES), True)},
    "documents_reviewed": {"grade": (_one_of(GRADES), False)},
    "follow_up_call": {"reached": (_boolean, True), "satisfaction": (_one_of(SATISFACTION), False)},
    "withdrawn": {"reason": (_string, True)},
    "corrected": {"target_event_id": (_string, True), "occurred_at": (_time_string, True),
                  "reason": (_string, True)},
}


def _check_payload(kind: str, data: Mapping[str, Any]) -> None:
    schema = PAYLOADS[kind]
    for key in data:
        if key not in schema:
            raise RuleViolation("unknown_field", field=f"data.{key}")
    for key, (check, required) in schema.items():
        if key in data:
            check(data[key], f"data.{key}")
        elif required:
            raise RuleViolation("missing_field", field=f"data.{key}")
    _check_conditional_fields(kind, data)


def _check_conditional_fields(kind: str, data: Mapping[str, Any]) -> None:
    if kind == "arrived" and data["who"] == "applicant" and "travel_minutes" not in data:
        raise RuleViolation("missing_field", field="data.travel_minutes")
    if kind == "reviewed" and data["decision"] == "refused" and "reason" not in data:
        raise RuleViolation("missing_field", field="data.reason")
    if kind == "follow_up_call":
        if data["reached"] and "satisfaction" not in data:
            raise RuleViolation("missing_field", field="data.satisfaction")
        if not data["reached"] and "satisfaction" in data:
            raise RuleViolation("unknown_field", field="data.satisfaction")


def parse_event(raw: object, *, default_recorded_at: datetime, seq: int = 0) -> Step:
    """Validate one submitted event on its own (fields, types, enums, times)."""
    if not isinstance(raw, dict):
        raise RuleViolation("not_an_object")
    case_id = raw.get("case_id") if isinstance(raw.get("case_id"), str) else None
    event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
    try:
        return _parse(raw, default_recorded_at, seq)
    except RuleViolation as refusal:
        raise refusal.about(case_id=case_id, event_id=event_id) from None


def _parse(raw: dict[str, Any], default_recorded_at: datetime, seq: int) -> Step:
    for key in raw:
        if key in SYSTEM_FIELDS:
            raise RuleViolation("system_field", field=key)
        if key not in TOP_LEVEL:
            raise RuleViolation("unknown_field", field=key)
    for key in ("event_id", "case_id", "type", "occurred_at"):
        if key not in raw:
            raise RuleViolation("missing_field", field=key)
    event_id = _string(raw["event_id"], "event_id")
    if len(str(event_id)) > 128:
        raise RuleViolation("invalid_id", field="event_id", value=str(event_id)[:40] + "…")
    _point_id(raw["case_id"], "case_id")
    kind = raw["type"]
    if not isinstance(kind, str) or kind not in RANK:
        raise RuleViolation("unknown_type", value=kind)
    occurred_at = parse_time(raw["occurred_at"], "occurred_at")
    supplied = raw.get("recorded_at") is not None
    recorded_at = parse_time(raw["recorded_at"], "recorded_at") if supplied else default_recorded_at
    actor = raw.get("actor")
    if actor is not None:
        _string(actor, "actor")
    data = raw.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RuleViolation("wrong_type", field="data", expected="对象", expected_en="an object")
    _check_payload(kind, data)
    check_not_in_future(occurred_at, recorded_at)
    if kind == "corrected":
        check_not_in_future(parse_time(data["occurred_at"], "data.occurred_at"), recorded_at)
    return Step(event_id=str(event_id), case_id=raw["case_id"], type=kind,
                occurred_at=occurred_at, recorded_at=recorded_at, data=data, actor=actor,
                recorded_supplied=supplied, seq=seq)


def check_not_in_future(occurred_at: datetime, recorded_at: datetime) -> None:
    if occurred_at - recorded_at > FUTURE_TOLERANCE:
        raise RuleViolation("future_event", occurred_at=occurred_at.isoformat(),
                            recorded_at=recorded_at.isoformat())


@dataclass(frozen=True, slots=True)
class Correction:
    target_event_id: str
    occurred_at: datetime


def correction_of(step: Step) -> Correction:
    return Correction(step.data["target_event_id"], parse_time(step.data["occurred_at"], "data"))


def effective_times(steps: list[Step]) -> dict[str, datetime]:
    """The occurred_at of every event with corrections applied (SPEC §4: latest correction wins)."""
    winners: dict[str, tuple[tuple[datetime, datetime, int], datetime]] = {}
    for step in steps:
        if step.type == "corrected":
            fix = correction_of(step)
            key = (step.occurred_at, step.recorded_at, step.seq)
            if fix.target_event_id not in winners or key > winners[fix.target_event_id][0]:
                winners[fix.target_event_id] = (key, fix.occurred_at)
    return {s.event_id: winners[s.event_id][1] if s.event_id in winners else s.occurred_at
            for s in steps}


@dataclass(slots=True)
class OrderedHistory:
    """A case's events in application order, each with its effective (corrected) time."""

    steps: list[Step] = field(default_factory=list)
    times: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def of(cls, steps: list[Step]) -> OrderedHistory:
        times = effective_times(steps)
        ordered = sorted(steps, key=lambda s: s.sort_key(times[s.event_id]))
        return cls(ordered, times)

    def visible_at(self, as_of: datetime) -> OrderedHistory:
        if not self.times or max(self.times.values()) <= as_of:
            return self  # every event visible: the usual case, and immutable enough to share
        kept = [s for s in self.steps if self.times[s.event_id] <= as_of]
        return OrderedHistory(kept, {s.event_id: self.times[s.event_id] for s in kept})
