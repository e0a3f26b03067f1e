"""The clock engine (SPEC §4): given a case's events, a policy and an evaluation time, then clocks.

Times are minutes from 2026-03-02T09:00+08:00 (see `factory.t`); the default evaluation time is
the same day at 19:00.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.calendar import CalendarYearUnknown, WorkCalendar
from domain.clocks import CaseEvaluation, ClockState, evaluate
from domain.events import Step, parse_event
from domain.policy import CLOCKS, Policy, policy_from_mapping, six_hours_policy, statutory_policy
from tests.unit.factory import CASE_ID, SHANGHAI, CaseBuilder, When, at, t

SIX_HOURS = six_hours_policy()
EXAMPLES = Path("/work/shared/examples")


def evaluated(steps: list[Step], as_of: When = 600, policy: Policy = SIX_HOURS,
              default_area: str | None = "urban") -> CaseEvaluation:
    return evaluate(CASE_ID, steps, policy, at(as_of), SHANGHAI, default_area)


def clock(steps: list[Step], name: str, as_of: When = 600, **options: Any) -> ClockState:
    clocks = evaluated(steps, as_of, **options).clocks
    assert name in clocks, f"{name} has not started: {list(clocks)}"
    return clocks[name]


def case(*kinds_at: tuple[str, When] | tuple[str, When, dict[str, Any]], **application: Any
         ) -> list[Step]:
    """Steps of one case: an application at minute 0, then (type, minute[, data]) in order."""
    b = CaseBuilder(**application)
    steps = [b.received(0)]
    for kind, when, *data in kinds_at:
        steps.append(b.step(kind, when, **(data[0] if data else {})))
    return steps


def state(c: ClockState) -> tuple[str, datetime | None]:
    return c.state, c.decision_time


ASSIGNED = ("reviewed", 30), ("accepted", 35), ("assigned", 40)
MET_UNTIL_CLOSED = (*ASSIGNED, ("first_meeting", 60), ("closed", 120))


# --- review: 一小时审查答复 --------------------------------------------------------------------------

class TestReview:
    def test_exactly_3600_seconds_is_met(self) -> None:
        review = clock(case(("reviewed", 60)), "review")
        assert state(review) == ("met", t(60))
        assert (review.started_at, review.stopped_at, review.due_at) == (t(0), t(60), t(60))
        assert review.elapsed_seconds == 3600.0

    def test_3601_seconds_is_breached_with_the_stop_as_decision_time(self) -> None:
        review = clock(case(("reviewed", t(60) + timedelta(seconds=1))), "review")
        assert state(review) == ("breached", t(60) + timedelta(seconds=1))

    def test_a_microsecond_over_the_hour_is_breached(self) -> None:
        review = clock(case(("reviewed", t(60) + timedelta(microseconds=1))), "review")
        assert review.state == "breached"
        assert review.elapsed_seconds == pytest.approx(3600.000001, abs=1e-9)

    @pytest.mark.parametrize("channel", ["walk_in", "online", "referral"])
    def test_starts_at_the_application(self, channel: str) -> None:
        assert clock(case(channel=channel), "review", as_of=10).started_at == t(0)

    @pytest.mark.parametrize("channel", ["hotline", "outreach"])
    def test_hotline_and_outreach_start_at_the_first_arrival(self, channel: str) -> None:
        steps = case(("arrived", 120), ("arrived", 130), ("reviewed", 170), channel=channel)
        assert evaluated(steps[:1]).clocks == {}  # waiting for the arrival: not started, not overdue
        review = clock(steps, "review")
        assert (review.started_at, *state(review)) == (t(120), "met", t(170))

    def test_a_staff_visit_is_an_arrival_too(self) -> None:
        steps = case(("onsite_requested", 0), ("arrived", 70, {"who": "staff"}), channel="hotline")
        assert state(clock(steps, "review")) == ("overdue", t(130))

    def test_running_below_the_hour_and_overdue_past_it(self) -> None:
        assert state(clock(case(), "review", as_of=59)) == ("running", None)
        overdue = clock(case(), "review", as_of=61)
        assert state(overdue) == ("overdue", t(60))
        assert overdue.elapsed_seconds == 61 * 60


class TestWarnings:
    @pytest.mark.parametrize(("as_of", "warning"), [(29, None), (31, 0.5), (44, 0.5), (46, 0.75),
                                                    (59, 0.75)])
    def test_warning_past_half_and_three_quarters_of_the_target(self, as_of: float,
                                                                warning: float | None) -> None:
        review = clock(case(), "review", as_of=as_of)
        assert (review.state, review.warning) == ("running", warning)

    def test_an_overdue_clock_is_not_a_running_warning(self) -> None:
        assert clock(case(), "review", as_of=61).warning is None

    def test_thresholds_come_from_the_policy_and_move_with_pauses(self) -> None:
        policy = policy_from_mapping({"name": "p", "clocks": {"review": {"minutes": 60}},
                                      "finish_clock": "review", "warning_thresholds": [0.9]}, None)
        steps = case(("materials_requested", 10), ("materials_received", 40))
        assert clock(steps, "review", as_of=80, policy=policy).warning is None
        assert clock(steps, "review", as_of=85, policy=policy).warning == 0.9


# --- pauses for materials ---------------------------------------------------------------------------

class TestPauses:
    def test_two_pauses_add_up(self) -> None:
        pauses = (("materials_requested", 10), ("materials_received", 40),
                  ("materials_requested", 50), ("materials_received", 80))
        review = clock(case(*pauses, ("reviewed", 120)), "review")
        assert (state(review), review.due_at, review.elapsed_seconds) == (("met", t(120)), t(120), 3600)
        assert clock(case(*pauses, ("reviewed", 121)), "review").state == "breached"

    def test_the_due_time_moves_with_an_open_pause(self) -> None:
        steps = case(("materials_requested", 20))
        for as_of, due in ((100, 140), (300, 340)):
            review = clock(steps, "review", as_of=as_of)
            assert (review.state, review.paused, review.due_at) == ("running", True, t(due))
            assert review.elapsed_seconds == 20 * 60

    def test_overdue_decision_time_includes_the_pauses(self) -> None:
        steps = case(("materials_requested", 10), ("materials_received", 40))
        assert state(clock(steps, "review", as_of=100)) == ("overdue", t(90))

    def test_a_pause_beginning_exactly_at_the_hour_keeps_the_clock_running(self) -> None:
        review = clock(case(("materials_requested", 60)), "review", as_of=100)
        assert review.elapsed_seconds == 3600
        assert (review.state, review.paused, review.due_at) == ("running", True, t(100))

    def test_a_review_after_a_pause_beginning_exactly_at_the_hour_is_met(self) -> None:
        steps = case(("materials_requested", 60), ("materials_received", 90), ("reviewed", 90))
        review = clock(steps, "review")
        assert review.elapsed_seconds == 3600
        assert state(review) == ("met", t(90))

    def test_a_clock_paused_while_already_overdue_stays_overdue(self) -> None:
        steps = case(("materials_requested", 70))
        review = clock(steps, "review", as_of=100)
        assert (review.state, review.decision_time, review.paused) == ("overdue", t(60), True)


# --- reach: 一小时到达 -------------------------------------------------------------------------------

class TestReach:
    @pytest.mark.parametrize(("minutes", "expected"), [(0, "met"), (60, "met"), (61, "breached")])
    def test_measured_by_the_reported_travel_time(self, minutes: int, expected: str) -> None:
        reach = clock(case(("arrived", 90, {"travel_minutes": minutes}), channel="hotline"), "reach")
        assert state(reach) == (expected, t(90))
        assert (reach.started_at, reach.elapsed_seconds) == (t(90 - minutes), minutes * 60)

    def test_only_the_first_applicant_arrival_counts(self) -> None:
        steps = case(("arrived", 90, {"travel_minutes": 70}), ("arrived", 100, {"travel_minutes": 5}))
        assert state(clock(steps, "reach")) == ("breached", t(90))

    def test_at_equal_instants_the_first_arrival_in_file_order_counts(self) -> None:
        b = CaseBuilder(channel="hotline")
        steps = [b.received(0), b.step("arrived", 90, travel_minutes=70),
                 b.step("arrived", 90, travel_minutes=5)]
        assert clock(list(reversed(steps)), "reach").elapsed_seconds == 70 * 60

    def test_applies_only_when_the_applicant_arrives(self) -> None:
        steps = case(("onsite_requested", 0), ("arrived", 30, {"who": "staff"}))
        assert "reach" not in evaluated(steps).clocks


# --- onsite: 一小时上门 ------------------------------------------------------------------------------

class TestOnsite:
    @pytest.mark.parametrize(("arrival", "expected"), [(70, "met"), (71, "breached")])
    def test_stopped_by_the_first_staff_arrival(self, arrival: float, expected: str) -> None:
        steps = case(("onsite_requested", 10), ("arrived", arrival, {"who": "staff"}),
                     ("arrived", arrival + 5, {"who": "staff"}))
        assert state(clock(steps, "onsite")) == (expected, t(arrival))

    def test_cancelled_when_the_applicant_comes_in(self) -> None:
        onsite = clock(case(("onsite_requested", 10), ("arrived", 30)), "onsite")
        assert (onsite.state, onsite.stopped_at, onsite.decision_time) == ("cancelled", t(30), None)

    def test_cancelled_when_the_review_goes_ahead(self) -> None:
        steps = case(("onsite_requested", 10), ("reviewed", 30))
        assert state(clock(steps, "onsite")) == ("cancelled", None)

    @pytest.mark.parametrize("ending", [("reviewed", 90), ("arrived", 90)])
    def test_an_overdue_clock_ended_later_closes_as_breached_when_it_became_overdue(
            self, ending: tuple[str, float]) -> None:
        onsite = clock(case(("onsite_requested", 10), ending), "onsite")
        assert (onsite.state, onsite.decision_time, onsite.stopped_at) == ("breached", t(70), t(90))

    def test_running_then_overdue_while_nobody_comes(self) -> None:
        steps = case(("onsite_requested", 10))
        assert clock(steps, "onsite", as_of=60).state == "running"
        assert state(clock(steps, "onsite", as_of=71)) == ("overdue", t(70))


# --- assignment, first meeting, follow-up -------------------------------------------------------------

class TestLaterClocks:
    @pytest.mark.parametrize(("assigned", "expected"), [(90, "met"), (91, "breached")])
    def test_assignment_runs_from_the_granting_review_to_the_first_assignment(
            self, assigned: float, expected: str) -> None:
        steps = case(("reviewed", 30), ("accepted", 35), ("assigned", assigned), ("assigned", 95))
        assignment = clock(steps, "assignment")
        assert (assignment.started_at, *state(assignment)) == (t(30), expected, t(assigned))

    def test_no_assignment_clock_after_a_refusal(self) -> None:
        steps = case(("reviewed", 30, {"decision": "refused"}))
        assert "assignment" not in evaluated(steps).clocks

    @pytest.mark.parametrize(("meeting", "expected"), [(100, "met"), (101, "breached")])
    def test_first_meeting_runs_from_the_first_assignment_reassignment_does_not_restart_it(
            self, meeting: float, expected: str) -> None:
        steps = case(*ASSIGNED, ("assigned", 90, {"handler": "lawyer-02"}), ("first_meeting", meeting))
        first_meeting = clock(steps, "first_meeting")
        assert (first_meeting.started_at, *state(first_meeting)) == (t(40), expected, t(meeting))

    @pytest.mark.parametrize(("documents", "call", "stop", "expected"), [
        (130, 180, 180, "met"), (181, 140, 181, "breached"), (180, 180, 180, "met"),
    ])
    def test_follow_up_stops_at_the_later_of_document_review_and_a_reached_call(
            self, documents: float, call: float, stop: float, expected: str) -> None:
        later = sorted([("documents_reviewed", documents), ("follow_up_call", call)], key=lambda s: s[1])
        follow_up = clock(case(*MET_UNTIL_CLOSED, *later), "follow_up")
        assert (follow_up.started_at, *state(follow_up)) == (t(120), expected, t(stop))

    def test_an_unreached_call_does_not_stop_the_follow_up(self) -> None:
        steps = case(*MET_UNTIL_CLOSED, ("documents_reviewed", 130),
                     ("follow_up_call", 140, {"reached": False}))
        assert clock(steps, "follow_up", as_of=170).state == "running"
        assert state(clock(steps, "follow_up", as_of=200)) == ("overdue", t(180))

    def test_document_review_alone_does_not_stop_the_follow_up(self) -> None:
        steps = case(*MET_UNTIL_CLOSED, ("documents_reviewed", 130))
        assert state(clock(steps, "follow_up", as_of=200)) == ("overdue", t(180))


# --- withdrawal and refusal ---------------------------------------------------------------------------

class TestEndings:
    def test_withdrawal_cancels_running_clocks_and_keeps_stopped_outcomes(self) -> None:
        steps = case(("reviewed", 30), ("accepted", 35), ("withdrawn", 50))
        result = evaluated(steps)
        assert state(result.clocks["review"]) == ("met", t(30))
        assignment = result.clocks["assignment"]
        assert (assignment.state, assignment.stopped_at, assignment.decision_time) == (
            "cancelled", t(50), None)
        assert (result.outcome, result.finished_at) == (None, None)

    def test_withdrawal_closes_an_overdue_clock_as_breached(self) -> None:
        steps = case(("onsite_requested", 0), ("withdrawn", 75))
        result = evaluated(steps)
        assert state(result.clocks["review"]) == ("breached", t(60))
        assert state(result.clocks["onsite"]) == ("breached", t(60))
        assert result.outcome is None

    def test_a_refusal_within_the_hour_finishes_the_case_as_achieved(self) -> None:
        steps = case(("onsite_requested", 0), ("reviewed", 45, {"decision": "refused"}))
        result = evaluated(steps)
        assert {n: c.state for n, c in result.clocks.items()} == {"onsite": "cancelled", "review": "met"}
        assert (result.outcome, result.finished_at) == ("achieved", t(45))

    def test_a_late_refusal_finishes_the_case_as_missed(self) -> None:
        result = evaluated(case(("reviewed", 75, {"decision": "refused"})))
        assert state(result.clocks["review"]) == ("breached", t(75))
        assert (result.outcome, result.finished_at) == ("missed", t(75))

    def test_a_refusal_after_a_slow_journey_is_missed(self) -> None:
        steps = case(("arrived", 90, {"travel_minutes": 80}), ("reviewed", 100, {"decision": "refused"}),
                     channel="hotline")
        assert evaluated(steps).outcome == "missed"


# --- the case outcome ---------------------------------------------------------------------------------

class TestCaseOutcome:
    def test_every_clock_met_achieves_six_hours_when_the_follow_up_stops(self) -> None:
        result = evaluated(CaseBuilder().happy_path())
        assert {c.state for c in result.clocks.values()} == {"met"}
        assert list(result.clocks) == ["review", "assignment", "first_meeting", "follow_up"]
        assert (result.outcome, result.finished_at) == ("achieved", t(140))

    def test_cancelled_clocks_count_nowhere(self) -> None:
        steps = case(("onsite_requested", 0), ("arrived", 20, {"travel_minutes": 20}),
                     *MET_UNTIL_CLOSED, ("documents_reviewed", 130), ("follow_up_call", 140))
        result = evaluated(steps)
        assert result.clocks["onsite"].state == "cancelled"
        assert result.outcome == "achieved"

    def test_one_breached_clock_misses_six_hours(self) -> None:
        steps = case(("reviewed", 30), ("accepted", 35), ("assigned", 95), ("first_meeting", 100),
                     ("closed", 120), ("documents_reviewed", 130), ("follow_up_call", 140))
        assert (evaluated(steps).outcome, evaluated(steps).finished_at) == ("missed", t(140))

    def test_an_unfinished_case_has_no_outcome(self) -> None:
        result = evaluated(case(*MET_UNTIL_CLOSED))
        assert (result.outcome, result.finished_at) == (None, None)


# --- corrections and visibility ------------------------------------------------------------------------

class TestCorrections:
    def meeting_case(self) -> tuple[CaseBuilder, list[Step]]:
        b = CaseBuilder()
        steps = [b.received(0), *(b.step(k, m) for k, m in ASSIGNED), b.step("first_meeting", 110)]
        return b, steps

    def test_a_correction_turns_a_breach_into_a_met_meeting(self) -> None:
        b, steps = self.meeting_case()
        assert clock(steps, "first_meeting").state == "breached"
        fixed = [*steps, b.correction(steps[-1], 90, 500)]
        assert state(clock(fixed, "first_meeting")) == ("met", t(90))

    def test_the_latest_occurred_at_wins_whatever_the_recorded_at(self) -> None:
        b, steps = self.meeting_case()
        newest = b.correction(steps[-1], 90, 500, recorded_at=500)
        older_but_recorded_later = b.correction(steps[-1], 120, 450, recorded_at=550)
        for order in ([newest, older_but_recorded_later], [older_but_recorded_later, newest]):
            assert state(clock([*steps, *order], "first_meeting")) == ("met", t(90))

    def test_at_equal_occurred_at_the_latest_recorded_at_wins(self) -> None:
        b, steps = self.meeting_case()
        first = b.correction(steps[-1], 90, 500, recorded_at=500)
        second = b.correction(steps[-1], 120, 500, recorded_at=510)
        assert state(clock([*steps, second, first], "first_meeting")) == ("breached", t(120))

    def test_a_correction_applies_whenever_its_target_is_visible(self) -> None:
        b, steps = self.meeting_case()
        fixed = [*steps, b.correction(steps[-1], 90, 500)]
        assert state(clock(fixed, "first_meeting", as_of=95)) == ("met", t(90))

    def test_a_target_moved_after_the_evaluation_time_is_not_visible(self) -> None:
        b, steps = self.meeting_case()
        steps[-1] = b.step("first_meeting", 90)
        moved = [*steps, b.correction(steps[-1], 99, 500)]
        assert clock(moved, "first_meeting", as_of=95).state == "running"


class TestVisibility:
    def test_events_after_the_evaluation_time_are_ignored(self) -> None:
        steps = case(("reviewed", 70))
        assert state(clock(steps, "review", as_of=50)) == ("running", None)
        assert "assignment" not in evaluated(steps, as_of=50).clocks

    def test_an_event_at_the_evaluation_time_is_seen(self) -> None:
        assert state(clock(case(("reviewed", 70)), "review", as_of=70)) == ("breached", t(70))


# --- policies: area targets, statutory days ------------------------------------------------------------

URBAN_30 = policy_from_mapping({
    "name": "six-hours-urban30", "finish_clock": "follow_up",
    "clocks": {name: {"minutes": 60, "by_area": {"urban": 30}} for name in CLOCKS},
}, None)


class TestAreaTargets:
    def test_an_urban_case_has_30_minutes(self) -> None:
        review = clock(case(("reviewed", 40)), "review", policy=URBAN_30, default_area="urban")
        assert (review.state, review.due_at) == ("breached", t(30))

    def test_a_rural_service_point_keeps_60_minutes(self) -> None:
        assert clock(case(("reviewed", 40)), "review", policy=URBAN_30,
                     default_area="rural").state == "met"

    def test_the_cases_own_area_overrides_its_service_points(self) -> None:
        steps = case(("reviewed", 40), area="rural")
        assert clock(steps, "review", policy=URBAN_30, default_area="urban").state == "met"

    def test_reach_uses_the_area_target_too(self) -> None:
        steps = case(("arrived", 90, {"travel_minutes": 40}), channel="hotline")
        assert clock(steps, "reach", policy=URBAN_30).state == "breached"
        assert clock(steps, "reach").state == "met"


def local(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
          year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


class TestStatutory:
    policy = statutory_policy(WorkCalendar())

    def review(self, received: datetime, reviewed: datetime | None = None,
               *pause: datetime, channel: str = "walk_in") -> ClockState:
        b = CaseBuilder(channel=channel)
        steps = [b.received(received)]
        if channel == "hotline":
            steps.append(b.step("arrived", received + timedelta(days=1)))
        for kind, when in zip(("materials_requested", "materials_received"), pause, strict=False):
            steps.append(b.step(kind, when))
        if reviewed is not None:
            steps.append(b.step("reviewed", reviewed))
        return clock(steps, "review", as_of=reviewed or received, policy=self.policy)

    @pytest.mark.parametrize(("reviewed", "expected"), [
        (local(3, 9, 23, 59, 59), "met"), (local(3, 10), "met"), (local(3, 10, 0, 0, 1), "breached"),
    ])
    def test_review_within_seven_days_ends_at_24_00_local_of_the_last_day(
            self, reviewed: datetime, expected: str) -> None:
        review = self.review(local(3, 2, 9), reviewed)
        assert (review.due_at, review.state) == (local(3, 10), expected)

    def test_the_starting_day_is_not_counted_even_just_before_midnight(self) -> None:
        assert self.review(local(3, 2, 23, 59)).due_at == local(3, 10)

    def test_a_last_day_on_a_weekend_moves_to_the_next_working_day(self) -> None:
        assert self.review(local(3, 7, 10)).due_at == local(3, 17)  # Sat 14 -> Mon 16

    def test_a_last_day_in_a_public_holiday_moves_past_it(self) -> None:
        assert self.review(local(4, 24, 10)).due_at == local(5, 7)  # 1–5 May off -> Wed 6

    def test_a_make_up_working_day_is_a_working_day(self) -> None:
        assert self.review(local(5, 2, 10)).due_at == local(5, 10)  # Sat 9 May is worked

    @pytest.mark.parametrize(("as_of", "warning"), [
        (local(3, 6, 4, 29), None), (local(3, 6, 4, 30), 0.5), (local(3, 8, 2, 15), 0.75),
    ])
    def test_warnings_are_shares_of_the_time_from_start_to_deadline(
            self, as_of: datetime, warning: float | None) -> None:
        steps = [CaseBuilder().received(local(3, 2, 9))]  # deadline 3-10 00:00: 183 hours
        review = clock(steps, "review", as_of=as_of, policy=self.policy)
        assert (review.state, review.warning) == ("running", warning)

    def test_hotline_reviews_start_at_the_application_by_law(self) -> None:
        review = self.review(local(3, 2, 9), local(3, 9, 12), channel="hotline")
        assert (review.started_at, review.due_at) == (local(3, 2, 9), local(3, 10))

    def test_a_pause_for_materials_moves_the_deadline(self) -> None:
        review = self.review(local(3, 2, 9), local(3, 11, 12), local(3, 3, 9), local(3, 5, 9))
        assert (review.state, review.due_at) == ("met", local(3, 12))
        assert self.review(local(3, 2, 9), local(3, 11, 12)).state == "breached"

    def test_assignment_three_days_and_the_case_finishes_at_the_first_meeting(self) -> None:
        b = CaseBuilder()
        steps = [b.received(local(3, 2, 9)), b.step("reviewed", local(3, 4, 10)),
                 b.step("accepted", local(3, 4, 11)), b.step("assigned", local(3, 9, 18)),
                 b.step("first_meeting", local(3, 16, 9))]
        result = evaluated(steps, as_of=local(3, 31), policy=self.policy)
        assert list(result.clocks) == ["review", "assignment", "first_meeting"]
        assert result.clocks["assignment"].due_at == local(3, 10)  # Sat 7 -> Mon 9
        assert result.clocks["first_meeting"].due_at == local(3, 17)  # Sat 14 -> Mon 16
        assert {c.state for c in result.clocks.values()} == {"met"}
        assert (result.outcome, result.finished_at) == ("achieved", local(3, 16, 9))

    def test_a_year_the_calendar_does_not_know_is_an_error_naming_it(self) -> None:
        with pytest.raises(CalendarYearUnknown) as info:
            self.review(local(3, 1, 9, year=2027))
        assert info.value.year == 2027 and "2027" in str(info.value)


# --- the worked examples ------------------------------------------------------------------------------

def example_cases() -> dict[str, list[Step]]:
    cases: dict[str, list[Step]] = defaultdict(list)
    lines = (EXAMPLES / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        raw = json.loads(line)
        step = parse_event(raw, default_recorded_at=datetime.fromisoformat(raw["occurred_at"]),
                           seq=number)
        cases[step.case_id].append(step)
    return cases


EXPECTED = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@pytest.mark.parametrize("case_id", sorted(EXPECTED["cases"]))
def test_the_worked_examples_give_the_expected_clocks_and_outcomes(case_id: str) -> None:
    expected = EXPECTED["cases"][case_id]
    steps = example_cases()[case_id]
    areas = {p["id"]: p["area"] for p in yaml.safe_load((EXAMPLES / "network.yaml").read_text("utf-8"))}
    area = areas[steps[0].data["service_point"]]
    as_of = datetime.fromisoformat(EXPECTED["as_of"])
    result = evaluate(case_id, steps, SIX_HOURS, as_of, SHANGHAI, area)
    got = {name: (c.state, c.decision_time) for name, c in result.clocks.items()}
    want = {name: (c["state"], instant(c["decision_time"])) for name, c in expected["clocks"].items()}
    assert got == want, expected["title"]
    case_outcome = expected["case"]
    if case_outcome is None:
        assert result.outcome is None
    else:
        assert (result.outcome, result.finished_at) == (case_outcome["outcome"],
                                                        instant(case_outcome["decision_time"]))
