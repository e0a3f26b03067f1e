"""The case projection: per-case facts, clock states under the default policy, outcomes, calls.

Each batch re-evaluates only the cases it touches, from their stored history (kept here without
personal data), so a case's rows are always those of a from-scratch evaluation of its events.
Clocks are evaluated at the case's last event: what is decided stays decided, and an open clock
keeps its due time so any later evaluation time can tell running from overdue without events.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import orjson
from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from domain.clocks import DECIDED, CaseEvaluation, evaluate
from domain.events import POINT_FIELDS, Step
from domain.policy import Policy
from domain.service import step_from_event
from projections.bulk import insert_rows
from projections.rollups import CaseRows, RollupDelta, stages_rollups
from projections.tables import CaseTables, points_in_use, to_us


def history_to_json(steps: Sequence[Step]) -> str:
    rows = []
    for s in steps:
        data = s.data
        if "applicant" in data:
            data = {k: v for k, v in data.items() if k != "applicant"}
        rows.append([s.event_id, s.type, s.occurred_at, s.recorded_at, s.ingested_at, s.actor,
                     data, s.seq, s.recorded_supplied])
    # orjson writes aware datetimes as ISO 8601 with their offset, microseconds only when set.
    return orjson.dumps(rows).decode()


def history_from_json(case_id: str, text: str) -> list[Step]:
    return [Step(event_id=r[0], case_id=case_id, type=r[1],
                 occurred_at=datetime.fromisoformat(r[2]), recorded_at=datetime.fromisoformat(r[3]),
                 ingested_at=datetime.fromisoformat(r[4]) if r[4] else None, actor=r[5], data=r[6],
                 seq=r[7], recorded_supplied=r[8]) for r in orjson.loads(text)]


@dataclass
class Evaluated:
    rows: dict[str, list[tuple[Any, ...]]]  # by table name
    delta: RollupDelta
    points: set[str]  # service points the cases name


class RowTypes:
    """A named tuple per table, its fields the table's columns in order: rows are built without
    dicts, read like the rows the database returns, and inserted as they are."""

    def __init__(self, tables: CaseTables) -> None:
        def row(table: Table) -> Any:
            return namedtuple(table.name, [c.name for c in table.columns])  # type: ignore[misc]

        self.cases = row(tables.cases)
        self.case_histories = row(tables.case_histories)
        self.case_groups = row(tables.case_groups)
        self.calls = row(tables.calls)
        self.clocks = row(tables.clocks)
        self.outcomes = row(tables.outcomes)


# Bump when the projection's code changes what it writes: a new version is then built beside
# the old one and reads switch to it once it has caught up.
CODE_VERSION = 4


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
        self.row_types = RowTypes(tables)


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
        self.insert(conn, self.evaluate(histories, delta))

    def evaluate(self, histories: dict[str, list[Step]],
                 delta: RollupDelta | None = None) -> Evaluated:
        """The rows and rollup changes of these cases; no database needed, so a build does this
        outside its write transaction, while another process writes."""
        done = Evaluated({table.name: [] for table in self.tables.per_case},
                         delta or RollupDelta(), set())
        for case_id, history in histories.items():
            done.delta.add(self._rows(case_id, history, done.rows, done.points), self.tz, +1)
        return done

    def insert(self, conn: Connection, done: Evaluated, *, building: bool = False) -> None:
        """Insert the rows; `building`: a build's, whose rollups may be summed in at its end."""
        for table in self.tables.per_case:
            insert_rows(conn, table, done.rows[table.name])
        done.delta.apply(conn, self.tables, self.policy.name,
                         staged=building and stages_rollups(conn))
        if done.points:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(points_in_use).on_conflict_do_nothing(),
                         [{"point_id": p} for p in sorted(done.points)])

    def _stored_rows(self, conn: Connection, ids: list[str]) -> list[CaseRows]:
        """The rows these cases have now, to take their contribution out of the rollups."""
        if not ids:
            return []
        t, policy = self.tables, self.policy.name

        def by_case(query: Any) -> dict[str, list[Any]]:
            found: dict[str, list[Any]] = {}
            for row in conn.execute(query):
                found.setdefault(row.case_id, []).append(row)
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
                         [g.grp for g in group_rows.get(c, [])])
                for c in ids if c in case_rows]

    def _rows(self, case_id: str, history: list[Step], rows: dict[str, list[tuple[Any, ...]]],
              used: set[str]) -> CaseRows:
        t, row = self.tables, self.row_types
        first = min(history, key=Step.sort_key)
        default_area = self.area_of(first.data.get("service_point"))
        last = max(s.occurred_at for s in history)
        evaluation = evaluate(case_id, history, self.policy, _latest(history, last), self.tz,
                              default_area)
        f = evaluation.facts
        for s in history:
            if s.type in POINT_FIELDS:
                used.add(s.data[POINT_FIELDS[s.type]])
        dims = (f.service_point, f.channel, f.category, to_us(f.last_event_at or last))
        case_row = row.cases(case_id, f.area, to_us(f.received_at), to_us(f.reviewed_at),
                             f.decision, to_us(f.withdrawn_at), to_us(f.closed_at), *dims)
        rows[t.cases.name].append(case_row)
        rows[t.case_histories.name].append(
            row.case_histories(case_id, dims[3], history_to_json(history)))
        rows[t.case_groups.name].extend(row.case_groups(case_id, g) for g in f.groups)
        call_rows = [row.calls(case_id, n, to_us(c.at), c.reached, c.satisfaction, *dims)
                     for n, c in enumerate(f.calls)]
        rows[t.calls.name].extend(call_rows)
        clock_rows = self._clock_rows(case_id, evaluation, dims)
        rows[t.clocks.name].extend(clock_rows)
        outcome_row = None
        if evaluation.outcome is not None:
            outcome_row = row.outcomes(self.policy.name, case_id, evaluation.outcome,
                                       to_us(evaluation.finished_at), *dims)
            rows[t.outcomes.name].append(outcome_row)
        return CaseRows(case_row, clock_rows, outcome_row, call_rows, f.groups)

    def _clock_rows(self, case_id: str, evaluation: CaseEvaluation,
                    dims: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        out = []
        f, policy, make = evaluation.facts, self.policy, self.row_types.clocks
        for name, c in evaluation.clocks.items():
            due, pause_began, state = c.due_at, None, c.state
            if state in ("running", "overdue"):
                state = "open"
                closed = [(b, e) for b, e in f.pauses if e is not None] if name == "review" else []
                due = policy.due(name, f.area, c.started_at, closed, self.tz)
                if c.paused:
                    pause_began = f.pauses[-1][0]
            out.append(make(policy.name, case_id, name, state, to_us(c.started_at),
                            to_us(c.stopped_at), to_us(due),
                            to_us(c.decision_time) if state in DECIDED else None,
                            to_us(pause_began), *dims))
        return out


def _latest(history: list[Step], last_occurred: datetime) -> datetime:
    """An evaluation time at which every event of the case is visible, corrections included."""
    latest = last_occurred
    for s in history:
        if s.type == "corrected":
            latest = max(latest, datetime.fromisoformat(s.data["occurred_at"]))
    return latest
