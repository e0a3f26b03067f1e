"""Policies as plain data: which clocks apply, their targets, warning thresholds, calendar.

A policy file (YAML) is parsed by the composition root into a mapping and handed to
`policy_from_mapping`; the two built-ins are `six-hours` and `statutory`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from domain.calendar import WorkCalendar, day_limit_deadline

CLOCKS = ("reach", "onsite", "review", "assignment", "first_meeting", "follow_up")
CLOCK_LABELS: Mapping[str, tuple[str, str]] = {
    "reach": ("一小时到达", "reach within an hour"),
    "onsite": ("一小时上门", "on-site service within an hour"),
    "review": ("一小时审查答复", "review and reply within an hour"),
    "assignment": ("一小时受理指派", "acceptance and assignment within an hour"),
    "first_meeting": ("一小时会见", "first meeting within an hour"),
    "follow_up": ("一小时审卷回访", "document review and return visit within an hour"),
}
# A clock's state as every report, page and dashboard shows it (zh-CN, en).
CLOCK_STATE_LABELS: Mapping[str, tuple[str, str]] = {
    "met": ("按时", "met"), "breached": ("超时", "breached"), "running": ("计时中", "running"),
    "overdue": ("已超时", "overdue"), "cancelled": ("已取消", "cancelled"),
}

Pause = tuple[datetime, datetime]


class PolicyError(ValueError):
    """A policy definition that cannot be used, with the reason."""


@dataclass(frozen=True)
class ClockTarget:
    """A target in active minutes (with per-area overrides) or in PRC procedural days."""

    minutes: float | None = None
    days: int | None = None
    by_area: Mapping[str, float] = field(default_factory=dict)

    def describe(self, area: str | None = None) -> str:
        if self.days is not None:
            return f"{self.days}d"
        return f"{self.by_area.get(area or '', self.minutes):g}min"


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    clocks: Mapping[str, ClockTarget]
    finish_clock: str
    warning_thresholds: tuple[float, ...] = (0.5, 0.75)
    # SPEC: hotline and outreach reviews start at arrival under six-hours; by law, at application.
    review_waits_for_arrival: bool = True
    calendar: WorkCalendar | None = None

    def due(self, clock: str, area: str | None, start: datetime, pauses: Sequence[Pause],
            tz: tzinfo, share: float = 1.0) -> datetime:
        """When the clock's active time reaches `share` of its target, given its pauses so far.

        A pause that begins before that instant, or at it (the hour is used up but not yet
        exceeded), pushes it back by the pause's length.
        """
        target = self.clocks[clock]
        if target.days is not None:
            return self._day_due(target.days, start, pauses, tz, share)
        minutes = target.by_area.get(area or "", target.minutes)
        assert minutes is not None
        due = start + timedelta(minutes=minutes * share)
        for begin, end in sorted(pauses):
            if begin <= due:
                due += end - begin
        return due

    def _day_due(self, days: int, start: datetime, pauses: Sequence[Pause], tz: tzinfo,
                 share: float) -> datetime:
        if self.calendar is None:
            raise PolicyError(f"policy {self.name} counts days but has no calendar")
        paused = timedelta(0)
        due = day_limit_deadline(start, days, self.calendar, tz)
        for begin, end in sorted(pauses):
            if begin <= due:
                paused += end - begin
                due = day_limit_deadline(start + paused, days, self.calendar, tz)
        return start + paused + (due - start - paused) * share


def six_hours_policy() -> Policy:
    return Policy(
        name="six-hours", version="1",
        clocks={name: ClockTarget(minutes=60) for name in CLOCKS},
        finish_clock="follow_up",
    )


def statutory_policy(calendar: WorkCalendar) -> Policy:
    return Policy(
        name="statutory", version="1",
        clocks={"review": ClockTarget(days=7), "assignment": ClockTarget(days=3),
                "first_meeting": ClockTarget(days=5)},
        finish_clock="first_meeting", review_waits_for_arrival=False, calendar=calendar,
    )


def builtin_policies(calendar: WorkCalendar) -> dict[str, Policy]:
    return {p.name: p for p in (six_hours_policy(), statutory_policy(calendar))}


def policy_from_mapping(raw: Mapping[str, object], calendar: WorkCalendar | None) -> Policy:
    """Build a policy from a YAML-shaped mapping, e.g.

    name: six-hours-urban30
    version: "2"
    finish_clock: follow_up
    warning_thresholds: [0.5, 0.75]
    clocks: {review: {minutes: 60, by_area: {urban: 30}}, ...}
    """
    try:
        clocks_raw = raw["clocks"]
        if not isinstance(clocks_raw, Mapping) or not clocks_raw:
            raise PolicyError("clocks must be a non-empty mapping")
        clocks = {str(name): _target(str(name), spec) for name, spec in clocks_raw.items()}
        finish = str(raw.get("finish_clock", "follow_up"))
        if finish not in clocks:
            raise PolicyError(f"finish_clock {finish} is not one of the policy's clocks")
        thresholds = tuple(float(t) for t in raw.get("warning_thresholds", (0.5, 0.75)))  # type: ignore[attr-defined]
        if not all(0 < t < 1 for t in thresholds):
            raise PolicyError("warning thresholds must lie strictly between 0 and 1")
        needs_calendar = any(t.days is not None for t in clocks.values())
        if needs_calendar and calendar is None:
            raise PolicyError("a policy with day limits needs a calendar")
        return Policy(name=str(raw["name"]), version=str(raw.get("version", "1")), clocks=clocks,
                      finish_clock=finish, warning_thresholds=tuple(sorted(thresholds)),
                      review_waits_for_arrival=bool(raw.get("review_waits_for_arrival", True)),
                      calendar=calendar if needs_calendar else None)
    except KeyError as missing:
        raise PolicyError(f"policy is missing {missing}") from None


def _target(name: str, spec: object) -> ClockTarget:
    if name not in CLOCKS:
        raise PolicyError(f"unknown clock {name}; known: {', '.join(CLOCKS)}")
    if not isinstance(spec, Mapping):
        raise PolicyError(f"clock {name}: expected a mapping with minutes or days")
    if ("minutes" in spec) == ("days" in spec):
        raise PolicyError(f"clock {name}: give exactly one of minutes or days")
    by_area = {str(k): float(v) for k, v in dict(spec.get("by_area", {})).items()}
    if "days" in spec:
        return ClockTarget(days=int(spec["days"]))
    return ClockTarget(minutes=float(spec["minutes"]), by_area=by_area)
