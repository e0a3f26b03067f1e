"""Runs projections over the event store's notification log, exactly once.

Each batch of notifications is applied in one read-model transaction that also moves the
projection's own tracking row, so a crash at any point leaves rows and position in step.
Each projection has its own named position (never eventsourcing's shared SQLite tracking table).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, insert, select, update

from projections.tables import positions

BATCH = 5000
# After this many events in one catch-up, PostgreSQL gets fresh planner statistics: autovacuum
# may be off or late, and a planner that believes the read model is empty picks nested loops.
ANALYZE_AFTER = 50_000


class Projection(Protocol):
    name: str

    def process(self, conn: Connection, events: Sequence[Any]) -> None: ...


class NotificationSource(Protocol):
    def max_notification_id(self) -> int | None: ...
    def read(self, after: int, limit: int) -> list[tuple[int, Any]]: ...


@dataclass
class CatchUp:
    processed: int
    position: int
    seconds: float


def position_of(conn: Connection, name: str, *, lock: bool = False) -> int:
    query = select(positions.c.position).where(positions.c.name == name)
    found = conn.execute(query.with_for_update() if lock else query).scalar()
    return int(found or 0)


def save_position(conn: Connection, name: str, position: int) -> None:
    now_us = int(time.time() * 1_000_000)
    moved = conn.execute(update(positions).where(positions.c.name == name).values(
        position=position, updated_at_us=now_us))
    if moved.rowcount == 0:
        conn.execute(insert(positions).values(name=name, position=position, updated_at_us=now_us))


def catch_up(engine: Engine, source: NotificationSource, projection: Projection, *,
             batch: int = BATCH, progress: Callable[[int, int], None] | None = None,
             should_stop: Callable[[], bool] = lambda: False,
             limit: int | None = None) -> CatchUp:
    """Apply every notification after the projection's position (with `limit`, at most that
    many); return how far it got.

    `should_stop` is asked between batches, so a stop request never splits a batch."""
    if limit is not None:
        batch = min(batch, limit)
    started = time.perf_counter()
    with engine.connect() as conn:
        position = position_of(conn, projection.name)
    target = source.max_notification_id() or 0
    processed = 0
    while position < target and not should_stop() and (limit is None or processed < limit):
        notifications = source.read(position, batch)
        if not notifications:
            break
        last = notifications[-1][0]
        with engine.begin() as conn:
            if position_of(conn, projection.name, lock=True) != position:
                raise RuntimeError(f"projection {projection.name} was moved by another runner")
            projection.process(conn, [event for _, event in notifications])
            save_position(conn, projection.name, last)
        processed += len(notifications)
        position = last
        if progress:
            progress(processed, max(target - position, 0))
    if processed >= ANALYZE_AFTER and engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return CatchUp(processed, position, time.perf_counter() - started)


class StoreNotifications:
    """The application's notification log, decoded into stored case events."""

    def __init__(self, recorder: Any, mapper: Any) -> None:
        self.recorder = recorder
        self.mapper = mapper

    def max_notification_id(self) -> int | None:
        return self.recorder.max_notification_id()

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        rows = self.recorder.select_notifications(after + 1, limit)
        return [(n.id, self.mapper.to_domain_event(n)) for n in rows]
