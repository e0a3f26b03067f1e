"""Small builders for unit scenarios: raw event dicts, parsed Steps, and a service network.

Times are aware datetimes in +08:00; `t(minutes)` is an offset from 2026-03-02T09:00+08:00 (a
Monday), the base time of the worked examples.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from domain.case import Case
from domain.events import Step, parse_event
from domain.network import Network, build_network, parse_points

CST = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
CASE_ID = "BS-2026-000045"

# Remove a default data field: `builder.step("arrived", 0, who="staff", travel_minutes=DROP)`.
DROP = object()

When = float | datetime


def t(minutes: float) -> datetime:
    """BASE plus `minutes` (fractions allowed)."""
    return BASE + timedelta(minutes=minutes)


def at(when: When) -> datetime:
    return when if isinstance(when, datetime) else t(when)


def iso(when: When) -> str:
    return at(when).isoformat()


DEFAULT_DATA: dict[str, dict[str, Any]] = {
    "application_received": {"service_point": "ly-yc", "channel": "walk_in", "category": "civil",
                             "groups": []},
    "onsite_requested": {},
    "arrived": {"who": "applicant", "travel_minutes": 30},
    "materials_requested": {},
    "materials_received": {},
    "reviewed": {"decision": "granted"},
    "transferred": {"to_service_point": "ly-lj"},
    "accepted": {},
    "assigned": {"handler": "lawyer-01", "handler_kind": "lawyer"},
    "first_meeting": {"mode": "in_person"},
    "closed": {"outcome": "favourable"},
    "documents_reviewed": {},
    "follow_up_call": {"reached": True, "satisfaction": "satisfied"},
    "withdrawn": {"reason": "申请人撤回申请"},
    "corrected": {"reason": "补录更正"},
}


def default_data(kind: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The type's sensible defaults, with the consistent choice for conditional fields."""
    data = dict(DEFAULT_DATA[kind])
    if kind == "arrived" and overrides.get("who") == "staff":
        data.pop("travel_minutes")
    if kind == "follow_up_call" and overrides.get("reached") is False:
        data.pop("satisfaction")
    if kind == "reviewed" and overrides.get("decision") == "refused":
        data["reason"] = "不符合经济困难条件"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not DROP}


# Steps of a straightforward case, each within its hour, in minutes from BASE.
HAPPY_PATH: tuple[tuple[str, float], ...] = (
    ("application_received", 0), ("reviewed", 30), ("accepted", 35), ("assigned", 40),
    ("first_meeting", 60), ("closed", 120), ("documents_reviewed", 130), ("follow_up_call", 140),
)


class CaseBuilder:
    """Makes the events of one case: raw dicts as a caller submits them, or parsed Steps.

    Event ids are numbered per builder (`<case>-e1`, `<case>-e2`, ...); `recorded_at` defaults to
    `occurred_at`; `seq` follows the order the steps were made (file order).
    """

    def __init__(self, case_id: str = CASE_ID, **application: Any) -> None:
        self.case_id = case_id
        self.application = application
        self.count = 0

    def next_id(self) -> str:
        self.count += 1
        return f"{self.case_id}-e{self.count}"

    def raw(self, kind: str, when: When = 0, *, event_id: str | None = None,
            recorded_at: When | None = None, actor: str | None = None, **data: Any
            ) -> dict[str, Any]:
        if kind == "application_received":
            data = {**self.application, **data}
        raw: dict[str, Any] = {
            "event_id": event_id or self.next_id(), "case_id": self.case_id, "type": kind,
            "occurred_at": iso(when), "recorded_at": iso(when if recorded_at is None else recorded_at),
            "data": default_data(kind, data),
        }
        if actor is not None:
            raw["actor"] = actor
        return raw

    def step(self, kind: str, when: When = 0, **fields: Any) -> Step:
        raw = self.raw(kind, when, **fields)
        return parse_event(raw, default_recorded_at=at(when), seq=self.count)

    def correction(self, target: Step, to: When, when: When, **fields: Any) -> Step:
        """A `corrected` event at `when` moving `target` to `to`."""
        return self.step("corrected", when, target_event_id=target.event_id,
                         occurred_at=iso(to), **fields)

    def received(self, when: When = 0, **data: Any) -> Step:
        return self.step("application_received", when, **data)

    def happy_path(self, until: str = "follow_up_call") -> list[Step]:
        """The HAPPY_PATH steps up to and including `until`."""
        steps = []
        for kind, minutes in HAPPY_PATH:
            steps.append(self.step(kind, minutes))
            if kind == until:
                return steps
        raise ValueError(f"{until} is not on the happy path")


def recorded_case(steps: list[Step], network: Network | None = None,
                  case_id: str = CASE_ID) -> Case:
    """A new Case that recorded `steps` one by one (each must be accepted)."""
    case = Case(case_id, [], network or example_network())
    for step in steps:
        case.record(step)
    return case


# --- the service network (a few points of /work/shared/examples/network.yaml, plus a retired one)

SUPERVISOR_CITY = {"id": "sup-bs-01", "name": "王局长", "contact": "wecom:wangju"}
SUPERVISOR_LY = {"id": "sup-ly-01", "name": "李主任", "contact": "wecom:liwei"}
SUPERVISOR_LJ = {"id": "sup-lj-01", "name": "赵站长"}

NETWORK_POINTS: list[dict[str, Any]] = [
    {"id": "bs", "name": "保山市法律援助中心", "level": "city", "parent": None, "area": "urban",
     "kind": "centre", "supervisors": [SUPERVISOR_CITY]},
    {"id": "ly", "name": "隆阳区法律援助中心", "level": "county", "parent": "bs", "area": "urban",
     "kind": "centre", "supervisors": [SUPERVISOR_LY]},
    {"id": "tc", "name": "腾冲市法律援助中心", "level": "county", "parent": "bs", "area": "rural",
     "kind": "centre"},
    {"id": "ly-yc", "name": "永昌街道工作站", "level": "township", "parent": "ly", "area": "urban",
     "kind": "workstation"},
    {"id": "ly-lj", "name": "兰城街道工作站", "level": "township", "parent": "ly", "area": "urban",
     "kind": "workstation", "supervisors": [SUPERVISOR_LJ]},
    {"id": "tc-tyz", "name": "腾越镇工作站", "level": "township", "parent": "tc", "area": "rural",
     "kind": "workstation"},
    {"id": "ly-yc-jx", "name": "锦绣社区联络点", "level": "village", "parent": "ly-yc",
     "area": "urban", "kind": "contact_point"},
    {"id": "tc-tyz-01", "name": "腾越镇一村联络点", "level": "village", "parent": "tc-tyz",
     "area": "rural", "kind": "contact_point"},
    {"id": "ly-old", "name": "原隆阳区妇联工作站", "level": "township", "parent": "ly",
     "area": "urban", "kind": "workstation", "host": "womens_federation", "retired": True,
     "merged_into": "ly-yc"},
]


def network_points(*changes: dict[str, Any], without: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Copies of NETWORK_POINTS; each change (with its `id`) is merged into that point or added."""
    points = {p["id"]: dict(p) for p in NETWORK_POINTS if p["id"] not in without}
    for change in changes:
        points[change["id"]] = {**points.get(change["id"], {}), **change}
    return list(points.values())


def example_network(*changes: dict[str, Any], without: tuple[str, ...] = ()) -> Network:
    return build_network(parse_points(network_points(*changes, without=without)))
