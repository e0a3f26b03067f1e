"""One case as the clock engine sees it at an evaluation time (SPEC §6 `case show`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from domain.clocks import evaluate
from domain.events import OrderedHistory, Step
from domain.policy import Policy


def _iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def case_view(case_id: str, steps: Sequence[Step], policy: Policy, as_of: datetime, tz: tzinfo,
              default_area: str | None, *, personal_data: bool = False) -> dict[str, Any]:
    evaluation = evaluate(case_id, steps, policy, as_of, tz, default_area)
    ordered = OrderedHistory.of(list(steps))
    events = []
    for step in ordered.steps:
        effective = ordered.times[step.event_id]
        shown_at = step.occurred_at if step.type == "corrected" else effective
        if shown_at > as_of:
            continue
        data = dict(step.data)
        if not personal_data:
            data.pop("applicant", None)
        item: dict[str, Any] = {
            "event_id": step.event_id, "type": step.type,
            "occurred_at": _iso(effective, tz), "recorded_at": _iso(step.recorded_at, tz),
            "ingested_at": _iso(step.ingested_at, tz), "actor": step.actor, "data": data}
        if effective != step.occurred_at:
            item["originally_occurred_at"] = _iso(step.occurred_at, tz)
        events.append(item)
    clocks = {}
    for name, c in evaluation.clocks.items():
        clocks[name] = {
            "state": c.state, "started_at": _iso(c.started_at, tz),
            "stopped_at": _iso(c.stopped_at, tz), "due_at": _iso(c.due_at, tz),
            "elapsed_seconds": c.elapsed_seconds, "decision_time": _iso(c.decision_time, tz),
            "warning": c.warning, "paused": c.paused}
    outcome = None
    if evaluation.outcome is not None:
        outcome = {"outcome": evaluation.outcome,
                   "decision_time": _iso(evaluation.finished_at, tz)}
    return {"case_id": case_id, "service_point": evaluation.facts.service_point,
            "policy": policy.name, "as_of": _iso(as_of, tz), "clocks": clocks,
            "outcome": outcome, "events": events}
