"""The figures of SPEC §5: which local date an item belongs to, group rows, and empty rates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from domain.clocks import CaseEvaluation, evaluate
from domain.policy import six_hours_policy
from projections.figures import Figures, Period, Tally, rate, tally_case
from tests.unit.factory import SHANGHAI, CaseBuilder, When, at

SIX_HOURS = six_hours_policy()
AS_OF = datetime(2026, 4, 30, 18, tzinfo=SHANGHAI)
NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def local_period(first: date, last: date | None = None) -> Period:
    """Local dates in Asia/Shanghai, both ends inclusive."""
    end = (last or first) + timedelta(days=1)
    return Period(datetime.combine(first, time(0), SHANGHAI), datetime.combine(end, time(0), SHANGHAI))


def reviewed_case(received: When, reviewed: When, case_id: str = "C-1", **application: object
                  ) -> CaseEvaluation:
    b = CaseBuilder(case_id, **application)
    steps = [b.received(received), b.step("reviewed", reviewed)]
    return evaluate(case_id, steps, SIX_HOURS, AS_OF, SHANGHAI, "urban")


def review_figures(evaluation: CaseEvaluation, period: Period) -> dict[str, Any]:
    tally = Tally()
    tally_case(tally, None, evaluation, period, AS_OF)
    return tally.total.as_json(["review"])


MARCH_31, APRIL_1 = date(2026, 3, 31), date(2026, 4, 1)


class TestLocalDates:
    def test_a_review_decided_at_16_30_utc_belongs_to_the_next_local_day(self) -> None:
        evaluation = reviewed_case(datetime(2026, 3, 31, 15, 40, tzinfo=UTC),
                                   datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
        assert evaluation.clocks["review"].state == "met"
        april = review_figures(evaluation, local_period(APRIL_1))
        march = review_figures(evaluation, local_period(MARCH_31))
        assert april["clocks"]["review"] == {"met": 1, "breached": 0, "rate": 1.0}
        assert march["clocks"]["review"] == {"met": 0, "breached": 0, "rate": None}
        assert (march["volume"]["received"], march["volume"]["granted"]) == (1, 0)
        assert (april["volume"]["received"], april["volume"]["granted"]) == (0, 1)

    def test_a_review_decided_at_15_59_59_utc_belongs_to_the_same_local_day(self) -> None:
        evaluation = reviewed_case(datetime(2026, 3, 31, 15, 0, tzinfo=UTC),
                                   datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC))
        assert review_figures(evaluation, local_period(MARCH_31))["clocks"]["review"]["met"] == 1
        assert review_figures(evaluation, local_period(APRIL_1))["clocks"]["review"]["met"] == 0

    def test_the_offset_an_event_was_written_with_does_not_matter(self) -> None:
        evaluation = reviewed_case(datetime(2026, 3, 31, 10, 40, tzinfo=NEW_YORK_WINTER),
                                   datetime(2026, 3, 31, 11, 30, tzinfo=NEW_YORK_WINTER))
        assert review_figures(evaluation, local_period(APRIL_1))["clocks"]["review"]["met"] == 1

    def test_an_overdue_clock_counts_as_breached_on_the_day_it_became_overdue(self) -> None:
        b = CaseBuilder("C-2")
        steps = [b.received(datetime(2026, 3, 31, 23, 30, tzinfo=SHANGHAI))]
        evaluation = evaluate("C-2", steps, SIX_HOURS, AS_OF, SHANGHAI, "urban")
        figures = review_figures(evaluation, local_period(APRIL_1))
        assert figures["clocks"]["review"] == {"met": 0, "breached": 1, "rate": 0.0}
        assert review_figures(evaluation, local_period(MARCH_31))["clocks"]["review"]["breached"] == 0

    def test_open_clocks_and_open_cases_count_whatever_the_period(self) -> None:
        b = CaseBuilder("C-3")
        steps = [b.received(at(AS_OF) - timedelta(minutes=10))]
        evaluation = evaluate("C-3", steps, SIX_HOURS, AS_OF, SHANGHAI, "urban")
        figures = review_figures(evaluation, local_period(MARCH_31))
        assert figures["open"] == {"running": 1, "overdue": 0}
        assert figures["volume"]["open_cases"] == 1


class TestGroups:
    def tally(self, *cases: CaseEvaluation) -> Tally:
        tally = Tally()
        for evaluation in cases:
            tally_case(tally, list(evaluation.facts.groups), evaluation,
                       local_period(date(2026, 3, 1), date(2026, 3, 31)), AS_OF)
        return tally

    def test_a_case_in_several_groups_counts_in_each_groups_row(self) -> None:
        tally = self.tally(reviewed_case(0, 30, "C-1", groups=["woman", "elderly"]),
                           reviewed_case(0, 70, "C-2", groups=["woman"]))
        assert sorted(tally.rows) == ["elderly", "woman"]
        assert tally.rows["woman"].clocks["review"] == [1, 1]
        assert tally.rows["elderly"].clocks["review"] == [1, 0]
        assert tally.total.clocks["review"] == [1, 1]

    def test_a_cases_items_go_to_its_service_point_after_transfers(self) -> None:
        b = CaseBuilder("C-4")
        steps = [b.received(0), b.step("transferred", 10, to_service_point="tc-tyz"),
                 b.step("transferred", 20, to_service_point="ly-lj")]
        evaluation = evaluate("C-4", steps, SIX_HOURS, AS_OF, SHANGHAI, "urban")
        assert evaluation.facts.service_point == "ly-lj"
        assert evaluate("C-4", steps, SIX_HOURS, at(15), SHANGHAI).facts.service_point == "tc-tyz"

    def test_a_case_with_no_groups_counts_in_no_row_but_in_the_total(self) -> None:
        tally = self.tally(reviewed_case(0, 30, "C-1", groups=[]))
        assert tally.rows == {}
        assert tally.total.volume["received"] == 1


class TestRates:
    def test_a_zero_denominator_gives_null(self) -> None:
        assert rate(0, 0) is None
        figures: dict[str, Any] = Figures().as_json(["reach", "review"])
        assert figures["clocks"] == {"reach": {"met": 0, "breached": 0, "rate": None},
                                     "review": {"met": 0, "breached": 0, "rate": None}}
        assert figures["cases"]["rate"] is None and figures["satisfaction"]["rate"] is None

    def test_rates_are_unrounded_shares(self) -> None:
        tally = Tally()
        for outcome in ("met", "breached", "breached"):
            tally.add(None, "clock", f"review:{outcome}")
        for label in ("satisfied", "basically_satisfied", "dissatisfied"):
            tally.add(None, "satisfaction", label)
        figures: dict[str, Any] = tally.total.as_json(["review"])
        assert figures["clocks"]["review"]["rate"] == pytest.approx(1 / 3)
        assert figures["satisfaction"]["rate"] == pytest.approx(2 / 3)

    def test_satisfaction_counts_reached_calls_by_call_time(self) -> None:
        b = CaseBuilder("C-9")
        steps = [*b.happy_path("closed"), b.step("follow_up_call", 140, reached=False),
                 b.step("follow_up_call", 150, satisfaction="basically_satisfied")]
        evaluation = evaluate("C-9", steps, SIX_HOURS, AS_OF, SHANGHAI, "urban")
        tally = Tally()
        tally_case(tally, None, evaluation, local_period(date(2026, 3, 2)), AS_OF)
        assert tally.total.as_json([])["satisfaction"] == {
            "satisfied": 0, "basically_satisfied": 1, "dissatisfied": 0, "rate": 1.0}
