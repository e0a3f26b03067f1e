"""Which step may follow which (SPEC §3 "allowed when"), one scenario group per row of the table.

Given the steps a case has recorded, when a new step is recorded, then it is accepted or refused
with the stable rule code, naming the case and the event, and a refusal changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.case import Case, check_history
from domain.errors import RuleViolation
from domain.events import Step
from tests.unit.factory import CASE_ID, CaseBuilder, example_network, iso, recorded_case

NETWORK = example_network()


def given(*kinds_at: tuple[str, float], **application: Any) -> tuple[Case, CaseBuilder]:
    """A case that recorded an application at minute 0 and then `(type, minute)` steps."""
    b = CaseBuilder(**application)
    steps = [b.received(0), *(b.step(kind, when) for kind, when in kinds_at)]
    return recorded_case(steps, NETWORK), b


def accept(case: Case, step: Step, **options: bool) -> None:
    before = len(case.history)
    case.record(step, **options)
    assert len(case.history) == before + 1 and case.history[-1].event_id == step.event_id


def refuse(case: Case, step: Step, code: str, *, names_event: bool = True, **options: bool
           ) -> RuleViolation:
    """Recording `step` is refused with `code`; the case is left exactly as it was."""
    history, pending, version = list(case.history), list(case.pending), case.version
    with pytest.raises(RuleViolation) as info:
        case.record(step, **options)
    err = info.value
    assert err.code == code, err.message("en")
    assert err.case_id == CASE_ID
    if names_event:
        assert err.event_id == step.event_id
    assert (case.history, case.pending, case.version) == (history, pending, version)
    return err


HAPPY = ("reviewed", 30), ("accepted", 35), ("assigned", 40), ("first_meeting", 60)
CLOSED = (*HAPPY, ("closed", 120))


# --- rank 0: application_received -- first event of a case, exactly once -------------------------

class TestApplicationReceived:
    def test_the_first_event_of_a_case_is_accepted(self) -> None:
        case = Case(CASE_ID, [], NETWORK)
        accept(case, CaseBuilder().received(0))

    def test_any_other_first_event_is_refused(self) -> None:
        case = Case(CASE_ID, [], NETWORK)
        refuse(case, CaseBuilder().step("reviewed", 10), "case_not_started")

    def test_a_second_application_is_refused(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.received(40), "application_not_first")

    def test_an_unknown_service_point_is_refused(self) -> None:
        case = Case(CASE_ID, [], NETWORK)
        err = refuse(case, CaseBuilder().received(0, service_point="nowhere"), "unknown_service_point")
        assert "nowhere" in err.message("en")

    def test_a_retired_service_point_takes_no_new_cases(self) -> None:
        case = Case(CASE_ID, [], NETWORK)
        refuse(case, CaseBuilder().received(0, service_point="ly-old"), "retired_service_point")

    def test_a_stored_case_at_a_since_retired_point_keeps_its_history(self) -> None:
        b = CaseBuilder(service_point="ly-old")
        stored = [b.received(0).with_seq(0)]
        case = Case(CASE_ID, stored, NETWORK)
        accept(case, b.step("reviewed", 30))


# --- rank 1: onsite_requested -- before reviewed, once --------------------------------------------

class TestOnsiteRequested:
    def test_accepted_before_the_review(self) -> None:
        case, b = given()
        accept(case, b.step("onsite_requested", 5))

    def test_refused_after_the_review(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.step("onsite_requested", 40), "after_review")

    def test_refused_a_second_time(self) -> None:
        case, b = given(("onsite_requested", 5))
        refuse(case, b.step("onsite_requested", 6), "already_recorded")


# --- rank 2: arrived -- before reviewed; who=staff needs an earlier onsite_requested -------------

class TestArrived:
    def test_the_applicant_may_arrive_before_the_review_and_more_than_once(self) -> None:
        case, b = given(channel="hotline")
        accept(case, b.step("arrived", 30, who="applicant", travel_minutes=20))
        accept(case, b.step("arrived", 35, who="applicant", travel_minutes=5))

    def test_refused_after_the_review(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.step("arrived", 40), "after_review")

    def test_staff_arrival_needs_an_onsite_request(self) -> None:
        case, b = given()
        refuse(case, b.step("arrived", 30, who="staff"), "needs_onsite_request")

    def test_staff_arrival_after_an_onsite_request(self) -> None:
        case, b = given(("onsite_requested", 0))
        accept(case, b.step("arrived", 50, who="staff"))


# --- rank 3 and 4: materials -- the review clock open and not paused; received needs a pause -------

class TestMaterials:
    def test_requested_while_a_walk_in_review_clock_runs(self) -> None:
        case, b = given()
        accept(case, b.step("materials_requested", 10, items=["身份证"]))

    def test_hotline_review_clock_is_not_open_before_the_arrival(self) -> None:
        case, b = given(channel="hotline")
        refuse(case, b.step("materials_requested", 10), "review_clock_not_open")

    def test_hotline_review_clock_opens_at_the_arrival(self) -> None:
        case, b = given(("arrived", 30), channel="outreach")
        accept(case, b.step("materials_requested", 40))

    def test_refused_after_the_review_stopped_the_clock(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.step("materials_requested", 40), "review_clock_not_open")

    def test_refused_while_already_paused(self) -> None:
        case, b = given(("materials_requested", 10))
        refuse(case, b.step("materials_requested", 20), "review_clock_paused")

    def test_received_ends_the_pause_and_a_second_pause_may_follow(self) -> None:
        case, b = given(("materials_requested", 10))
        accept(case, b.step("materials_received", 20))
        accept(case, b.step("materials_requested", 30))

    def test_received_without_a_pause_is_refused(self) -> None:
        case, b = given()
        refuse(case, b.step("materials_received", 20), "review_clock_not_paused")

    def test_received_twice_is_refused(self) -> None:
        case, b = given(("materials_requested", 10), ("materials_received", 20))
        refuse(case, b.step("materials_received", 25), "review_clock_not_paused")


# --- rank 5: reviewed -- once; not while paused; hotline/outreach need an earlier arrived ---------

class TestReviewed:
    def test_a_walk_in_case_is_reviewed_without_an_arrival(self) -> None:
        case, b = given()
        accept(case, b.step("reviewed", 30))

    def test_refused_a_second_time(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.step("reviewed", 40, decision="refused"), "already_recorded")

    def test_refused_while_paused_for_materials(self) -> None:
        case, b = given(("materials_requested", 10))
        refuse(case, b.step("reviewed", 30), "review_clock_paused")

    @pytest.mark.parametrize("channel", ["hotline", "outreach"])
    def test_hotline_and_outreach_need_an_arrival(self, channel: str) -> None:
        case, b = given(channel=channel)
        refuse(case, b.step("reviewed", 30), "needs_arrival")
        accept(case, b.step("arrived", 40))
        accept(case, b.step("reviewed", 50))

    def test_a_staff_visit_counts_as_the_arrival(self) -> None:
        case, b = given(("onsite_requested", 0), ("arrived", 40), channel="hotline")
        accept(case, b.step("reviewed", 50))


# --- rank 6: transferred -- before assigned, to a known, active, other point -----------------------

class TestTransferred:
    def test_accepted_before_assignment_and_moves_the_case(self) -> None:
        case, b = given(("reviewed", 30))
        accept(case, b.step("transferred", 32, to_service_point="tc"))
        refuse(case, b.step("transferred", 33, to_service_point="tc"), "same_service_point")
        accept(case, b.step("transferred", 34, to_service_point="ly-yc"))

    def test_refused_to_the_current_point(self) -> None:
        case, b = given()
        refuse(case, b.step("transferred", 10, to_service_point="ly-yc"), "same_service_point")

    def test_refused_after_assignment(self) -> None:
        case, b = given(*HAPPY[:3])
        refuse(case, b.step("transferred", 45), "after_assignment")

    @pytest.mark.parametrize(("point", "code"), [("nowhere", "unknown_service_point"),
                                                 ("ly-old", "retired_service_point")])
    def test_refused_to_an_unknown_or_retired_point(self, point: str, code: str) -> None:
        case, b = given()
        refuse(case, b.step("transferred", 10, to_service_point=point), code)


# --- rank 7: accepted -- after a granting review, once ---------------------------------------------

class TestAccepted:
    def test_accepted_after_a_granting_review(self) -> None:
        case, b = given(("reviewed", 30))
        accept(case, b.step("accepted", 35))

    def test_refused_before_the_review(self) -> None:
        case, b = given()
        refuse(case, b.step("accepted", 35), "needs_granted_review")

    def test_refused_after_a_refusing_review(self) -> None:
        case, b = given()
        accept(case, b.step("reviewed", 30, decision="refused"))
        refuse(case, b.step("accepted", 35), "needs_granted_review")

    def test_refused_a_second_time(self) -> None:
        case, b = given(("reviewed", 30), ("accepted", 35))
        refuse(case, b.step("accepted", 36), "already_recorded")


# --- rank 8: assigned -- after accepted, before closed; may repeat ----------------------------------

class TestAssigned:
    def test_accepted_after_acceptance(self) -> None:
        case, b = given(("reviewed", 30), ("accepted", 35))
        accept(case, b.step("assigned", 40))

    def test_refused_before_acceptance(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.step("assigned", 40), "needs_acceptance")

    def test_reassignment_also_after_the_first_meeting(self) -> None:
        case, b = given(*HAPPY)
        accept(case, b.step("assigned", 70, handler="lawyer-02", handler_kind="aid_staff"))
        accept(case, b.step("assigned", 80, handler="lawyer-03"))

    def test_refused_after_closure(self) -> None:
        case, b = given(*CLOSED)
        refuse(case, b.step("assigned", 130), "case_closed")


# --- rank 9 and 10: first_meeting after assigned, closed after first_meeting; each once -------------

class TestFirstMeetingAndClosure:
    def test_first_meeting_after_assignment(self) -> None:
        case, b = given(*HAPPY[:3])
        accept(case, b.step("first_meeting", 60))

    def test_first_meeting_before_assignment_is_refused(self) -> None:
        case, b = given(*HAPPY[:2])
        refuse(case, b.step("first_meeting", 60), "needs_assignment")

    def test_a_second_first_meeting_is_refused(self) -> None:
        case, b = given(*HAPPY)
        refuse(case, b.step("first_meeting", 70), "already_recorded")

    def test_closure_after_the_first_meeting(self) -> None:
        case, b = given(*HAPPY)
        accept(case, b.step("closed", 120))

    def test_closure_before_the_first_meeting_is_refused(self) -> None:
        case, b = given(*HAPPY[:3])
        refuse(case, b.step("closed", 120), "needs_first_meeting")

    def test_a_second_closure_is_refused(self) -> None:
        case, b = given(*CLOSED)
        refuse(case, b.step("closed", 130), "already_recorded")


# --- rank 11 and 12: documents_reviewed once, follow_up_call after closed --------------------------

class TestAfterClosure:
    def test_documents_reviewed_after_closure(self) -> None:
        case, b = given(*CLOSED)
        accept(case, b.step("documents_reviewed", 130, grade="good"))

    def test_documents_reviewed_before_closure_is_refused(self) -> None:
        case, b = given(*HAPPY)
        refuse(case, b.step("documents_reviewed", 130), "needs_closure")

    def test_documents_reviewed_twice_is_refused(self) -> None:
        case, b = given(*CLOSED, ("documents_reviewed", 130))
        refuse(case, b.step("documents_reviewed", 131), "already_recorded")

    def test_follow_up_call_before_closure_is_refused(self) -> None:
        case, b = given(*HAPPY)
        refuse(case, b.step("follow_up_call", 130), "needs_closure")

    def test_unreached_calls_may_repeat_until_one_reaches_the_recipient(self) -> None:
        case, b = given(*CLOSED)
        accept(case, b.step("follow_up_call", 130, reached=False))
        accept(case, b.step("follow_up_call", 140, reached=False))
        accept(case, b.step("follow_up_call", 150, reached=True))

    @pytest.mark.parametrize("reached", [True, False])
    def test_no_call_after_a_reached_one(self, reached: bool) -> None:
        case, b = given(*CLOSED, ("follow_up_call", 130))
        refuse(case, b.step("follow_up_call", 140, reached=reached), "follow_up_already_reached")


# --- rank 13: withdrawn -- before closed, not after a refusing review; nothing may follow ----------

class TestWithdrawn:
    def test_accepted_before_closure(self) -> None:
        case, b = given(*HAPPY)
        accept(case, b.step("withdrawn", 90))

    def test_refused_after_closure(self) -> None:
        case, b = given(*CLOSED)
        refuse(case, b.step("withdrawn", 130), "case_closed")

    def test_refused_after_a_refusing_review(self) -> None:
        case, b = given()
        accept(case, b.step("reviewed", 30, decision="refused"))
        refuse(case, b.step("withdrawn", 40), "case_refused")

    @pytest.mark.parametrize("kind", ["reviewed", "withdrawn", "onsite_requested", "transferred"])
    def test_nothing_follows_a_withdrawal(self, kind: str) -> None:
        case, b = given(("withdrawn", 10))
        refuse(case, b.step(kind, 20), "case_withdrawn")

    def test_not_even_a_correction(self) -> None:
        case, b = given(("withdrawn", 10))
        refuse(case, b.correction(case.history[0], -5, 20), "case_withdrawn")


# --- rank 14: corrected ------------------------------------------------------------------------------

class TestCorrected:
    def test_a_correction_that_keeps_the_history_valid_is_accepted(self) -> None:
        case, b = given(("reviewed", 70))
        accept(case, b.correction(case.history[1], 50, 80))

    def test_the_target_must_be_an_event_of_the_case(self) -> None:
        case, b = given(("reviewed", 30))
        step = b.step("corrected", 40, target_event_id="OTHER-e1", occurred_at=iso(20))
        refuse(case, step, "correction_target_unknown")

    def test_the_target_must_not_be_a_correction(self) -> None:
        case, b = given(("reviewed", 70))
        first = b.correction(case.history[1], 50, 80)
        accept(case, first)
        refuse(case, b.correction(first, 75, 90), "correction_of_correction")

    @pytest.mark.parametrize("when", [20, 30])
    def test_the_target_must_have_occurred_before_the_correction(self, when: float) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.correction(case.history[1], 25, when), "correction_target_not_earlier")

    def test_a_correction_moving_the_review_before_the_application_is_refused(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.correction(case.history[1], -10, 40), "case_not_started", names_event=False)

    def test_a_correction_moving_materials_received_after_the_review_is_refused(self) -> None:
        case, b = given(("materials_requested", 10), ("materials_received", 20), ("reviewed", 30))
        refuse(case, b.correction(case.history[2], 35, 40), "review_clock_paused", names_event=False)


# --- the API's no-backdating rule -----------------------------------------------------------------

class TestNoBackdating:
    def test_an_event_before_the_latest_one_is_refused(self) -> None:
        case, b = given(("reviewed", 30))
        err = refuse(case, b.step("onsite_requested", 20), "before_latest_event", no_backdating=True)
        assert err.params["latest"] == case.history[-1].occurred_at.isoformat()

    def test_an_event_at_the_latest_instant_is_allowed(self) -> None:
        case, b = given(("reviewed", 30))
        accept(case, b.step("accepted", 30), no_backdating=True)

    def test_late_recording_is_fine(self) -> None:
        case, b = given(("reviewed", 30))
        accept(case, b.step("accepted", 35, recorded_at=300), no_backdating=True)

    def test_the_correction_itself_may_not_be_backdated_either(self) -> None:
        case, b = given(("reviewed", 70))
        refuse(case, b.correction(case.history[1], 50, 60), "before_latest_event", no_backdating=True)
        accept(case, b.correction(case.history[1], 50, 80), no_backdating=True)


# --- history as a whole ----------------------------------------------------------------------------

class TestHistory:
    def test_a_refused_step_changes_nothing_and_the_next_valid_step_is_accepted(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.step("first_meeting", 40), "needs_assignment")
        accept(case, b.step("accepted", 45))
        assert [s.type for s in case.collect_events()] == ["application_received", "reviewed",
                                                           "accepted"]

    def test_validation_proceeds_without_refused_events(self) -> None:
        case, b = given(channel="hotline")
        refuse(case, b.step("reviewed", 30), "needs_arrival")
        refuse(case, b.step("accepted", 35), "needs_granted_review")

    def test_a_backfilled_event_that_keeps_the_history_valid_is_accepted(self) -> None:
        case, b = given(("reviewed", 30), ("accepted", 35))
        accept(case, b.step("onsite_requested", 5))
        accept(case, b.step("arrived", 10, who="staff"))
        assert case.latest_occurred_at == case.history[2].occurred_at

    def test_a_backfilled_event_that_breaks_a_later_one_is_refused(self) -> None:
        case, b = given(("reviewed", 30))
        refuse(case, b.step("materials_requested", 10), "review_clock_paused", names_event=False)

    @pytest.mark.parametrize("kind", ["backfill", "correction"])
    def test_a_refused_backfill_or_correction_names_the_submitted_event(self, kind: str) -> None:
        case, b = given(("reviewed", 30))
        submitted = (b.step("materials_requested", 10) if kind == "backfill"
                     else b.correction(case.history[1], -10, 40))  # review before the application
        with pytest.raises(RuleViolation) as info:
            case.record(submitted)
        assert info.value.event_id == submitted.event_id

    def test_equal_instants_are_ordered_by_rank_not_by_file_order(self) -> None:
        b = CaseBuilder()
        received, reviewed = b.received(0), b.step("reviewed", 0)
        check_history([reviewed.with_seq(0), received.with_seq(1)], NETWORK)

    def test_an_event_recorded_later_at_an_equal_instant_slots_in_by_rank(self) -> None:
        case, b = given(("reviewed", 30))
        accept(case, b.step("onsite_requested", 30))  # rank 1 sorts before reviewed (rank 5)
        accept(case, b.step("arrived", 30))  # rank 2: still before the review
        # rank 3 also sorts before the review, which would then happen while paused
        refuse(case, b.step("materials_requested", 30), "review_clock_paused", names_event=False)
        accept(case, b.step("accepted", 30))  # rank 7: after it

    def test_an_import_validates_the_whole_history_whatever_the_file_order(self) -> None:
        b = CaseBuilder(channel="hotline")
        steps = [b.received(0), b.step("arrived", 20), b.step("reviewed", 30), b.step("accepted", 35)]
        rules = check_history([s.with_seq(i) for i, s in enumerate(reversed(steps))], NETWORK)
        assert rules.decision == "granted"

    def test_a_stored_history_is_trusted_and_new_steps_follow_it(self) -> None:
        b = CaseBuilder()
        stored = [s.with_seq(i) for i, s in enumerate(b.happy_path("first_meeting"))]
        case = Case(CASE_ID, stored, NETWORK)
        assert case.version == len(stored)
        accept(case, b.step("closed", 120))
        refuse(case, b.step("closed", 121), "already_recorded")


# --- messages --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "fragments"), [
    ("zh", ["案件 BS-2026-000045", "事件 BS-2026-000045-e2", "规则 needs_granted_review"]),
    ("en", ["case BS-2026-000045", "event BS-2026-000045-e2", "rule needs_granted_review"]),
])
def test_a_refusal_message_names_the_case_the_event_and_the_rule(lang: str, fragments: list[str]
                                                                 ) -> None:
    case, b = given()
    err = refuse(case, b.step("accepted", 10), "needs_granted_review")
    text = err.message(lang)
    assert all(fragment in text for fragment in fragments), text
