"""One case replayed bitemporally, as JSON for the CLI and the API (issue 6).

The view is `case_view`'s (SPEC §6 `case show`) over the events known at `known_at`, evaluated at
`as_of` ("as happened"), with the step-by-step timeline and what was known after each store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from domain.events import Step
from domain.policy import Policy
from domain.replay import knowledge_timeline, known_by, replay, timeline
from projections.case_view import case_view
from projections.provenance import code_version, policy_name


def _iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def replay_view(case_id: str, steps: Sequence[Step], policy: Policy, tz: tzinfo,
                default_area: str | None, *, as_of: datetime, known_at: datetime | None,
                personal_data: bool = False, detail: bool = True) -> dict[str, Any]:
    """Raises `NothingKnownYet` when no event of the case was stored by `known_at`."""
    done = replay(case_id, steps, policy, tz, default_area, as_of=as_of, known_at=known_at)
    view = case_view(case_id, done.steps, policy, as_of, tz, default_area,
                     personal_data=personal_data)
    view["known_at"] = _iso(known_at, tz)
    view["happened_at"] = _iso(as_of, tz)
    view["events_known"] = len(done.steps)
    view["events_stored"] = len(steps)
    if detail:
        view["timeline"] = timeline_json(case_id, done.steps, policy, tz, default_area, as_of)
        view["knowledge"] = knowledge_json(case_id, steps if known_at is None
                                           else known_by(steps, known_at), policy, tz,
                                           default_area)
    view["provenance"] = {"policy": policy_name(policy), "code": code_version()}
    return view


def timeline_json(case_id: str, steps: Sequence[Step], policy: Policy, tz: tzinfo,
                  default_area: str | None, as_of: datetime) -> list[dict[str, Any]]:
    out = []
    for entry in timeline(case_id, steps, policy, tz, default_area, as_of=as_of):
        step = entry.step
        item: dict[str, Any] = {"at": _iso(entry.at, tz), "event_id": None, "type": "overdue"}
        if step is not None:
            item.update(event_id=step.event_id, type=step.type, actor=step.actor,
                        recorded_at=_iso(step.recorded_at, tz),
                        ingested_at=_iso(step.ingested_at, tz),
                        recording_lag_seconds=(step.recorded_at - entry.at).total_seconds())
            if step.type == "corrected":
                item["target_event_id"] = step.data["target_event_id"]
        if entry.corrected_from is not None:
            item["originally_occurred_at"] = _iso(entry.corrected_from, tz)
        item["changes"] = [{"clock": c.clock, "from": c.before, "to": c.after}
                           for c in entry.changes]
        out.append(item)
    return out


def knowledge_json(case_id: str, steps: Sequence[Step], policy: Policy, tz: tzinfo,
                   default_area: str | None) -> list[dict[str, Any]]:
    out = []
    for moment, known in knowledge_timeline(case_id, steps, policy, tz, default_area):
        e = known.evaluation
        out.append({"known_at": _iso(moment, tz), "events": len(known.steps),
                    "outcome": e.outcome,
                    "clocks": {name: c.state for name, c in e.clocks.items()}})
    return out
