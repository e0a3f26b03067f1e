"""Build a new version of the case read model stream by stream, in parts that run side by side.

Catching up from notification 0 would evaluate a case once per batch it appears in, and read
back and replace its rows each time. A build instead fixes a head (the last notification at its
start), reads the store case by case up to that head, and writes each case once. The cases are
split by id into parts of about equal size. When the store is big enough to be worth it, this
process and fresh helper processes take parts from a shared list until none is left (case
evaluation is Python, so one process uses one core). Each part keeps its last written case beside
its rows, in the same transaction, so a killed build resumes where every part stopped. Secondary
indexes are created once all rows are in: sorting a finished table is much cheaper than keeping
its indexes up to date row by row. For the same reason, on PostgreSQL the rollups get their sums,
and then their keys, at the end (projections/rollups.py says why only there).
When every part is done, the version's position becomes the head, and the ordinary catch-up
takes it from there.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from domain.events import Step
from domain.service import step_from_state
from projections.case_clocks import CaseProjection
from projections.read_models import NAME, index_steps
from projections.rollups import key_steps, merge_steps
from projections.runner import save_position
from projections.tables import CaseTables, build_parts, read_models

# (after this case, up to this case or None, up to this notification, at most this many events)
ReadStreams = Callable[[str, str | None, int, int], list[tuple[str, int, bytes]]]
# (up to this notification, into this many parts) -> the last case of each part but the last
SplitStreams = Callable[[int, int], list[str]]
Decode = Callable[[bytes], Mapping[str, Any]]
DONE = -1
# Below this many events a second process costs more (its start-up) than it saves.
PARALLEL_FROM = 200_000
# Parts are much smaller than a process's share: whichever process is free takes the next one,
# so a process that started later, or parts that cost more than others, leave a core idle for
# at most one part (about a second) at the end.
PART_EVENTS = 25_000


@dataclass(frozen=True)
class BuildSource:
    """What a build process works with. Each process opens its own (connections don't fork)."""

    engine: Engine
    projection: CaseProjection
    read_streams: ReadStreams
    split_streams: SplitStreams
    decode: Decode
    owner: object = None  # whatever holds the connections open while the source is in use


@dataclass(frozen=True)
class Part:
    number: int
    upper: str | None
    cursor: str


def build_by_stream(open_source: Callable[[], BuildSource], source: BuildSource,
                    head_now: Callable[[], int], *, batch: int = 5000, workers: int = 1,
                    parallel_from: int | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    should_stop: Callable[[], bool] = lambda: False) -> bool:
    """Write every case up to a fixed head; return True when the build has reached it.

    `source` serves this process; `open_source` makes a fresh one in each extra process."""
    least = PARALLEL_FROM if parallel_from is None else parallel_from
    head, parts = _start(source, head_now, workers if head_now() >= least else 1)
    if head == DONE:
        return True
    todo = [p for p in parts if p is not None]
    helpers = min(workers, len(todo)) - 1
    with _fewer_collections():
        if helpers > 0:
            _in_processes(open_source, source, todo, helpers, head, batch, progress,
                          should_stop)
        else:
            counter = _Counter(progress, head)
            for part in todo:
                _build_part(source, part, head, batch, counter.add, should_stop)
    with source.engine.connect() as conn:
        if conn.execute(select(build_parts.c.part).where(build_parts.c.name == NAME,
                                                         ~build_parts.c.done)).first():
            return False  # stopped before the end
    _finish(source.engine, source.projection.tables, workers)
    with source.engine.begin() as conn:
        save_position(conn, source.projection.name, head)
        conn.execute(update(read_models).where(read_models.c.name == NAME)
                     .values(building_head=DONE))
        conn.execute(delete(build_parts).where(build_parts.c.name == NAME))
    return True


def _finish(engine: Engine, tables: CaseTables, workers: int) -> None:
    """Sum the staged rollups in and create the secondary indexes, then key the rollups: each
    step in its own transaction, side by side on PostgreSQL (SQLite has one writer)."""

    def run(step: Callable[[Connection], None]) -> None:
        with engine.begin() as conn:
            step(conn)

    for steps in ([*merge_steps(tables), *index_steps(tables)], key_steps(tables)):
        if engine.dialect.name != "postgresql" or workers < 2:
            for step in steps:
                run(step)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(run, steps))


def _start(source: BuildSource, head_now: Callable[[], int],
           workers: int) -> tuple[int, list[Part | None]]:
    """The build's head and its parts (None for a part already done), fixed on first start."""
    with source.engine.begin() as conn:
        head = conn.execute(select(read_models.c.building_head).where(read_models.c.name == NAME)
                            .with_for_update()).scalar()
        if head is None:
            head = head_now()
            pieces = max(workers, -(-head // PART_EVENTS)) if workers > 1 else 1
            uppers: list[str | None] = [*source.split_streams(head, pieces), None]
            conn.execute(update(read_models).where(read_models.c.name == NAME)
                         .values(building_head=head))
            conn.execute(delete(build_parts).where(build_parts.c.name == NAME))
            lowers = ["", *uppers[:-1]]
            conn.execute(insert(build_parts), [
                {"name": NAME, "part": n, "upper": upper, "cursor": lower, "done": False}
                for n, (lower, upper) in enumerate(zip(lowers, uppers, strict=True))])
        rows = conn.execute(select(build_parts).where(build_parts.c.name == NAME)
                            .order_by(build_parts.c.part)).mappings().all()
    return int(head), [None if r["done"] else Part(r["part"], r["upper"], r["cursor"])
                       for r in rows]


def _build_part(source: BuildSource, part: Part, head: int, batch: int,
                add: Callable[[int], None], should_stop: Callable[[], bool]) -> None:
    cursor = part.cursor
    where = (build_parts.c.name == NAME) & (build_parts.c.part == part.number)
    while not should_stop():
        histories = _next_cases(source, cursor, part.upper, head, batch)
        evaluated = source.projection.evaluate(histories)
        with source.engine.begin() as conn:  # only the writing holds the write lock
            if conn.dialect.name == "postgresql":
                # A crash may lose the last batches' commits, but each takes its cursor with
                # it, so the build redoes them: no need to wait for the disk at each one.
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            if not histories:
                conn.execute(update(build_parts).where(where).values(done=True))
                return
            source.projection.insert(conn, evaluated, building=True)
            cursor = list(histories)[-1]  # the database's order, whatever its collation
            conn.execute(update(build_parts).where(where).values(cursor=cursor))
        add(sum(len(h) for h in histories.values()))


def _next_cases(source: BuildSource, cursor: str, upper: str | None, head: int,
                batch: int) -> dict[str, list[Step]]:
    """The next page of whole cases. A page's last case may be cut off, so unless the page ends
    the part it waits for the next page; a page holding one case only is read again larger."""
    limit = batch
    decode = source.decode
    while True:
        rows = source.read_streams(cursor, upper, head, limit)
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


class _Counter:
    def __init__(self, progress: Callable[[int, int], None] | None, head: int) -> None:
        self.progress, self.head, self.done = progress, head, 0

    def add(self, events: int) -> None:
        self.done += events
        if self.progress:
            self.progress(self.done, max(self.head - self.done, 0))


def _in_processes(open_source: Callable[[], BuildSource], source: BuildSource,
                  parts: list[Part], helpers: int, head: int, batch: int,
                  progress: Callable[[int, int], None] | None,
                  should_stop: Callable[[], bool]) -> None:
    """This process and `helpers` more take parts from a shared list until none is left; this
    one also reports progress and passes on a stop."""
    # Fresh interpreters, not forks: this process may run other threads (`serve` builds in a
    # thread beside the API), and a fork copies whatever locks they hold.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    taken = context.Value("i", 0)  # the next part nobody has taken
    counts = context.Array("q", helpers + 1)  # events written, by process (this one last)
    children = [context.Process(target=_child, name=f"sixhours-build-{n}",
                                args=(open_source, parts, head, batch, taken, counts, n, stop,
                                      os.getpid()))
                for n in range(helpers)]
    for child in children:
        child.start()
    counter = _Counter(progress, head)

    def stopping() -> bool:
        if should_stop() or any(child.exitcode not in (None, 0) for child in children):
            stop.set()
        counter.add(sum(counts[:]) - counter.done)
        return stop.is_set()

    def add(events: int) -> None:
        counts[helpers] += events

    try:
        for part in _take(parts, taken):
            _build_part(source, part, head, batch, add, stopping)
            if stop.is_set():
                break
        while any(child.is_alive() for child in children):
            stopping()
            time.sleep(0.1)
    finally:
        stop.set()
        for child in children:
            child.join()
    counter.add(sum(counts[:]) - counter.done)
    failed = [c.name for c in children if c.exitcode != 0]
    if failed:
        raise RuntimeError(f"build processes failed: {', '.join(failed)}")


def _take(parts: list[Part], taken: Any) -> Iterator[Part]:
    while True:
        with taken.get_lock():
            n = taken.value
            taken.value = n + 1
        if n >= len(parts):
            return
        yield parts[n]


def _child(open_source: Callable[[], BuildSource], parts: list[Part], head: int, batch: int,
           taken: Any, counts: Any, slot: int, stop: Any, parent: int) -> None:
    _die_with(parent)
    # The parent decides when to stop (SIGTERM, Ctrl-C); a signal to the whole process group
    # must not cut a child's transaction short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    source = open_source()

    def add(events: int) -> None:
        counts[slot] += events

    with _fewer_collections():
        for part in _take(parts, taken):
            _build_part(source, part, head, batch, add, stop.is_set)
            if stop.is_set():
                return


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A build allocates millions of short-lived objects and keeps few: the default collector
    thresholds would rescan everything loaded so far over and over."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _die_with(parent: int) -> None:
    """A build process outliving a killed parent would race the restarted build: Linux kills it
    with its parent; elsewhere it checks between batches via the stop flag only."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() != parent:
        os._exit(1)
