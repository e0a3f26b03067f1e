"""Group commit: concurrent `record a step` requests share one `record_batch` transaction.

Requests put their step on a queue and wait on a future. One writer thread takes whatever has
queued up while the previous transaction was committing (at most one step per case per batch, so
each request is decided against the history its predecessor left), checks each submitter's scope
against the case's stored history, records the batch in one transaction, and answers every
request with its own result: accepted, a duplicate (the original), or its refusal. Under load the
batches grow by themselves; when idle a request waits for nobody.

A request waits on an asyncio future of its own event loop. The writer answers a whole batch with
one `call_soon_threadsafe` per loop rather than one per request: every such call wakes the loop,
and under load those wake-ups cost the event loop more than the answers themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from eventsourcing.persistence import IntegrityError

from api.case_points import CasePoints
from api.problems import Problem, is_store_unavailable, unavailable
from domain.case import PointLookup
from domain.events import Step
from domain.service import CaseService

log = logging.getLogger("sixhours.api.writer")

MAX_BATCH = 500
MAX_QUEUED = 20_000


@dataclass(frozen=True)
class Recorded:
    status: Literal["accepted", "duplicate"]
    step: Step


@dataclass
class Submission:
    step: Step
    allowed: frozenset[str] | None  # service points the submitter may record at; None: all
    future: asyncio.Future[Recorded]  # of the submitting request's event loop
    result: Recorded | None = None
    error: BaseException | None = None
    settled: bool = False


def out_of_scope(step: Step, point: str | None) -> Problem:
    return Problem(403, "case_out_of_scope",
                   f"case {step.case_id} is at service point {point}, outside this token's subtree",
                   case_id=step.case_id, event_id=step.event_id, service_point=point)


class GroupCommitWriter:
    def __init__(self, service: CaseService, network: Callable[[], PointLookup], *,
                 max_batch: int = MAX_BATCH, max_queued: int = MAX_QUEUED) -> None:
        self.service = service
        self.network = network
        self.max_batch = max_batch
        self.max_queued = max_queued
        self.points = CasePoints(service.to_step)
        # Requests append, the writer pops; `deque` appends and pops are atomic, so the only
        # signalling is a wake-up, and only while the writer waits for work.
        self._pending: deque[Submission] = deque()
        self._work = threading.Event()
        self._idle = False
        self._backlog: deque[Submission] = deque()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._users = 0
        self._users_lock = threading.Lock()
        self.batches = 0
        self.steps = 0

    def start(self) -> None:
        """Start the writer thread; each start (an app lifespan) is matched by a stop."""
        with self._users_lock:
            self._users += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sixhours-group-commit",
                                                daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """After the last user's stop: record what is queued, then end the thread."""
        with self._users_lock:
            self._users -= 1
            if self._users > 0:
                return
        self._stopping.set()
        self._work.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        left = [*self._backlog, *self._pending]
        self._backlog.clear()
        self._pending.clear()
        for item in left:
            _settle(item, exception=unavailable("the server is shutting down; retry shortly"))
        _answer(left)

    async def record(self, step: Step, allowed: frozenset[str] | None) -> Recorded:
        """Queue the step for the next batch and wait for its own answer (or its refusal)."""
        if self._stopping.is_set():
            raise unavailable("the server is shutting down; retry shortly")
        if len(self._pending) >= self.max_queued:
            raise unavailable("too many steps are waiting to be recorded; retry shortly")
        submission = Submission(step, allowed, asyncio.get_running_loop().create_future())
        self._pending.append(submission)
        if self._idle:
            self._work.set()
        return await submission.future

    # --- the writer thread ---------------------------------------------------------------

    def _take_pending(self) -> None:
        while len(self._backlog) < self.max_batch * 2:
            try:
                self._backlog.append(self._pending.popleft())
            except IndexError:
                return

    def _next_batch(self) -> list[Submission]:
        self._take_pending()
        if not self._backlog:
            self._idle = True
            self._work.clear()
            self._take_pending()  # anything appended before `_idle` was seen
            if not self._backlog:
                self._work.wait(0.2)
            self._idle = False
            self._take_pending()
        batch: dict[str, Submission] = {}
        later: deque[Submission] = deque()
        while self._backlog and len(batch) < self.max_batch:
            item = self._backlog.popleft()
            if item.step.case_id in batch:
                later.append(item)  # one step per case per batch: the next batch sees this one
            else:
                batch[item.step.case_id] = item
        self._backlog = later + self._backlog
        return list(batch.values())

    def _run(self) -> None:
        while not self._stopping.is_set() or self._backlog or self._pending:
            batch = self._next_batch()
            if batch:
                self._commit(batch)
                _answer(batch)

    def _commit(self, batch: list[Submission]) -> None:
        try:
            self._record(batch)
        except IntegrityError:
            for item in batch:
                _settle(item, exception=Problem(
                    409, "concurrent_write", f"case {item.step.case_id} kept changing while this "
                    "step was recorded; nothing was stored: send the step again",
                    case_id=item.step.case_id, event_id=item.step.event_id))
        except Exception as error:  # noqa: BLE001 - every waiting request must hear of it
            if is_store_unavailable(error):
                log.warning("event store unavailable: %s", type(error).__name__)
                failure: BaseException = unavailable()
            else:
                log.exception("recording a batch of %d steps failed", len(batch))
                failure = error
            for item in batch:
                _settle(item, exception=failure)

    def _record(self, batch: list[Submission]) -> None:
        network = self.network()
        scoped = [item for item in batch if item.allowed is not None]
        histories = self.service.store.select_histories([i.step.case_id for i in scoped])
        admitted: list[Submission] = []
        for item in batch:
            if item.allowed is not None:
                stored = histories.get(item.step.case_id)
                if stored:
                    point = self.points.point(item.step.case_id, stored)
                elif item.step.type == "application_received":
                    point = item.step.data.get("service_point")
                else:
                    point = None  # no case yet: the rules refuse it (case_not_started)
                # A point the network does not know is the rules' refusal (unknown_service_point).
                if point is not None and point not in item.allowed and network.is_known(point):
                    _settle(item, exception=out_of_scope(item.step, point))
                    continue
            admitted.append(item)
        if not admitted:
            return
        result = self.service.record_batch([i.step for i in admitted], network, no_backdating=True)
        by_key = {(i.step.case_id, i.step.event_id): i for i in admitted}
        for step in result.accepted:
            _settle(by_key.pop((step.case_id, step.event_id)), Recorded("accepted", step))
        for step in result.duplicates:
            _settle(by_key.pop((step.case_id, step.event_id)), Recorded("duplicate", step))
        for step, violation in result.refused:
            _settle(by_key.pop((step.case_id, step.event_id)), exception=violation)
        self.batches += 1
        self.steps += len(admitted)
        for item in by_key.values():  # the service answers every candidate; this is a bug guard
            _settle(item, exception=RuntimeError(f"no decision for event {item.step.event_id}"))


def _settle(item: Submission, result: Recorded | None = None, *,
            exception: BaseException | None = None) -> None:
    """Note a submission's answer (the first one counts); `_answer` delivers it."""
    if item.settled:
        return
    item.settled = True
    item.result, item.error = result, exception


def _answer(items: list[Submission]) -> None:
    """Deliver the answers: one hop into each waiting event loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Submission]] = {}
    for item in items:
        if not item.settled:  # the bug guard of `_record` settles every admitted item
            item.settled, item.error = True, RuntimeError("the step was not decided")
        by_loop.setdefault(item.future.get_loop(), []).append(item)
    for loop, answered in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
            loop.call_soon_threadsafe(_deliver, answered)


def _deliver(items: list[Submission]) -> None:
    for item in items:
        if item.future.done():  # the request went away (its task was cancelled)
            continue
        if item.error is not None:
            item.future.set_exception(item.error)
        else:
            item.future.set_result(item.result)  # type: ignore[arg-type]
