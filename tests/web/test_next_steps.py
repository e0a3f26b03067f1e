"""The step forms offer exactly the steps the rules allow now (SPEC §3 "allowed when").

Given a case at each stage of its life, when its page is drawn, then the steps offered are the
ones the SPEC table allows at that stage, and each field the rules read offers only the choices
they accept: who may arrive, where to transfer to, which event to correct.
"""

from __future__ import annotations

from api.pages.step_forms import StepForm, next_steps, offered_form
from domain.events import Step
from tests.unit.factory import CaseBuilder, example_network, t

NETWORK = example_network()
NOW = t(600)
BEFORE_REVIEW = {"onsite_requested", "arrived", "materials_requested", "reviewed",
                 "transferred", "withdrawn", "corrected"}


def offered(steps: list[Step]) -> dict[str, StepForm]:
    return {form.type: form for form in next_steps(steps[0].case_id, steps, NETWORK, NOW)}


def choices(form: StepForm, name: str) -> tuple[str, ...]:
    return next(f.choices for f in form.fields if f.name == name)


def test_a_new_walk_in_application_offers_the_steps_before_review() -> None:
    case = CaseBuilder()
    received = case.received(0)
    forms = offered([received])
    assert set(forms) == BEFORE_REVIEW
    assert choices(forms["arrived"], "who") == ("applicant",)  # staff need an on-site request
    # Anywhere known and not retired, but not where the case already is.
    assert set(choices(forms["transferred"], "to_service_point")) == {
        p for p, point in NETWORK.points.items() if not point.retired} - {"ly-yc"}
    assert choices(forms["corrected"], "target_event_id") == (received.event_id,)


def test_staff_may_arrive_once_on_site_service_was_requested() -> None:
    case = CaseBuilder()
    forms = offered([case.received(0), case.step("onsite_requested", 5)])
    assert choices(forms["arrived"], "who") == ("applicant", "staff")
    assert "onsite_requested" not in forms  # once


def test_while_paused_for_materials_the_review_waits() -> None:
    case = CaseBuilder()
    forms = offered([case.received(0), case.step("materials_requested", 10)])
    assert set(forms) == BEFORE_REVIEW - {"reviewed", "materials_requested"} | {
        "materials_received"}


def test_a_hotline_case_is_reviewed_only_after_an_arrival() -> None:
    case = CaseBuilder(channel="hotline")
    forms = offered([case.received(0)])
    assert "reviewed" not in forms and "materials_requested" not in forms
    arrived = offered([case.received(0), case.step("arrived", 20)])
    assert {"reviewed", "materials_requested"} <= set(arrived)


def test_the_happy_path_offers_the_next_step_at_each_stage() -> None:
    case = CaseBuilder()
    steps = case.happy_path("follow_up_call")
    expected = {
        "reviewed": {"transferred", "accepted", "corrected", "withdrawn"},
        "accepted": {"transferred", "assigned", "corrected", "withdrawn"},
        "assigned": {"assigned", "first_meeting", "corrected", "withdrawn"},
        "first_meeting": {"assigned", "closed", "corrected", "withdrawn"},
        "closed": {"documents_reviewed", "follow_up_call", "corrected"},
        "documents_reviewed": {"follow_up_call", "corrected"},
        "follow_up_call": {"corrected"},
    }
    for index, step in enumerate(steps[1:], start=2):
        assert set(offered(steps[:index])) == expected[step.type], step.type


def test_an_unreached_call_may_be_tried_again() -> None:
    case = CaseBuilder()
    steps = [*case.happy_path("closed"), case.step("follow_up_call", 150, reached=False)]
    assert "follow_up_call" in offered(steps)


def test_a_refused_case_may_only_be_transferred_or_corrected() -> None:
    case = CaseBuilder()
    assert set(offered([case.received(0), case.step("reviewed", 30, decision="refused")])) == {
        "transferred", "corrected"}


def test_nothing_follows_a_withdrawal() -> None:
    case = CaseBuilder()
    assert offered([case.received(0), case.step("withdrawn", 20)]) == {}


def test_a_new_case_is_offered_only_the_points_of_the_clerks_subtree_that_take_cases() -> None:
    form = offered_form("new", "application_received", [], NETWORK, NOW,
                        points=NETWORK.subtree("ly"))
    assert form is not None
    point = next(f for f in form.fields if f.name == "service_point")
    assert set(point.choices) == {"ly", "ly-yc", "ly-lj", "ly-yc-jx"}  # not the retired ly-old
