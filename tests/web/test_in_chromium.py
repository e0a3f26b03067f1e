"""Issue 7 acceptance: the pages in headless Chromium against `sixhours serve` on loopback.

Given the example network, staff accounts made with `sixhours users add`, and cases recorded
through the HTTP API:
- a clerk logs in, registers an application, records its steps through closure and follow-up
  (one refused on the way, with the rule's message) and sees the clocks change;
- a clerk of another township cannot open that case;
- a supervisor sees the overdue and warning steps of the county, latest first, and acknowledges
  the overdue one: a silence in the real Alertmanager;
- an auditor opens the timeline of a case with a pause, a correction and a breach, and switches
  between "as happened" and "as known at" before the correction.
Each page is photographed into tests/output/screenshots/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from sixhours.bootstrap import build, utc_now
from sixhours.settings import Settings
from tests.api.conftest import install_network
from tests.monitors.servers import Alertmanager, http_json, require_binary, wait_for
from tests.web.browser import Seeder, Server, chrome, require_browser, screenshot, until
from tests.web.conftest import PASSWORD, add_accounts

AM_CONFIG = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}


@dataclass
class Site:
    server: Server
    seed: Seeder
    alertmanager: Alertmanager | None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    folder = tmp_path_factory.mktemp("web")
    env = {"SIXHOURS_DATABASE_URL": f"sqlite:///{folder / 'store.sqlite'}",
           "SIXHOURS_DEV_MODE": "1", "SIXHOURS_LANG": "zh",
           "SIXHOURS_MONITOR_INTERVAL_SECONDS": "1"}
    am = None
    if shutil.which("prometheus-alertmanager"):
        am = Alertmanager(folder / "am", AM_CONFIG)
        am.start()
        env["SIXHOURS_ALERTMANAGER_URL"] = am.url
    settings = Settings(database_url=env["SIXHOURS_DATABASE_URL"], dev_mode=True)
    container = build(settings)
    install_network(container)
    container.close()
    add_accounts(env)
    server = Server(env, folder / "serve.log")
    try:
        server.start()
        yield Site(server, Seeder(server.url, settings), am)
    finally:
        server.stop()
        if am is not None:
            am.stop()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    driver = chrome()
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser: Any, site: Site, subject: str) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{site.server.url}/web/")
    until(browser, lambda b: b.find_elements(By.ID, "login-button"), "the login form")
    browser.find_element(By.ID, "subject").send_keys(subject)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-button").click()
    until(browser, lambda b: b.find_elements(By.ID, "who-subject"), "the first page")


def clock_state(browser: Any, clock: str, where: str = "#clocks") -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.CSS_SELECTOR, f"{where} [data-clock='{clock}']")
               .get_attribute("data-state"))


def record(browser: Any, kind: str, choose: dict[str, str] | None = None,
           type_in: dict[str, str] | None = None) -> None:
    """Open the step's form on the case page, fill it in, send it, wait for the next page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select

    details = browser.find_element(By.ID, f"step-{kind}")
    if details.get_attribute("open") is None:  # opened from the keyboard, as without a mouse
        details.find_element(By.TAG_NAME, "summary").send_keys(Keys.ENTER)
        until(browser, lambda _: details.get_attribute("open") is not None, f"{kind}'s form")
    for name, value in (choose or {}).items():
        Select(browser.find_element(By.ID, f"{kind}-{name}")).select_by_value(value)
    for name, value in (type_in or {}).items():
        browser.find_element(By.ID, f"{kind}-{name}").send_keys(value)
    button = details.find_element(By.CSS_SELECTOR, "button[type=submit]")
    button.click()
    until(browser, expected_conditions.staleness_of(button), f"the page after {kind}")


def test_a_clerk_registers_records_to_the_follow_up_and_sees_the_clocks_change(
        site: Site, browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    browser.delete_all_cookies()
    browser.get(f"{site.server.url}/web/cases")
    until(browser, lambda b: b.find_elements(By.ID, "login-button"), "the login form")
    screenshot(browser, "01-login")
    # The login by keyboard alone: the staff id field has the focus, Tab, Enter.
    ActionChains(browser).send_keys("clerk-yc", Keys.TAB, PASSWORD, Keys.ENTER).perform()
    until(browser, lambda b: b.find_elements(By.ID, "who-subject"), "the first page")
    assert browser.current_url.endswith("/web/cases")
    browser.find_element(By.LINK_TEXT, "登记申请").click()
    until(browser, lambda b: b.find_elements(By.ID, "register-form"), "the registration form")
    Select(browser.find_element(By.ID, "application_received-channel")).select_by_value("walk_in")
    Select(browser.find_element(By.ID, "application_received-category")).select_by_value("civil")
    browser.find_element(By.CSS_SELECTOR, "input[name='data.groups'][value='elderly']").click()
    browser.find_element(By.ID, "application_received-applicant-name").send_keys("王小红")
    screenshot(browser, "02-clerk-register")
    browser.find_element(By.ID, "register-button").click()
    until(browser, lambda b: b.find_elements(By.ID, "case-id"), "the new case's page")
    case_id = browser.find_element(By.ID, "case-id").text
    assert clock_state(browser, "review") == "running"
    assert "王小红" not in browser.page_source  # shown only when asked for, and logged
    screenshot(browser, "03-clerk-case-registered")

    # The work list shows it with its running clock once the figures have caught up.
    def listed(b: Any) -> bool:
        b.get(f"{site.server.url}/web/cases")
        return bool(b.find_elements(By.CSS_SELECTOR, f"tr[data-case='{case_id}'] .clock.ok"))
    until(browser, listed, "the case in the open-cases list", timeout=30)
    screenshot(browser, "04-clerk-open-cases")
    browser.find_element(By.LINK_TEXT, case_id).click()
    until(browser, lambda b: b.find_elements(By.ID, "case-id"), "the case page")

    record(browser, "reviewed", {"decision": "granted"})
    assert clock_state(browser, "review") == "met"
    assert clock_state(browser, "assignment") == "running"
    assert not browser.find_elements(By.ID, "step-reviewed")  # once only
    record(browser, "accepted")
    record(browser, "assigned", {"handler_kind": "lawyer"}, {"handler": "lawyer-07"})
    assert clock_state(browser, "assignment") == "met"
    assert clock_state(browser, "first_meeting") == "running"
    record(browser, "first_meeting", {"mode": "in_person"})
    record(browser, "closed", {"outcome": "favourable"})
    assert clock_state(browser, "follow_up") == "running"
    # A reached call needs the satisfaction: the rules refuse it, the page says which rule.
    record(browser, "follow_up_call", {"reached": "true"})
    assert browser.find_element(By.ID, "refusal-rule").text == "missing_field"
    assert "data.satisfaction" in browser.find_element(By.ID, "refusal").text
    screenshot(browser, "05-clerk-refusal")
    record(browser, "documents_reviewed")
    record(browser, "follow_up_call", {"reached": "true", "satisfaction": "satisfied"})
    assert clock_state(browser, "follow_up") == "met"
    assert browser.find_element(By.ID, "case-outcome").text == "六个一小时全部达标"
    assert {s for s in ("review", "assignment", "first_meeting", "follow_up")
            if clock_state(browser, s) != "met"} == set()
    screenshot(browser, "06-clerk-case-finished")
    # On a phone's width the page does not scroll sideways: only its wide tables do.
    browser.set_window_size(390, 844)
    try:
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(browser, "06b-clerk-case-phone")
    finally:
        browser.set_window_size(1280, 1400)


def test_a_clerk_cannot_open_another_townships_case(site: Site, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    site.seed.received("WEB-YC-SCOPE-1", "ly-yc", 5)
    log_in(browser, site, "clerk-tyz")
    browser.get(f"{site.server.url}/web/cases/WEB-YC-SCOPE-1")
    assert browser.find_element(By.ID, "problem-code").text == "case_not_found"
    assert not browser.find_elements(By.ID, "case-id")  # nothing of the case is shown
    screenshot(browser, "07-clerk-other-township-refused")


def test_a_supervisor_sees_the_late_steps_first_and_acknowledges_the_overdue_one(
        site: Site, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    require_binary("prometheus-alertmanager")
    am = site.alertmanager
    assert am is not None
    site.seed.received("WEB-OVERDUE-1", "ly-yc", 130)  # review due 70 minutes ago
    site.seed.received("WEB-WARNING-1", "ly-lj", 40)  # two thirds of its hour used
    site.seed.received("WEB-TC-OVERDUE-1", "tc-tyz", 200)  # another county's: not listed
    log_in(browser, site, "sup-ly")
    assert browser.current_url.endswith("/web/watch")

    def both_listed(b: Any) -> list[Any]:
        b.get(f"{site.server.url}/web/watch")
        rows = b.find_elements(By.CSS_SELECTOR, "#watch tbody tr")
        cases = [r.get_attribute("data-case") for r in rows]
        return rows if {"WEB-OVERDUE-1", "WEB-WARNING-1"} <= set(cases) else []
    rows = until(browser, both_listed, "both late steps on the watch list", timeout=30)
    cases = [r.get_attribute("data-case") for r in rows]
    assert "WEB-TC-OVERDUE-1" not in cases
    assert cases.index("WEB-OVERDUE-1") < cases.index("WEB-WARNING-1")  # latest first
    assert rows[cases.index("WEB-OVERDUE-1")].get_attribute("data-state") == "overdue"
    assert rows[cases.index("WEB-WARNING-1")].get_attribute("data-state") == "warning"
    assert browser.find_elements(By.ID, "today")  # today's figures for the county
    screenshot(browser, "08-supervisor-watch")

    wait_for(lambda: am.alerts(case_id="WEB-OVERDUE-1"), 30, "the overdue alert")
    row = rows[cases.index("WEB-OVERDUE-1")]
    row.find_element(By.CSS_SELECTOR, "input[name='comment']").send_keys("已电话联系承办人")
    row.find_element(By.CSS_SELECTOR, "form.ack button").click()
    until(browser, lambda b: b.find_elements(By.ID, "acknowledged"), "the acknowledgement")
    assert "WEB-OVERDUE-1" in browser.find_element(By.ID, "acknowledged").text
    screenshot(browser, "09-supervisor-acknowledged")
    silences = [s for s in http_json(f"{am.url}/api/v2/silences")
                if {m["name"]: m["value"] for m in s["matchers"]}.get("case_id") == "WEB-OVERDUE-1"]
    assert len(silences) == 1 and silences[0]["createdBy"] == "sup-ly"
    assert "已电话联系承办人" in silences[0]["comment"]
    wait_for(lambda: all(a["status"]["state"] == "suppressed"
                         for a in am.alerts(case_id="WEB-OVERDUE-1")), 30,
             "the acknowledged alert to be silenced")


def test_an_auditor_switches_a_corrected_breached_case_between_as_happened_and_as_known(
        site: Site, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    seed, case_id = site.seed, "WEB-AUDIT-1"
    seed.received(case_id, "ly-lj", 180, applicant={"name": "李四"})
    seed.step(case_id, "materials_requested", 170, items=["收入证明"])
    seed.step(case_id, "materials_received", 140)
    reviewed = seed.step(case_id, "reviewed", 100, decision="granted")  # 50 active min: met
    seed.step(case_id, "accepted", 60)
    seed.step(case_id, "assigned", 55, handler="lawyer-03", handler_kind="lawyer")
    # Stored later: the review really ended 30 minutes later, 80 active minutes: breached.
    seed.step(case_id, "corrected", 0, target_event_id=reviewed,
              occurred_at=(utc_now() - timedelta(minutes=70)).isoformat(),
              reason="审查时间记录有误")

    log_in(browser, site, "auditor-1")
    browser.find_element(By.ID, "audit-case-id").send_keys(case_id)
    browser.find_element(By.CSS_SELECTOR, "#main form button").click()
    until(browser, lambda b: b.find_elements(By.ID, "view-summary"), "the timeline")
    assert clock_state(browser, "review", "#audit-clocks") == "breached"
    moved = browser.find_element(By.ID, f"event-{reviewed}")
    assert "moved" in moved.get_attribute("class") and "原为" in moved.text
    assert "更正为" in moved.text  # the correction beside the event it moved
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.pause")
    screenshot(browser, "10-auditor-as-happened")

    knowledge = browser.find_elements(By.CSS_SELECTOR, "#knowledge a")
    assert len(knowledge) == 7
    knowledge[-2].click()  # what was known just before the correction was stored
    until(browser, lambda b: b.find_element(By.ID, "view-summary").get_attribute("data-view")
          == "known", "the as-known-at view")
    summary = browser.find_element(By.ID, "view-summary")
    assert summary.get_attribute("data-events-known") == "6"
    assert clock_state(browser, "review", "#audit-clocks") == "met"
    assert not browser.find_elements(By.CSS_SELECTOR, "#timeline tr.moved")
    screenshot(browser, "11-auditor-as-known")

    browser.find_element(By.ID, "view-happened").click()
    browser.find_element(By.ID, "show-view").click()
    until(browser, lambda b: b.find_element(By.ID, "view-summary").get_attribute("data-view")
          == "happened", "the as-happened view")
    assert clock_state(browser, "review", "#audit-clocks") == "breached"
    assert "李四" not in browser.page_source
    browser.find_element(By.PARTIAL_LINK_TEXT, "显示申请人信息").click()
    until(browser, lambda b: "李四" in b.page_source, "the applicant, with the grant")
    screenshot(browser, "12-auditor-personal-data")

