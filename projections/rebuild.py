"""Build a new version of the case read model stream by stream.

Catching up from notification 0 would evaluate a case once per batch it appears in, and read
back and replace its rows each time. A build instead fixes a head (the last notification at its
start), reads the store case by case up to that head, and writes each case once. The last case
written is kept beside the version, in the same transaction as its rows, so a killed build
resumes after it. When every case is written, the version's position becomes the head, and the
ordinary catch-up takes it from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, select, update

from domain.events import Step
from domain.service import step_from_state
from projections.case_clocks import CaseProjection
from projections.read_models import NAME
from projections.runner import save_position
from projections.tables import read_models

ReadStreams = Callable[[str, int, int], list[tuple[str, int, bytes]]]
Decode = Callable[[bytes], Mapping[str, Any]]
DONE = -1


def build_by_stream(engine: Engine, projection: CaseProjection, read_streams: ReadStreams,
                    decode: Decode, head_now: Callable[[], int], *, batch: int = 5000,
                    progress: Callable[[int, int], None] | None = None,
                    should_stop: Callable[[], bool] = lambda: False) -> bool:
    """Write every case up to a fixed head; return True when the build has reached it."""
    head, cursor = _start(engine, head_now)
    if head == DONE:
        return True
    done = 0
    while not should_stop():
        histories = _next_cases(read_streams, cursor, head, batch, decode)
        if not histories:
            break
        with engine.begin() as conn:
            projection.write(conn, histories)
            cursor = list(histories)[-1]  # the database's order, whatever its collation
            conn.execute(update(read_models).where(read_models.c.name == NAME)
                         .values(building_cursor=cursor))
        done += sum(len(h) for h in histories.values())
        if progress:
            progress(done, max(head - done, 0))
    else:
        return False
    with engine.begin() as conn:
        save_position(conn, projection.name, head)
        conn.execute(update(read_models).where(read_models.c.name == NAME)
                     .values(building_head=DONE, building_cursor=None))
    return True


def _start(engine: Engine, head_now: Callable[[], int]) -> tuple[int, str]:
    with engine.begin() as conn:
        row = conn.execute(select(read_models.c.building_head, read_models.c.building_cursor)
                           .where(read_models.c.name == NAME).with_for_update()).first()
        assert row is not None
        head, cursor = row
        if head is None:
            head, cursor = head_now(), ""
            conn.execute(update(read_models).where(read_models.c.name == NAME)
                         .values(building_head=head, building_cursor=cursor))
        return int(head), cursor or ""


def _next_cases(read_streams: ReadStreams, cursor: str, head: int, batch: int,
                decode: Decode) -> dict[str, list[Step]]:
    """The next page of whole cases. A page's last case may be cut off, so unless the page ends
    the stream it waits for the next page; a page holding one case only is read again larger."""
    limit = batch
    while True:
        rows = read_streams(cursor, head, limit)
        histories: dict[str, list[Step]] = {}
        for case_id, version, state in rows:
            histories.setdefault(case_id, []).append(
                step_from_state(case_id, version, decode(state)))
        if len(rows) < limit:
            return histories
        if len(histories) > 1:
            del histories[rows[-1][0]]
            return histories
        limit *= 2
