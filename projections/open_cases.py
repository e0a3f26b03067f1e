"""Open cases of a subtree with their open clocks: a clerk's work list (issue 7).

A case is open from its application until it is finished or withdrawn (SPEC §5 "cases open");
that includes cases with no clock running at the moment (between the first meeting and the
closure, say). Their open clocks are the rows the monitors read (`open_clocks_of`), so a page
colours a clock in warning or overdue exactly when an alert says so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from projections.due_clocks import DueClock, open_clocks_of
from projections.tables import CaseTables, from_us

MAX_LISTED = 500


@dataclass(frozen=True)
class OpenCase:
    case_id: str
    service_point: str | None
    received_at: datetime
    clocks: tuple[DueClock, ...]


def open_cases(engine: Engine, tables: CaseTables, policy: str, points: Collection[str] | None,
               limit: int = MAX_LISTED) -> tuple[list[OpenCase], int]:
    """Up to `limit` open cases at these service points (None: all), oldest application
    first, and how many there are in all."""
    cases, outcomes = tables.cases, tables.outcomes
    finished = (select(outcomes.c.case_id)
                .where(outcomes.c.policy == policy, outcomes.c.case_id == cases.c.case_id)
                .exists())
    conditions = [cases.c.received_us.is_not(None), cases.c.withdrawn_us.is_(None), ~finished]
    if points is not None:
        conditions.append(cases.c.service_point.in_(sorted(points)))
    query = (select(cases.c.case_id, cases.c.service_point, cases.c.received_us)
             .where(*conditions).order_by(cases.c.received_us, cases.c.case_id).limit(limit))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        total = int(conn.execute(select(func.count()).select_from(cases).where(*conditions))
                    .scalar() or 0)
        clocks: dict[str, list[DueClock]] = {}
        for clock in open_clocks_of(conn, tables, policy, [r[0] for r in rows]):
            clocks.setdefault(clock.case_id, []).append(clock)
    return [OpenCase(case_id, point, from_us(received), tuple(clocks.get(case_id, ())))
            for case_id, point, received in rows], total
