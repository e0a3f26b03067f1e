"""The clock engine of SPEC §4: (a case's events, a policy, an evaluation time) -> clock states.

Pure and deterministic: the evaluation time is always passed in, never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from domain.events import OrderedHistory, Step
from domain.policy import Pause, Policy

DECIDED = ("met", "breached")


@dataclass(frozen=True, slots=True)
class ClockState:
    clock: str
    state: str  # met | breached | running | overdue | cancelled
    started_at: datetime
    stopped_at: datetime | None  # its stop, or the event that ended it
    due_at: datetime
    elapsed_seconds: float
    decision_time: datetime | None
    warning: float | None = None  # highest warning threshold passed while running
    paused: bool = False

    @property
    def is_open(self) -> bool:
        return self.state in ("running", "overdue") and self.stopped_at is None


@dataclass(frozen=True, slots=True)
class Call:
    at: datetime
    reached: bool
    satisfaction: str | None


@dataclass(slots=True)
class CaseFacts:
    """Step times of one case, read off its corrected, visible history."""

    case_id: str
    service_point: str | None = None
    channel: str | None = None
    category: str | None = None
    groups: tuple[str, ...] = ()
    area: str | None = None
    received_at: datetime | None = None
    onsite_requested_at: datetime | None = None
    first_arrival_at: datetime | None = None
    applicant_arrivals: list[tuple[datetime, int]] = field(default_factory=list)
    staff_arrival_at: datetime | None = None
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    reviewed_at: datetime | None = None
    decision: str | None = None
    first_assigned_at: datetime | None = None
    first_meeting_at: datetime | None = None
    closed_at: datetime | None = None
    documents_reviewed_at: datetime | None = None
    reached_call_at: datetime | None = None
    withdrawn_at: datetime | None = None
    calls: list[Call] = field(default_factory=list)
    last_event_at: datetime | None = None


@dataclass(slots=True)
class CaseEvaluation:
    facts: CaseFacts
    clocks: dict[str, ClockState]
    outcome: str | None  # achieved | missed | None (unfinished)
    finished_at: datetime | None


def read_facts(case_id: str, history: OrderedHistory, default_area: str | None) -> CaseFacts:
    facts = CaseFacts(case_id=case_id, area=default_area)
    for step in history.steps:
        at = history.times[step.event_id]
        if step.type != "corrected":
            facts.last_event_at = at
        _note(facts, step, at)
    return facts


def _note(f: CaseFacts, step: Step, at: datetime) -> None:  # noqa: C901 - a plain dispatch
    kind, data = step.type, step.data
    if kind == "application_received":
        f.received_at, f.service_point = at, data["service_point"]
        f.channel, f.category = data["channel"], data["category"]
        f.groups = tuple(data["groups"])
        f.area = data.get("area", f.area)
    elif kind == "onsite_requested":
        f.onsite_requested_at = at
    elif kind == "arrived":
        f.first_arrival_at = f.first_arrival_at or at
        if data["who"] == "applicant":
            f.applicant_arrivals.append((at, data["travel_minutes"]))
        elif f.staff_arrival_at is None:
            f.staff_arrival_at = at
    elif kind == "materials_requested":
        f.pauses.append((at, None))
    elif kind == "materials_received" and f.pauses:
        f.pauses[-1] = (f.pauses[-1][0], at)
    elif kind == "reviewed":
        f.reviewed_at, f.decision = at, data["decision"]
    elif kind == "transferred":
        f.service_point = data["to_service_point"]
    elif kind == "assigned":
        f.first_assigned_at = f.first_assigned_at or at
    elif kind == "first_meeting":
        f.first_meeting_at = at
    elif kind == "closed":
        f.closed_at = at
    elif kind == "documents_reviewed":
        f.documents_reviewed_at = at
    elif kind == "follow_up_call":
        f.calls.append(Call(at, data["reached"], data.get("satisfaction")))
        if data["reached"] and f.reached_call_at is None:
            f.reached_call_at = at
    elif kind == "withdrawn":
        f.withdrawn_at = at


@dataclass(frozen=True, slots=True)
class _Span:
    start: datetime | None
    stop: datetime | None
    ends: tuple[datetime | None, ...] = ()
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()


def _spans(f: CaseFacts, policy: Policy) -> dict[str, _Span]:
    refused_at = f.reviewed_at if f.decision == "refused" else None
    follow_up_stop = None
    if f.documents_reviewed_at and f.reached_call_at:
        follow_up_stop = max(f.documents_reviewed_at, f.reached_call_at)
    if f.channel in ("hotline", "outreach") and policy.review_waits_for_arrival:
        review_start = f.first_arrival_at
    else:
        review_start = f.received_at
    onsite_ends: tuple[datetime | None, ...] = ()
    if f.onsite_requested_at:
        onsite_ends = (f.reviewed_at, *[a for a, _ in f.applicant_arrivals
                                        if a >= f.onsite_requested_at])
    common = (f.withdrawn_at, refused_at)
    return {
        "onsite": _Span(f.onsite_requested_at, f.staff_arrival_at, onsite_ends + common),
        "review": _Span(review_start, f.reviewed_at, common, tuple(f.pauses)),
        "assignment": _Span(f.reviewed_at if f.decision == "granted" else None,
                            f.first_assigned_at, common),
        "first_meeting": _Span(f.first_assigned_at, f.first_meeting_at, common),
        "follow_up": _Span(f.closed_at, follow_up_stop, common),
    }


def evaluate(case_id: str, steps: Sequence[Step], policy: Policy, as_of: datetime, tz: tzinfo,
             default_area: str | None = None) -> CaseEvaluation:
    """Evaluate a case's accepted events (any order, corrections included) at `as_of`."""
    history = OrderedHistory.of(list(steps)).visible_at(as_of)
    return evaluate_facts(read_facts(case_id, history, default_area), policy, as_of, tz)


def evaluate_facts(f: CaseFacts, policy: Policy, as_of: datetime, tz: tzinfo) -> CaseEvaluation:
    clocks: dict[str, ClockState] = {}
    if "reach" in policy.clocks and f.applicant_arrivals:
        clocks["reach"] = _reach(f, policy, tz)
    spans = _spans(f, policy)
    finish_span = spans.get(policy.finish_clock)
    finish_stop = finish_span.stop if finish_span else None
    refused_at = f.reviewed_at if f.decision == "refused" else None
    finished_at = refused_at or finish_stop
    for name, span in spans.items():
        if name in policy.clocks and span.start is not None:
            ends = (*span.ends, finished_at)
            clocks[name] = _clock(name, span, ends, f.area, policy, as_of, tz)
    order = list(policy.clocks)
    clocks = dict(sorted(clocks.items(), key=lambda kv: order.index(kv[0])))
    outcome = None
    if finished_at is not None and f.withdrawn_at is None:
        applied = [c.state for c in clocks.values() if c.state != "cancelled"]
        outcome = "achieved" if all(s == "met" for s in applied) else "missed"
    else:
        finished_at = None
    return CaseEvaluation(f, clocks, outcome, finished_at)


def _reach(f: CaseFacts, policy: Policy, tz: tzinfo) -> ClockState:
    arrived_at, minutes = f.applicant_arrivals[0]
    start = arrived_at - timedelta(minutes=minutes)
    due = policy.due("reach", f.area, start, (), tz)
    state = "met" if arrived_at <= due else "breached"
    return ClockState("reach", state, start, arrived_at, due, minutes * 60.0, arrived_at)


def _clock(name: str, span: _Span, ends: Sequence[datetime | None], area: str | None,
           policy: Policy, as_of: datetime, tz: tzinfo) -> ClockState:
    start = span.start
    assert start is not None
    end = min((e for e in ends if e is not None and e >= start), default=None)
    if span.stop is not None and (end is None or span.stop <= end):
        end, stopped = span.stop, True
    else:
        stopped = False
    horizon = end if end is not None else as_of
    pauses = _closed_pauses(span.pauses, horizon)
    due = policy.due(name, area, start, pauses, tz)
    elapsed = _active_seconds(start, horizon, pauses)
    if stopped:
        assert end is not None
        state = "met" if end <= due else "breached"
        return ClockState(name, state, start, end, due, elapsed, end)
    if end is not None:
        if end > due:
            return ClockState(name, "breached", start, end, due, elapsed, due)
        return ClockState(name, "cancelled", start, end, due, elapsed, None)
    paused = bool(span.pauses) and span.pauses[-1][1] is None
    if as_of > due:
        return ClockState(name, "overdue", start, None, due, elapsed, due, paused=paused)
    warning = None
    for share in policy.warning_thresholds:
        if as_of >= policy.due(name, area, start, pauses, tz, share):
            warning = share
    return ClockState(name, "running", start, None, due, elapsed, None, warning, paused)


def _closed_pauses(pauses: Sequence[tuple[datetime, datetime | None]],
                   horizon: datetime) -> list[Pause]:
    """Pauses up to `horizon`; a pause still open runs until then (the due time moves with it)."""
    closed = []
    for begin, end in pauses:
        if begin >= horizon:
            continue
        closed.append((begin, horizon if end is None or end > horizon else end))
    return closed


def _active_seconds(start: datetime, until: datetime, pauses: Sequence[Pause]) -> float:
    total = until - start
    for begin, end in pauses:
        overlap = min(end, until) - max(begin, start)
        if overlap > timedelta(0):
            total -= overlap
    return total.total_seconds()
