"""Open clocks of a subtree, from the case projection: what is running and what is overdue now.

A clock's row keeps its due time excluding a pause still open; while paused its due time moves
with the pause, and a clock paused before it fell due is not overdue (SPEC §4), as the report
counts it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, case, func, or_, select

from projections.tables import CaseTables, from_us, to_us

STATES = ("running", "overdue")


@dataclass(frozen=True)
class OpenClock:
    case_id: str
    clock: str
    service_point: str | None
    state: str  # running | overdue
    started_at: datetime
    due_at: datetime  # with an open pause: the due time as of `now`
    paused: bool


def open_clocks(engine: Engine, tables: CaseTables, policy: str, now: datetime,
                points: Collection[str] | None, *,
                state: str | None = None, limit: int = 100, offset: int = 0,
                ) -> tuple[list[OpenClock], int]:
    """One page of open clocks at service points `points` (None: all), soonest due first,
    and how many there are in all."""
    at = to_us(now)
    clocks = tables.clocks
    paused_in_time = and_(clocks.c.pause_began_us.is_not(None),
                          clocks.c.pause_began_us <= clocks.c.due_us)
    overdue = and_(clocks.c.due_us < at, or_(clocks.c.pause_began_us.is_(None),
                                             clocks.c.pause_began_us > clocks.c.due_us))
    conditions = [clocks.c.policy == policy, clocks.c.state == "open"]
    if points is not None:
        conditions.append(clocks.c.service_point.in_(sorted(points)))
    if state == "overdue":
        conditions.append(overdue)
    elif state == "running":
        conditions.append(~overdue)
    effective_due = case((paused_in_time, clocks.c.due_us + (at - clocks.c.pause_began_us)),
                         else_=clocks.c.due_us)
    page = (select(clocks.c.case_id, clocks.c.clock, clocks.c.service_point, clocks.c.started_us,
                   effective_due.label("due"), case((overdue, 1), else_=0).label("overdue"),
                   case((paused_in_time, 1), else_=0).label("paused"))
            .where(*conditions)
            .order_by(effective_due, clocks.c.case_id, clocks.c.clock)
            .limit(limit).offset(offset))
    count = select(func.count()).select_from(clocks).where(*conditions)
    with engine.connect() as conn:
        rows = conn.execute(page).all()
        total = int(conn.execute(count).scalar() or 0)
    found = []
    for case_id, clock, point, started, due, is_overdue, paused in rows:
        started_at, due_at = from_us(started), from_us(int(due))
        assert started_at is not None and due_at is not None
        found.append(OpenClock(case_id, clock, point, STATES[1] if is_overdue else STATES[0],
                               started_at, due_at, bool(paused)))
    return found, total
