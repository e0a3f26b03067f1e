"""Where a case stands now: its current service point, for the API's scope checks.

SPEC §3: a case's service point is that of `application_received`, or of its last `transferred`.
The clock engine's facts (`read_facts`) say which, with corrections honoured, so there is no
second implementation of that rule here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from eventsourcing.persistence import StoredEvent

from domain.clocks import read_facts
from domain.events import OrderedHistory, Step

KEPT_CASES = 4096  # recently written cases; a few MB of decoded steps


def current_service_point(history: Iterable[Step]) -> str | None:
    """SPEC §3: the point of `application_received`, or of the last `transferred`."""
    steps = list(history)
    case_id = steps[0].case_id if steps else ""
    return read_facts(case_id, OrderedHistory.of(steps), None).service_point


class CasePoints:
    """The current service point of cases from their stored histories, decoding each stored
    event once.

    The group-commit writer checks the scope of every step against its case's stored history,
    and decoding the whole history each time cost more than the rest of the check. A stream
    only grows and its events never change, so the decoded steps of recent cases are kept and
    only events stored since are decoded. Kept steps are trusted only while the stored event
    in the last kept position is byte-for-byte the one kept (otherwise, say after a store was
    reset, the history is decoded afresh). Used by one thread: the writer's.
    """

    def __init__(self, decode: Callable[[StoredEvent], Step], max_cases: int = KEPT_CASES) -> None:
        self._decode = decode
        self._max_cases = max_cases
        # case id -> (state of the last kept stored event, decoded steps, their service point);
        # dict order is recency: a case is re-inserted on every use, the oldest dropped.
        self._kept: dict[str, tuple[bytes, list[Step], str | None]] = {}

    def point(self, case_id: str, stored: Sequence[StoredEvent]) -> str | None:
        kept = self._kept.pop(case_id, None)
        steps: list[Step] = []
        point: str | None = None
        if kept is not None:
            last_state, steps, point = kept
            if not (0 < len(steps) <= len(stored) and stored[len(steps) - 1].state == last_state):
                steps = []
        if len(steps) < len(stored) or not steps:
            steps = steps + [self._decode(event) for event in stored[len(steps):]]
            point = current_service_point(steps)
        if stored:
            if len(self._kept) >= self._max_cases:
                del self._kept[next(iter(self._kept))]
            self._kept[case_id] = (stored[-1].state, steps, point)
        return point
