"""Every form field the rules constrain is refused on the server with the API's rule code.

Given a case registered at a 隆阳区 township, when a clerk posts a step form that a rule refuses
(a word for a number, a missing or unknown choice, a time that is no time or in the future or
before the case's last event, a step out of order), then the page answers 422, shows the form
again as filled with the rule's code and message, stores nothing, and the JSON API refuses the
same event with the same code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from api.auth import Principal, Role
from sixhours.bootstrap import utc_now
from sixhours.serve import keyring
from tests.web.conftest import Pages, hidden, refusal_rule

LATER = (utc_now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
LONG_AGO = "2020-01-01T09:00:00"

# kind, form fields (without "data."), the same event's data as JSON, its occurred_at, the rule
REFUSED: list[tuple[str, dict[str, str], dict[str, Any], str | None, str]] = [
    ("arrived", {"who": "applicant", "travel_minutes": "twelve"},
     {"who": "applicant", "travel_minutes": "twelve"}, None, "wrong_type"),
    ("arrived", {"who": "applicant"}, {"who": "applicant"}, None, "missing_field"),
    ("arrived", {"who": "applicant", "travel_minutes": "2000"},
     {"who": "applicant", "travel_minutes": 2000}, None, "invalid_value"),
    ("arrived", {"who": "staff"}, {"who": "staff"}, None, "needs_onsite_request"),
    ("reviewed", {"decision": ""}, {}, None, "missing_field"),
    ("reviewed", {"decision": "maybe"}, {"decision": "maybe"}, None, "invalid_value"),
    ("reviewed", {"decision": "refused"}, {"decision": "refused"}, None, "missing_field"),
    ("closed", {"outcome": "favourable"}, {"outcome": "favourable"}, None, "needs_first_meeting"),
    ("documents_reviewed", {}, {}, None, "needs_closure"),
    ("accepted", {}, {}, None, "needs_granted_review"),
    ("reviewed", {"decision": "granted", "occurred_at": "yesterday"}, {"decision": "granted"},
     "yesterday", "invalid_time"),
    ("reviewed", {"decision": "granted", "occurred_at": LATER}, {"decision": "granted"},
     LATER + "+08:00", "future_event"),
    ("reviewed", {"decision": "granted", "occurred_at": LONG_AGO}, {"decision": "granted"},
     LONG_AGO + "+08:00", "before_latest_event"),
    ("follow_up_call", {"reached": "yes"}, {"reached": "yes"}, None, "wrong_type"),
]


def _api_rule(pages: Pages, case_id: str, kind: str, data: dict[str, Any],
              occurred_at: str | None) -> str:
    token = keyring(pages.container.settings).issue(Principal("clerk-yc", Role.clerk, "ly-yc"), 600)
    raw = {"event_id": f"api-{kind}-probe", "case_id": case_id, "type": kind,
           "occurred_at": occurred_at or utc_now().isoformat(), "data": data}
    answer = pages.client.post("/steps", json=raw, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422, answer.text
    return str(answer.json()["rule"])


@pytest.mark.parametrize(("kind", "form", "data", "occurred_at", "rule"), REFUSED,
                         ids=[f"{r[0]}-{r[4]}" for r in REFUSED])
def test_a_refused_step_shows_the_rule_and_the_api_refuses_it_alike(
        pages: Pages, kind: str, form: dict[str, str], data: dict[str, Any],
        occurred_at: str | None, rule: str) -> None:
    pages.login("clerk-yc")
    case_id = pages.register()
    answer = pages.step(case_id, kind, **form)
    assert answer.status_code == 422, answer.text
    assert refusal_rule(answer.text) == rule
    assert f"（规则 {rule}）" in answer.text  # the rule's own message, in Chinese
    offered = f'id="step-{kind}"' in answer.text
    assert not offered or f'id="step-{kind}" open' in answer.text  # the form that was refused
    assert pages.stored(case_id) == ["application_received"]
    assert _api_rule(pages, case_id, kind, data, occurred_at) == rule


def test_a_refused_form_comes_back_as_it_was_filled(pages: Pages) -> None:
    pages.login("clerk-yc")
    case_id = pages.register()
    answer = pages.step(case_id, "arrived", who="applicant", travel_minutes="twelve")
    assert 'name="data.travel_minutes" inputmode="numeric" value="twelve"' in answer.text
    assert '<option value="applicant" selected>' in answer.text


@pytest.mark.parametrize(("fields", "rule"), [
    ({"case_id": "bad id!"}, "invalid_id"),
    ({"data.groups": "aliens"}, "invalid_value"),
    ({"data.channel": "pigeon"}, "invalid_value"),
    ({"data.category": ""}, "missing_field"),
    ({"data.service_point": "nowhere"}, "unknown_service_point"),
    ({"data.area": "moon"}, "invalid_value"),
])
def test_a_refused_registration_shows_the_rule(pages: Pages, fields: dict[str, str],
                                               rule: str) -> None:
    pages.login("clerk-yc")
    form = pages.client.get("/web/cases/new")
    data = {"csrf": hidden(form.text, "csrf"), "event_id": hidden(form.text, "event_id"),
            "data.service_point": "ly-yc", "data.channel": "walk_in", "data.category": "civil",
            **fields}
    answer = pages.client.post("/web/cases/new", data=data)
    assert answer.status_code == 422, answer.text
    assert refusal_rule(answer.text) == rule


def test_sending_a_form_twice_records_the_step_once(pages: Pages) -> None:
    pages.login("clerk-yc")
    registration = pages.client.get("/web/cases/new")
    form = {"csrf": hidden(registration.text, "csrf"),
            "event_id": hidden(registration.text, "event_id"), "data.service_point": "ly-yc",
            "data.channel": "walk_in", "data.category": "civil"}
    first = pages.client.post("/web/cases/new", data=form, follow_redirects=False)
    again = pages.client.post("/web/cases/new", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    case_id = first.headers["location"].split("/")[-1].split("?")[0]
    page = pages.client.get(f"/web/cases/{case_id}")
    form = {"csrf": hidden(page.text, "csrf"), "type": "reviewed", "event_id": "twice-1",
            "data.decision": "granted"}
    first = pages.client.post(f"/web/cases/{case_id}/steps", data=form, follow_redirects=False)
    again = pages.client.post(f"/web/cases/{case_id}/steps", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert pages.stored(case_id) == ["application_received", "reviewed"]
