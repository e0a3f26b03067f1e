"""The OpenAPI side of the API: the step body's JSON schema with examples, and response models.

A submitted step is validated by the domain (`parse_event`), not by pydantic, so that every
refusal carries the same rule code as an import reject; the schema here documents that contract.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.events import CATEGORIES, CHANNELS, GROUPS, TYPES, Step

STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event_id", "case_id", "type", "occurred_at"],
    "additionalProperties": False,
    "properties": {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128,
                     "description": "unique across the store; resubmitting it is a no-op"},
        "case_id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "type": {"type": "string", "enum": list(TYPES)},
        "occurred_at": {"type": "string", "format": "date-time",
                        "description": "business time, ISO 8601 with a UTC offset"},
        "actor": {"type": "string", "minLength": 1, "description": "staff id"},
        "data": {"type": "object", "description": "the fields of the step's type (SPEC §3)"},
    },
}

STEP_EXAMPLES: dict[str, Any] = {
    "application": {"summary": "an application at a workstation", "value": {
        "event_id": "e-000123", "case_id": "BS-2026-000045", "type": "application_received",
        "occurred_at": "2026-03-02T09:00:00+08:00", "actor": "staff-017",
        "data": {"service_point": "ly-yc", "channel": CHANNELS[0], "category": CATEGORIES[1],
                 "groups": [GROUPS[0]], "applicant": {"name": "张三", "phone": "13800000000"}}}},
    "review": {"summary": "the review, granted", "value": {
        "event_id": "e-000124", "case_id": "BS-2026-000045", "type": "reviewed",
        "occurred_at": "2026-03-02T09:41:00+08:00", "actor": "staff-017",
        "data": {"decision": "granted"}}},
}

STEP_REQUEST_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": STEP_SCHEMA, "examples": STEP_EXAMPLES}}}}


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class StepOut(Open):
    event_id: str
    case_id: str
    type: str
    occurred_at: str
    recorded_at: str
    actor: str | None
    data: dict[str, Any] = Field(description="personal data (applicant) is never echoed")


class ClockOut(Open):
    state: str
    started_at: str | None
    stopped_at: str | None
    due_at: str | None
    elapsed_seconds: float
    decision_time: str | None


class EventOut(Open):
    event_id: str
    type: str
    occurred_at: str | None
    recorded_at: str | None
    ingested_at: str | None
    actor: str | None
    data: dict[str, Any]


class CaseViewOut(Open):
    case_id: str
    service_point: str | None
    as_of: str | None
    clocks: dict[str, ClockOut]
    outcome: dict[str, Any] | None
    events: list[EventOut]


class ReplayOut(CaseViewOut):
    known_at: str


class HistoryOut(Open):
    case_id: str
    total: int
    limit: int
    offset: int
    events: list[EventOut]


class ReportOut(Open):
    policy: str
    timezone: str
    from_: str = Field(alias="from")
    to: str
    as_of: str
    clocks: dict[str, dict[str, Any]]
    cases: dict[str, Any]
    satisfaction: dict[str, Any]
    volume: dict[str, int]
    open: dict[str, int]


class OpenClockOut(Open):
    case_id: str
    clock: str
    service_point: str | None
    state: str
    started_at: str
    due_at: str
    paused: bool


class OpenClocksOut(Open):
    as_of: str
    policy: str
    total: int
    limit: int
    offset: int
    clocks: list[OpenClockOut]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=128, description="staff id")
    role: str = Field(description="clerk | supervisor | leadership | auditor | admin")
    service_point: str | None = Field(None, description="required for clerk and supervisor")
    pii: bool = Field(False, description="grant personal data (clerk, auditor only)")
    ttl_seconds: int = Field(8 * 3600, ge=60)


class TokenOut(Open):
    token: str
    key_id: str
    expires_at: str


class NetworkImportOut(Open):
    points: int
    added: int
    changed: int
    retired: int
    removed: int


class HealthOut(Open):
    status: str


def iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def step_json(step: Step, tz: tzinfo) -> dict[str, Any]:
    """A stored step as the API answers it: personal data left out."""
    return {"event_id": step.event_id, "case_id": step.case_id, "type": step.type,
            "occurred_at": iso(step.occurred_at, tz), "recorded_at": iso(step.recorded_at, tz),
            "actor": step.actor,
            "data": {k: v for k, v in step.data.items() if k != "applicant"}}
