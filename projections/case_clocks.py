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
from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from domain.clocks import CaseEvaluation, evaluate
from domain.events import Step
from domain.policy import Policy
from domain.service import step_from_event
from projections.bulk import insert_rows
from projections.rollups import CaseRows, RollupDelta
from projections.tables import CaseTables, points_in_use, to_us


def history_to_json(steps: Sequence[Step]) -> str:
    rows = []
    for s in steps:
        data = {k: v for k, v in s.data.items() if k != "applicant"}
        rows.append([s.event_id, s.type, s.occurred_at, s.recorded_at, s.ingested_at, s.actor,
                     data, s.seq, s.recorded_supplied])
    # orjson writes aware datetimes as ISO 8601 with their offset, microseconds only when set.
    return orjson.dumps(rows).decode()


def history_from_json(case_id: str, text: str) -> list[Step]:
    return [Step(event_id=r[0], case_id=case_id, type=r[1],
                 occurred_at=datetime.fromisoformat(r[2]), recorded_at=datetime.fromisoformat(r[3]),
                 ingested_at=datetime.fromisoformat(r[4]) if r[4] else None, actor=r[5], data=r[6],
                 seq=r[7], recorded_supplied=r[8]) for r in orjson.loads(text)]


# Bump when the projection's code changes what it writes: a new version is then built beside
# the old one and reads switch to it once it has caught up.
CODE_VERSION = 2


def fingerprint(policy: Policy, tz: tzinfo) -> str:
    """What the rows depend on: the code, the policy and its version, the time zone."""
    return f"code={CODE_VERSION};policy={policy.name}@{policy.version};tz={tz}"


class CaseProjection:
    def __init__(self, policy: Policy, tz: tzinfo, area_of: Callable[[str | None], str | None],
                 tables: CaseTables) -> None:
        self.policy = policy
        self.tz = tz
        self.area_of = area_of
        self.tables = tables
        self.name = f"cases/{tables.prefix}"


    def process(self, conn: Connection, events: Sequence[Any]) -> None:
        """Apply notifications: re-evaluate each case they touch, replacing its rows."""
        t = self.tables
        new: dict[str, list[Step]] = {}
        for event in events:
            new.setdefault(event.originator_id, []).append(step_from_event(event))
        ids = list(new)
        known = dict(conn.execute(select(t.case_histories.c.case_id, t.case_histories.c.history)
                                  .where(t.case_histories.c.case_id.in_(ids))).all())
        delta = RollupDelta()
        for old in self._stored_rows(conn, [c for c in ids if c in known]):
            delta.add(old, self.tz, -1)
        for table in (t.cases, t.case_histories, t.case_groups, t.calls):
            conn.execute(delete(table).where(table.c.case_id.in_(ids)))
        for table in (t.clocks, t.outcomes):
            conn.execute(delete(table).where(table.c.policy == self.policy.name,
                                             table.c.case_id.in_(ids)))
        histories = {case_id: (history_from_json(case_id, known[case_id]) if case_id in known
                               else []) + added for case_id, added in new.items()}
        self.write(conn, histories, delta)

    def write(self, conn: Connection, histories: dict[str, list[Step]],
              delta: RollupDelta | None = None) -> None:
        """Write the rows of cases that have none (a rebuild, or after `process` cleared them)."""
        delta = delta or RollupDelta()
        rows: dict[str, list[dict[str, Any]]] = {table.name: [] for table in self.tables.per_case}
        used: set[str] = set()
        for case_id, history in histories.items():
            delta.add(self._rows(case_id, history, rows, used), self.tz, +1)
        for table in self.tables.per_case:
            insert_rows(conn, table, rows[table.name])
        delta.apply(conn, self.tables, self.policy.name)
        if used:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(points_in_use).on_conflict_do_nothing(),
                         [{"point_id": p} for p in sorted(used)])

    def _stored_rows(self, conn: Connection, ids: list[str]) -> list[CaseRows]:
        """The rows these cases have now, to take their contribution out of the rollups."""
        if not ids:
            return []
        t, policy = self.tables, self.policy.name

        def by_case(query: Any) -> dict[str, list[Any]]:
            found: dict[str, list[Any]] = {}
            for row in conn.execute(query).mappings():
                found.setdefault(row["case_id"], []).append(row)
            return found

        case_rows = by_case(select(t.cases).where(t.cases.c.case_id.in_(ids)))
        clock_rows = by_case(select(t.clocks).where(t.clocks.c.policy == policy,
                                                    t.clocks.c.case_id.in_(ids)))
        outcome_rows = by_case(select(t.outcomes).where(t.outcomes.c.policy == policy,
                                                        t.outcomes.c.case_id.in_(ids)))
        call_rows = by_case(select(t.calls).where(t.calls.c.case_id.in_(ids)))
        group_rows = by_case(select(t.case_groups).where(t.case_groups.c.case_id.in_(ids)))
        return [CaseRows(case_rows[c][0], clock_rows.get(c, []),
                         (outcome_rows.get(c) or [None])[0], call_rows.get(c, []),
                         [g["grp"] for g in group_rows.get(c, [])])
                for c in ids if c in case_rows]

    def _rows(self, case_id: str, history: list[Step], rows: dict[str, list[dict[str, Any]]],
              used: set[str]) -> CaseRows:
        t = self.tables
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
        case_row = {
            "case_id": case_id, "area": f.area, "received_us": to_us(f.received_at),
            "reviewed_us": to_us(f.reviewed_at), "decision": f.decision,
            "withdrawn_us": to_us(f.withdrawn_at), "closed_us": to_us(f.closed_at), **dims}
        rows[t.cases.name].append(case_row)
        rows[t.case_histories.name].append({"case_id": case_id, "last_event_us": last_us,
                                            "history": history_to_json(history)})
        rows[t.case_groups.name].extend({"case_id": case_id, "grp": g} for g in f.groups)
        call_rows = [{"case_id": case_id, "seq": n, "at_us": to_us(c.at), "reached": c.reached,
                      "satisfaction": c.satisfaction, **dims} for n, c in enumerate(f.calls)]
        rows[t.calls.name].extend(call_rows)
        clock_rows = [{**row, **dims} for row in self._clock_rows(case_id, evaluation)]
        rows[t.clocks.name].extend(clock_rows)
        outcome_row = None
        if evaluation.outcome is not None:
            outcome_row = {"policy": self.policy.name, "case_id": case_id,
                           "outcome": evaluation.outcome,
                           "finished_us": to_us(evaluation.finished_at), **dims}
            rows[t.outcomes.name].append(outcome_row)
        return CaseRows(case_row, clock_rows, outcome_row, call_rows, list(f.groups))

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
