"""The case projection: per-case facts, clock states under the default policy, outcomes, calls.

Each batch re-evaluates only the cases it touches, from their stored history (kept here without
personal data), so a case's rows are always those of a from-scratch evaluation of its events.
Clocks are evaluated at the case's last event: what is decided stays decided, and an open clock
keeps its due time so any later evaluation time can tell running from overdue without events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from domain.clocks import CaseEvaluation, evaluate
from domain.events import Step
from domain.policy import Policy
from domain.service import step_from_event
from projections.tables import (
    CASE_TABLES,
    calls,
    case_groups,
    case_histories,
    cases,
    clocks,
    outcomes,
    points_in_use,
    to_us,
)


def history_to_json(steps: Sequence[Step]) -> str:
    rows = []
    for s in steps:
        data = {k: v for k, v in s.data.items() if k != "applicant"}
        rows.append([s.event_id, s.type, s.occurred_at.isoformat(), s.recorded_at.isoformat(),
                     s.ingested_at.isoformat() if s.ingested_at else None, s.actor, data, s.seq,
                     s.recorded_supplied])
    return orjson.dumps(rows).decode()


def history_from_json(case_id: str, text: str) -> list[Step]:
    return [Step(event_id=r[0], case_id=case_id, type=r[1],
                 occurred_at=datetime.fromisoformat(r[2]), recorded_at=datetime.fromisoformat(r[3]),
                 ingested_at=datetime.fromisoformat(r[4]) if r[4] else None, actor=r[5], data=r[6],
                 seq=r[7], recorded_supplied=r[8]) for r in orjson.loads(text)]


class CaseProjection:
    def __init__(self, policy: Policy, tz: tzinfo, area_of: Callable[[str | None], str | None]):
        self.policy = policy
        self.tz = tz
        self.area_of = area_of
        self.name = f"cases/{policy.name}@{policy.version}"

    def process(self, conn: Connection, events: Sequence[Any]) -> None:
        new: dict[str, list[Step]] = {}
        for event in events:
            new.setdefault(event.originator_id, []).append(step_from_event(event))
        known = dict(conn.execute(select(case_histories.c.case_id, case_histories.c.history)
                                  .where(case_histories.c.case_id.in_(list(new)))).all())
        rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in CASE_TABLES}
        used: set[str] = set()
        for case_id, added in new.items():
            history = history_from_json(case_id, known[case_id]) if case_id in known else []
            history.extend(added)
            self._rows(case_id, history, rows, used)
        ids = list(new)
        for table in (cases, case_histories, case_groups, calls):
            conn.execute(delete(table).where(table.c.case_id.in_(ids)))
        for table in (clocks, outcomes):
            conn.execute(delete(table).where(table.c.policy == self.policy.name,
                                             table.c.case_id.in_(ids)))
        for table in CASE_TABLES:
            if rows[table.name]:
                conn.execute(insert(table), rows[table.name])
        if used:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(points_in_use).on_conflict_do_nothing(),
                         [{"point_id": p} for p in sorted(used)])

    def _rows(self, case_id: str, history: list[Step], rows: dict[str, list[dict[str, Any]]],
              used: set[str]) -> None:
        first = min(history, key=lambda s: s.sort_key())
        default_area = self.area_of(first.data.get("service_point"))
        last = max(s.occurred_at for s in history)
        evaluation = evaluate(case_id, history, self.policy, _latest(history, last), self.tz,
                              default_area)
        f = evaluation.facts
        used.update(p for s in history for p in (s.data.get("service_point"),
                                                 s.data.get("to_service_point")) if p)
        last_us = to_us(f.last_event_at or last)
        dims = {"service_point": f.service_point, "channel": f.channel, "category": f.category,
                "last_event_us": last_us}
        rows["rm_cases"].append({
            "case_id": case_id, "area": f.area, "received_us": to_us(f.received_at),
            "reviewed_us": to_us(f.reviewed_at), "decision": f.decision,
            "withdrawn_us": to_us(f.withdrawn_at), "closed_us": to_us(f.closed_at), **dims})
        rows["rm_case_histories"].append({"case_id": case_id, "last_event_us": last_us,
                                          "history": history_to_json(history)})
        rows["rm_case_groups"].extend({"case_id": case_id, "grp": g} for g in f.groups)
        rows["rm_calls"].extend(
            {"case_id": case_id, "seq": n, "at_us": to_us(c.at), "reached": c.reached,
             "satisfaction": c.satisfaction, **dims} for n, c in enumerate(f.calls))
        rows["rm_clocks"].extend({**row, **dims} for row in self._clock_rows(case_id, evaluation))
        if evaluation.outcome is not None:
            rows["rm_outcomes"].append({"policy": self.policy.name, "case_id": case_id,
                                        "outcome": evaluation.outcome,
                                        "finished_us": to_us(evaluation.finished_at), **dims})

    def _clock_rows(self, case_id: str, evaluation: CaseEvaluation) -> list[dict[str, Any]]:
        out = []
        f = evaluation.facts
        for name, c in evaluation.clocks.items():
            due, pause_began = c.due_at, None
            if c.state in ("running", "overdue"):
                closed = [(b, e) for b, e in f.pauses if e is not None] if name == "review" else []
                due = self.policy.due(name, f.area, c.started_at, closed, self.tz)
                if c.paused:
                    pause_began = f.pauses[-1][0]
            out.append({
                "policy": self.policy.name, "case_id": case_id, "clock": name,
                "state": "open" if c.state in ("running", "overdue") else c.state,
                "started_us": to_us(c.started_at), "stopped_us": to_us(c.stopped_at),
                "due_us": to_us(due), "decision_us": to_us(c.decision_time)
                if c.state in ("met", "breached") else None,
                "pause_began_us": to_us(pause_began)})
        return out


def _latest(history: list[Step], last_occurred: datetime) -> datetime:
    """An evaluation time at which every event of the case is visible, corrections included."""
    latest = last_occurred
    for s in history:
        if s.type == "corrected":
            latest = max(latest, datetime.fromisoformat(s.data["occurred_at"]))
    return latest
