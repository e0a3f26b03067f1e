"""Logins, sessions and scopes of the web pages, on SQLite and PostgreSQL.

Given the staff accounts of a 隆阳区 township, a 腾冲 township, the 隆阳区 supervisor and an
auditor: a wrong password signs nobody in; a form posted without this session's CSRF token, or
from another site, is refused and stores nothing; a clerk cannot open or write to another
township's case; applicant data shows only with the grant, and every such read is logged; a
logged-out session cannot be replayed.
"""

from __future__ import annotations

from projections.accounts import list_accounts
from projections.admin_log import audit_log
from projections.personal_data_reads import reads_of
from tests.web.conftest import PASSWORD, Pages, hidden, problem_code


def test_a_wrong_password_signs_nobody_in_and_a_right_one_opens_the_role_page(
        pages: Pages) -> None:
    wrong = pages.login("clerk-yc", "not the password")
    assert wrong.status_code == 401 and 'id="login-failed"' in wrong.text
    unknown = pages.login("nobody-here")
    assert unknown.status_code == 401 and "sixhours_session" not in unknown.cookies
    # A login form whose nonce is not the one its cookie carries (posted from elsewhere).
    pages.client.cookies.clear()
    forged = pages.client.post("/web/login", data={"nonce": "x", "subject": "clerk-yc",
                                                   "password": PASSWORD})
    assert forged.status_code == 401
    signed = pages.login("clerk-yc")
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert pages.client.get("/web/").url.path == "/web/cases"
    assert pages.login("sup-ly").status_code == 303
    assert pages.client.get("/web/").url.path == "/web/watch"
    assert pages.login("auditor-1").status_code == 303
    assert pages.client.get("/web/").url.path == "/web/audit"


def test_the_accounts_are_stored_hashed_and_their_creation_is_in_the_admin_log(
        pages: Pages) -> None:
    engine = pages.container.engine
    assert {a.subject for a in list_accounts(engine)} >= {"clerk-yc", "sup-ly", "auditor-1"}
    with engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT password FROM sixhours_accounts")]
    assert all(p.startswith("scrypt$") and PASSWORD not in p for p in stored)
    added = [e for e in audit_log(engine) if e["action"] == "account_added"]
    assert {e["target"] for e in added} >= {"clerk-yc", "auditor-1"}
    assert next(e for e in added if e["target"] == "clerk-tyz")["detail"] == {
        "role": "clerk", "service_point": "tc-tyz", "pii": False}


def test_forms_without_this_sessions_csrf_token_or_from_another_site_are_refused(
        pages: Pages) -> None:
    pages.login("clerk-yc")
    case_id = pages.register()
    before = pages.stored(case_id)
    missing = pages.step(case_id, "reviewed", csrf="", decision="granted")
    assert missing.status_code == 403 and problem_code(missing.text) == "csrf_failed"
    other_token = pages.csrf()
    pages.login("clerk-yc")  # a new session: the old session's token is no longer good
    stale = pages.step(case_id, "reviewed", csrf=other_token, decision="granted")
    assert stale.status_code == 403 and problem_code(stale.text) == "csrf_failed"
    elsewhere = pages.step(case_id, "reviewed", decision="granted",
                           headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403 and problem_code(elsewhere.text) == "csrf_failed"
    registration = pages.client.get("/web/cases/new")
    no_token = pages.client.post("/web/cases/new", data={
        "event_id": hidden(registration.text, "event_id"), "data.service_point": "ly-yc",
        "data.channel": "walk_in", "data.category": "civil"})
    assert no_token.status_code == 403
    assert pages.stored(case_id) == before
    same_site = pages.step(case_id, "reviewed", decision="granted",
                           headers={"Origin": "http://testserver"})
    assert same_site.status_code == 303
    assert pages.stored(case_id) == [*before, "reviewed"]


def test_a_clerk_cannot_open_or_write_to_another_townships_case(pages: Pages) -> None:
    pages.login("clerk-yc")
    case_id = pages.register()
    pages.login("clerk-tyz")
    opened = pages.client.get(f"/web/cases/{case_id}")
    assert opened.status_code == 404 and problem_code(opened.text) == "case_not_found"
    assert case_id not in pages.client.get("/web/cases").text
    written = pages.step(case_id, "reviewed", csrf=pages.csrf(), decision="granted")
    assert written.status_code == 403 and problem_code(written.text) == "case_out_of_scope"
    registration = pages.client.get("/web/cases/new")
    assert 'value="ly-yc"' not in registration.text  # only the clerk's own subtree is offered
    outside = pages.client.post("/web/cases/new", data={
        "csrf": hidden(registration.text, "csrf"),
        "event_id": hidden(registration.text, "event_id"), "case_id": "TYZ-OUTSIDE-1",
        "data.service_point": "ly-yc", "data.channel": "walk_in", "data.category": "civil"})
    assert outside.status_code == 403 and problem_code(outside.text) == "case_out_of_scope"
    assert pages.stored(case_id) == ["application_received"]
    assert pages.stored("TYZ-OUTSIDE-1") == []


def test_applicant_data_shows_only_with_the_grant_and_each_read_is_logged(pages: Pages) -> None:
    pages.login("clerk-yc")
    case_id = pages.register(**{"data.applicant.name": "张小明", "data.applicant.phone": "13812345678"})
    plain = pages.client.get(f"/web/cases/{case_id}")
    assert "张小明" not in plain.text and "?personal_data=true" in plain.text
    assert reads_of(pages.container.engine, case_id) == []
    shown = pages.client.get(f"/web/cases/{case_id}?personal_data=true")
    assert shown.status_code == 200 and "张小明" in shown.text and "13812345678" in shown.text
    reads = reads_of(pages.container.engine, case_id)
    assert [(r.subject, r.what) for r in reads] == [("clerk-yc", "case")]
    pages.login("clerk-yc-plain")
    refused = pages.client.get(f"/web/cases/{case_id}?personal_data=true")
    assert refused.status_code == 403 and "张小明" not in refused.text
    assert problem_code(refused.text) == "personal_data_not_granted"
    assert "?personal_data=true" not in pages.client.get(f"/web/cases/{case_id}").text


def test_a_logged_out_session_cannot_be_replayed(pages: Pages) -> None:
    pages.login("clerk-yc")
    session = pages.client.cookies.get("sixhours_session")
    assert session is not None
    csrf = pages.csrf()
    assert pages.client.post("/web/logout", data={}, follow_redirects=False).status_code == 403
    out = pages.client.post("/web/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/web/login"
    pages.client.cookies.set("sixhours_session", session)
    replayed = pages.client.get("/web/cases", follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/web/login?next=")


def test_the_way_back_after_login_stays_on_these_pages(pages: Pages) -> None:
    pages.client.cookies.clear()
    form = pages.client.get("/web/login?next=https://evil.example/steal")
    assert hidden(form.text, "next") == "/web/"
    answer = pages.client.post("/web/login", data={
        "nonce": hidden(form.text, "nonce"), "next": "//evil.example/", "subject": "clerk-yc",
        "password": PASSWORD}, follow_redirects=False)
    assert answer.headers["location"] == "/web/"


def test_the_language_switch_turns_the_pages_to_english_and_back(pages: Pages) -> None:
    pages.login("clerk-yc")
    assert "本服务点在办案件" in pages.client.get("/web/cases").text
    english = pages.client.get("/web/language?to=en&next=/web/cases")
    assert english.url.path == "/web/cases" and "Open cases of my service point" in english.text
    assert '<html lang="en">' in english.text
    chinese = pages.client.get("/web/language?to=zh&next=/web/cases")
    assert '<html lang="zh-CN">' in chinese.text
