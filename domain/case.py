"""The Case aggregate: which step may follow which, and why not (SPEC §3 "allowed when").

A case's history is checked in application order (corrected `occurred_at`, then rank, then file
order). New steps that come after everything already accepted are checked incrementally; a step
that lands in the past (a backfill or a correction) re-checks the whole corrected history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.errors import RuleViolation
from domain.events import OrderedHistory, Step, correction_of


class PointLookup(Protocol):
    def is_known(self, point_id: str) -> bool: ...
    def is_retired(self, point_id: str) -> bool: ...


ONCE = ("onsite_requested", "reviewed", "accepted", "first_meeting", "closed",
        "documents_reviewed")
BEFORE_REVIEW = ("onsite_requested", "arrived")


@dataclass(slots=True)
class CaseRules:
    """The state the rules need, advanced one step at a time; `check` never mutates."""

    network: PointLookup
    trusted: frozenset[str] = frozenset()  # stored events: the network may have changed since
    seen: set[str] = field(default_factory=set)
    service_point: str | None = None
    channel: str | None = None
    decision: str | None = None
    review_open: bool = False
    paused: bool = False
    follow_up_reached: bool = False
    withdrawn: bool = False

    def check(self, step: Step) -> None:
        kind = step.type
        if self.withdrawn:
            raise RuleViolation("case_withdrawn")
        if kind == "application_received":
            if self.seen:
                raise RuleViolation("application_not_first")
            self._check_new_point(step, step.data["service_point"])
            return
        if "application_received" not in self.seen:
            raise RuleViolation("case_not_started")
        if kind in ONCE and kind in self.seen:
            raise RuleViolation("already_recorded", type=kind)
        RULES[kind](self, step)

    def apply(self, step: Step) -> None:
        self.check(step)
        self.advance(step)

    def advance(self, step: Step) -> None:
        kind, data = step.type, step.data
        self.seen.add(kind)
        if kind == "application_received":
            self.service_point = data["service_point"]
            self.channel = data["channel"]
            self.review_open = self.channel not in ("hotline", "outreach")
        elif kind == "arrived" and self.decision is None:
            self.review_open = True
        elif kind == "materials_requested":
            self.paused = True
        elif kind == "materials_received":
            self.paused = False
        elif kind == "reviewed":
            self.decision = data["decision"]
            self.review_open = False
        elif kind == "transferred":
            self.service_point = data["to_service_point"]
        elif kind == "follow_up_call" and data["reached"]:
            self.follow_up_reached = True
        elif kind == "withdrawn":
            self.withdrawn = True

    # --- per-type rules ---------------------------------------------------------------------

    def _check_new_point(self, step: Step, point_id: str) -> None:
        if step.event_id in self.trusted:
            return
        if not self.network.is_known(point_id):
            raise RuleViolation("unknown_service_point", value=point_id)
        if self.network.is_retired(point_id):
            raise RuleViolation("retired_service_point", value=point_id)

    def _before_review(self, step: Step) -> None:
        if "reviewed" in self.seen:
            raise RuleViolation("after_review", type=step.type)

    def _arrived(self, step: Step) -> None:
        self._before_review(step)
        if step.data["who"] == "staff" and "onsite_requested" not in self.seen:
            raise RuleViolation("needs_onsite_request")

    def _materials_requested(self, step: Step) -> None:
        if not self.review_open:
            raise RuleViolation("review_clock_not_open")
        if self.paused:
            raise RuleViolation("review_clock_paused")

    def _materials_received(self, step: Step) -> None:
        if not self.paused:
            raise RuleViolation("review_clock_not_paused")

    def _reviewed(self, step: Step) -> None:
        if self.paused:
            raise RuleViolation("review_clock_paused")
        if self.channel in ("hotline", "outreach") and "arrived" not in self.seen:
            raise RuleViolation("needs_arrival")

    def _transferred(self, step: Step) -> None:
        if "assigned" in self.seen:
            raise RuleViolation("after_assignment")
        target = step.data["to_service_point"]
        self._check_new_point(step, target)
        if target == self.service_point:
            raise RuleViolation("same_service_point", value=target)

    def _accepted(self, step: Step) -> None:
        if self.decision != "granted":
            raise RuleViolation("needs_granted_review")

    def _assigned(self, step: Step) -> None:
        if "accepted" not in self.seen:
            raise RuleViolation("needs_acceptance")
        if "closed" in self.seen:
            raise RuleViolation("case_closed")

    def _first_meeting(self, step: Step) -> None:
        if "assigned" not in self.seen:
            raise RuleViolation("needs_assignment")

    def _closed(self, step: Step) -> None:
        if "first_meeting" not in self.seen:
            raise RuleViolation("needs_first_meeting")

    def _after_closure(self, step: Step) -> None:
        if "closed" not in self.seen:
            raise RuleViolation("needs_closure", type=step.type)

    def _follow_up_call(self, step: Step) -> None:
        self._after_closure(step)
        if self.follow_up_reached:
            raise RuleViolation("follow_up_already_reached")

    def _withdrawn(self, step: Step) -> None:
        if "closed" in self.seen:
            raise RuleViolation("case_closed")
        if self.decision == "refused":
            raise RuleViolation("case_refused")

    def _corrected(self, step: Step) -> None:
        """Target checks need the whole history: see `check_corrections`."""


RULES: dict[str, Callable[[CaseRules, Step], None]] = {
    "onsite_requested": CaseRules._before_review,
    "arrived": CaseRules._arrived,
    "materials_requested": CaseRules._materials_requested,
    "materials_received": CaseRules._materials_received,
    "reviewed": CaseRules._reviewed,
    "transferred": CaseRules._transferred,
    "accepted": CaseRules._accepted,
    "assigned": CaseRules._assigned,
    "first_meeting": CaseRules._first_meeting,
    "closed": CaseRules._closed,
    "documents_reviewed": CaseRules._after_closure,
    "follow_up_call": CaseRules._follow_up_call,
    "withdrawn": CaseRules._withdrawn,
    "corrected": CaseRules._corrected,
}


def check_corrections(steps: list[Step]) -> None:
    by_id = {s.event_id: s for s in steps}
    for step in steps:
        if step.type != "corrected":
            continue
        target = by_id.get(correction_of(step).target_event_id)
        try:
            if target is None:
                raise RuleViolation("correction_target_unknown",
                                    value=step.data["target_event_id"])
            if target.type == "corrected":
                raise RuleViolation("correction_of_correction")
            if not target.occurred_at < step.occurred_at:
                raise RuleViolation("correction_target_not_earlier")
        except RuleViolation as refusal:
            raise refusal.about(case_id=step.case_id, event_id=step.event_id) from None


def check_history(steps: list[Step], network: PointLookup,
                  trusted: frozenset[str] = frozenset()) -> CaseRules:
    """Check a whole case history; return the rule state after its last step."""
    check_corrections(steps)
    rules = CaseRules(network, trusted)
    for step in OrderedHistory.of(steps).steps:
        try:
            rules.apply(step)
        except RuleViolation as refusal:
            raise refusal.about(case_id=step.case_id, event_id=step.event_id) from None
    return rules


class Case:
    """One legal-aid case: its accepted history, and the steps recorded in this unit of work."""

    def __init__(self, case_id: str, history: list[Step], network: PointLookup) -> None:
        self.case_id = case_id
        self.network = network
        self.history = list(history)
        self.pending: list[Step] = []
        self._trusted = frozenset(s.event_id for s in history)
        self._rules = CaseRules(network, self._trusted)
        for step in OrderedHistory.of(self.history).steps:
            self._rules.advance(step)  # stored history was checked when it was recorded
        self._last_key = self._latest_key()

    @property
    def version(self) -> int:
        """Number of stored events: the optimistic-concurrency position of this case."""
        return len(self.history) - len(self.pending)

    @property
    def latest_occurred_at(self) -> datetime | None:
        return self._last_key[0] if self._last_key else None

    def record(self, step: Step, *, no_backdating: bool = False) -> None:
        """Accept `step` or raise the RuleViolation that refuses it; a refusal changes nothing."""
        step = step.with_seq(len(self.history))
        try:
            if no_backdating and self._last_key and step.occurred_at < self._last_key[0]:
                raise RuleViolation("before_latest_event", latest=self._last_key[0].isoformat())
            appends = step.type != "corrected" and (
                not self._last_key or step.sort_key() > self._last_key)
            if appends:
                rules = self._rules
                rules.check(step)  # never mutates: a refusal leaves the state as it was
                rules.advance(step)
            else:
                rules = self._recheck(step)
        except RuleViolation as refusal:
            raise refusal.about(case_id=self.case_id, event_id=step.event_id) from None
        self._rules = rules
        self.history.append(step)
        self.pending.append(step)
        self._last_key = step.sort_key() if appends else self._latest_key()

    def _recheck(self, step: Step) -> CaseRules:
        """The whole corrected history with `step` in it; a rule broken anywhere refuses
        `step`, and the message names the event where it broke."""
        try:
            return check_history([*self.history, step], self.network, self._trusted)
        except RuleViolation as refusal:
            if refusal.event_id not in (None, step.event_id):
                refusal.params["conflicts_with"] = refusal.event_id
                refusal.event_id = step.event_id
            raise

    def collect_events(self) -> list[Step]:
        collected, self.pending = self.pending, []
        return collected

    def _latest_key(self) -> tuple[datetime, int, int] | None:
        if not self.history:
            return None
        ordered = OrderedHistory.of(self.history)
        last = ordered.steps[-1]
        return last.sort_key(ordered.times[last.event_id])
