"""The writer's scope check decodes each stored event once, and still follows a case that moves.

Given a case recorded through the API, `CasePoints` answers its current service point from the
stored history; when the history grows (a transfer) only the new event is decoded; and a history
that is not the one it kept (a store reset under the same case id) is decoded afresh.
"""

from __future__ import annotations

from eventsourcing.persistence import StoredEvent

from api.case_points import CasePoints, current_service_point
from domain.events import Step
from tests.api.conftest import Api
from tests.unit.factory import CaseBuilder


class CountingDecoder:
    """The service's own decoder, counting its calls."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.calls = 0

    def __call__(self, stored: StoredEvent) -> Step:
        self.calls += 1
        return self.api.container.service.to_step(stored)


def _stored(api: Api, case_id: str) -> list[StoredEvent]:
    return api.container.service.store.select_histories([case_id])[case_id]


def _record(api: Api, builder: CaseBuilder, kind: str, minute: float, **data: object) -> None:
    raw = builder.raw(kind, minute, **data)
    raw.pop("recorded_at")
    api.recorded([raw])


def test_a_growing_history_is_decoded_once_and_a_transfer_moves_the_case(api: Api) -> None:
    case = CaseBuilder("A")
    _record(api, case, "application_received", 0, service_point="ly-yc")
    decode = CountingDecoder(api)
    points = CasePoints(decode)

    assert points.point("A", _stored(api, "A")) == "ly-yc"
    assert points.point("A", _stored(api, "A")) == "ly-yc"
    assert decode.calls == 1  # the same history again: nothing decoded

    _record(api, case, "transferred", 10, to_service_point="tc-tyz")
    stored = _stored(api, "A")
    assert points.point("A", stored) == "tc-tyz"
    assert decode.calls == 2  # only the transfer
    assert points.point("A", stored) == current_service_point(
        api.container.service.to_step(s) for s in stored)


def test_a_history_other_than_the_kept_one_is_decoded_afresh(api: Api) -> None:
    for case_id, point in (("A", "ly-yc"), ("B", "tc-tyz")):
        _record(api, CaseBuilder(case_id), "application_received", 0, service_point=point)
    _record(api, CaseBuilder("B"), "arrived", 5, event_id="B-arrival", who="applicant",
            travel_minutes=10)
    decode = CountingDecoder(api)
    points = CasePoints(decode)
    assert points.point("A", _stored(api, "A")) == "ly-yc"

    # As if the store had been reset and case A recorded anew, elsewhere and longer.
    assert points.point("A", _stored(api, "B")) == "tc-tyz"
    assert decode.calls == 1 + 2


def test_only_the_most_recent_cases_are_kept(api: Api) -> None:
    for case_id in ("A", "B", "C"):
        _record(api, CaseBuilder(case_id), "application_received", 0, service_point="ly-yc")
    decode = CountingDecoder(api)
    points = CasePoints(decode, max_cases=2)
    for case_id in ("A", "B", "C", "C", "B"):
        points.point(case_id, _stored(api, case_id))
    assert decode.calls == 3
    points.point("A", _stored(api, "A"))  # A was the oldest when C came: decoded again
    assert decode.calls == 4
