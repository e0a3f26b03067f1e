"""Two writers on one case never both win with an invalid history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from domain.errors import RuleViolation
from domain.events import parse_event
from sixhours.bootstrap import build
from sixhours.settings import Settings
from tests.unit.factory import example_network

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _event(event_id: str, kind: str, minute: int, **data: Any) -> Any:
    raw = {"event_id": event_id, "case_id": "C-1", "type": kind,
           "occurred_at": f"2026-03-02T09:{minute:02d}:00+08:00", "data": data}
    return parse_event(raw, default_recorded_at=NOW)


@pytest.fixture
def two_clerks(env: dict[str, str]) -> Any:
    first, second = build(Settings()), build(Settings())
    yield first.service, second.service
    first.close()
    second.close()


def test_the_second_of_two_conflicting_reviews_is_refused(two_clerks: Any) -> None:
    a, b = two_clerks
    network = example_network()
    a.record(_event("e1", "application_received", 0, service_point="ly", channel="walk_in",
                    category="civil", groups=[]), network)
    # Both clerks decide against the same history; the first to store wins.
    decided_by_a = a._decide([_event("e2", "reviewed", 20, decision="granted")], network, True)
    b.record(_event("e3", "reviewed", 25, decision="refused", reason="不符合条件"), network)
    _, events, index = decided_by_a
    with pytest.raises(IntegrityError):
        a.events.put(events, event_index=index)
    # Retried against the fresh history, the late review is refused by its rule.
    with pytest.raises(RuleViolation) as refusal:
        a.record(_event("e2", "reviewed", 30, decision="granted"), network)
    assert refusal.value.code == "already_recorded"
    assert [s.type for s in b.history("C-1")] == ["application_received", "reviewed"]


def test_one_event_id_claimed_by_two_cases_in_one_batch_is_stored_once(two_clerks: Any) -> None:
    a, _ = two_clerks
    network = example_network()
    steps = [parse_event({"event_id": "same", "case_id": case, "type": "application_received",
                          "occurred_at": "2026-03-02T09:00:00+08:00",
                          "data": {"service_point": "ly", "channel": "walk_in",
                                   "category": "civil", "groups": []}},
                         default_recorded_at=NOW) for case in ("C-1", "C-2")]
    result = a.record_batch(steps, network)
    assert len(result.accepted) == 1
    assert [r.code for _, r in result.refused] == ["event_id_conflict"]
