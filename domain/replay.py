"""Bitemporal replay of one case: what happened by a time, what was known by a time, and how the
clocks moved step by step. Pure: every time is passed in.

- "as happened at T": every stored event, evaluated at T — events whose (corrected) time is at or
  before T, with corrections applied whenever their target is visible (SPEC §4);
- "as known at K": only the events stored (`ingested_at`) by K — late records and corrections
  stored after K are left out — evaluated at K unless another evaluation time is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from domain.clocks import CaseEvaluation, evaluate
from domain.events import OrderedHistory, Step
from domain.policy import Policy

OVERDUE_AFTER = timedelta(microseconds=1)


class NothingKnownYet(LookupError):
    """The case had no stored events at the time asked about."""

    def __init__(self, case_id: str, known_at: datetime) -> None:
        super().__init__(f"case {case_id} had no stored events at {known_at.isoformat()}")
        self.case_id = case_id
        self.known_at = known_at


def known_by(steps: Sequence[Step], known_at: datetime) -> list[Step]:
    """The events stored by `known_at` (events without an ingestion time were never stored)."""
    return [s for s in steps if s.ingested_at is not None and s.ingested_at <= known_at]


@dataclass(frozen=True)
class Replay:
    steps: list[Step]  # the events taken into account
    evaluation: CaseEvaluation
    as_of: datetime
    known_at: datetime | None


def replay(case_id: str, steps: Sequence[Step], policy: Policy, tz: tzinfo,
           default_area: str | None, *, as_of: datetime,
           known_at: datetime | None = None) -> Replay:
    """The case at `as_of` (as happened), from the events known at `known_at` (all if None)."""
    chosen = list(steps) if known_at is None else known_by(steps, known_at)
    if not chosen:
        raise NothingKnownYet(case_id, known_at or as_of)
    evaluation = evaluate(case_id, chosen, policy, as_of, tz, default_area)
    return Replay(chosen, evaluation, as_of, known_at)


@dataclass(frozen=True)
class Change:
    clock: str  # a clock name, or "case" for the outcome
    before: str | None  # state before (None: not started)
    after: str | None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime  # business time (corrected)
    step: Step | None  # None: a clock went overdue between events
    changes: tuple[Change, ...]
    corrected_from: datetime | None = None  # the stored occurred_at, when a correction moved it


def _states(evaluation: CaseEvaluation) -> dict[str, str | None]:
    states: dict[str, str | None] = {name: c.state for name, c in evaluation.clocks.items()}
    states["case"] = evaluation.outcome
    return states


def _diff(before: dict[str, str | None], after: dict[str, str | None]) -> tuple[Change, ...]:
    names = list(dict.fromkeys([*before, *after]))
    return tuple(Change(n, before.get(n), after.get(n)) for n in names
                 if before.get(n) != after.get(n))


def timeline(case_id: str, steps: Sequence[Step], policy: Policy, tz: tzinfo,
             default_area: str | None, *, as_of: datetime) -> list[TimelineEntry]:
    """The case step by step in business order, each with the clock states it changed; the
    instants clocks went overdue between steps are entries of their own."""
    ordered = OrderedHistory.of(list(steps)).visible_at(as_of)
    final = evaluate(case_id, steps, policy, as_of, tz, default_area)
    moments: list[tuple[datetime, int, Step | None]] = [
        (ordered.times[s.event_id], i, s) for i, s in enumerate(ordered.steps)]
    step_times = {m for m, _, _ in moments}
    for clock in final.clocks.values():
        decided = clock.decision_time
        if decided is not None and clock.stopped_at != decided and decided not in step_times:
            moments.append((decided, len(moments), None))  # overdue: decided at its due time
    moments.sort(key=lambda m: (m[0], m[1]))
    entries: list[TimelineEntry] = []
    before: dict[str, str | None] = {}
    for index, (moment, _, step) in enumerate(moments):
        if index + 1 < len(moments) and moments[index + 1][0] == moment:
            changes: tuple[Change, ...] = ()  # same instant as the next: changes show there
        else:
            # A clock is overdue once its active time exceeds the target: just after its due time.
            seen = moment if step is not None else moment + OVERDUE_AFTER
            after = _states(evaluate(case_id, steps, policy, seen, tz, default_area))
            changes, before = _diff(before, after), after
        moved = step is not None and ordered.times[step.event_id] != step.occurred_at
        entries.append(TimelineEntry(moment, step, changes,
                                     step.occurred_at if moved and step else None))
    return entries


def knowledge_timeline(case_id: str, steps: Sequence[Step], policy: Policy, tz: tzinfo,
                       default_area: str | None) -> list[tuple[datetime, Replay]]:
    """What the system knew after each time events of the case were stored: the case as known
    then, evaluated then. Shows late records and corrections changing the picture."""
    times = sorted({s.ingested_at for s in steps if s.ingested_at is not None})
    return [(t, replay(case_id, steps, policy, tz, default_area, as_of=t, known_at=t))
            for t in times]
