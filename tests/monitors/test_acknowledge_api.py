"""A supervisor acknowledges a case's alert through the API: a silence in the real Alertmanager.

Given an overdue case at a 隆阳区 workstation and its alert in Alertmanager, when a supervisor of
隆阳区 acknowledges it, then Alertmanager holds a silence for that case made by that supervisor
and the alert is suppressed; withdrawing the acknowledgement lets it notify again. A supervisor
of another county cannot see the case (404), a clerk may not acknowledge (403), and without an
Alertmanager the route says so (503).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.auth import Principal, Role
from monitors.alertmanager import AlertmanagerSink
from monitors.leader import leader_for
from monitors.passes import AlertMonitor
from projections.read_models import versions
from sixhours import workload
from sixhours.bootstrap import utc_now
from sixhours.monitoring import changed_cases
from sixhours.serve import build_app, keyring
from tests.monitors.scenario import Case, load_network, quick_policy_file, settings_env, store
from tests.monitors.servers import Alertmanager, wait_for

AM_CONFIG = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}


def _auth(container: Any, role: str, point: str | None, subject: str) -> dict[str, str]:
    token = keyring(container.settings).issue(Principal(subject, Role(role), point), 600)
    return {"Authorization": f"Bearer {token}"}


def test_a_supervisor_acknowledges_an_alert_as_a_silence(database_url: str, tmp_path: Path) -> None:
    am = Alertmanager(tmp_path / "am", AM_CONFIG)
    am.start()
    env = settings_env(database_url, quick_policy_file(tmp_path),
                       SIXHOURS_ALERTMANAGER_URL=am.url)
    try:
        with store(env) as c:
            c.settings.alertmanager_url = am.url
            load_network(c, workload.baoshan_network(1))
            case = Case(c, "ly-t01").received(ago=timedelta(seconds=13))
            c.catch_up()
            m = AlertMonitor(c.engine, c.engine, lambda: versions(c.engine).active, c.network,
                             c.policies["quick"], c.settings.tz, [AlertmanagerSink(am.url)],
                             leader_for(c.engine, "ack"), utc_now,
                             changed_cases(c.service.recorder))
            m.run_pass()
            m.close()
            alert = wait_for(lambda: am.alerts(case_id=case.case_id), 30, "the overdue alert")[0]
            assert alert["status"]["state"] == "active"
            with TestClient(build_app(c)) as client:
                body = {"case_id": case.case_id, "minutes": 30, "comment": "已电话联系承办人"}
                elsewhere = client.post("/alerts/acknowledgements", json=body,
                                        headers=_auth(c, "supervisor", "tc", "sup-tc-01"))
                assert elsewhere.status_code == 404
                clerk = client.post("/alerts/acknowledgements", json=body,
                                    headers=_auth(c, "clerk", "ly", "staff-1"))
                assert clerk.status_code == 403
                done = client.post("/alerts/acknowledgements", json=body,
                                   headers=_auth(c, "supervisor", "ly", "sup-ly-01"))
                assert done.status_code == 201, done.text
                answer = done.json()
                assert answer["created_by"] == "sup-ly-01" and answer["clock"] is None
                silence = am_silence(am, answer["silence_id"])
                assert silence["createdBy"] == "sup-ly-01" and "已电话联系承办人" in silence["comment"]
                assert {m["name"]: m["value"] for m in silence["matchers"]} == {
                    "source": "sixhours", "case_id": case.case_id}
                wait_for(lambda: am.alerts(case_id=case.case_id)[0]["status"]["state"]
                         == "suppressed", 30, "the alert to be silenced")

                gone = client.delete(f"/alerts/acknowledgements/{answer['silence_id']}",
                                     headers=_auth(c, "supervisor", "ly", "sup-ly-01"))
                assert gone.status_code == 204
                wait_for(lambda: am.alerts(case_id=case.case_id)[0]["status"]["state"]
                         == "active", 30, "the alert to notify again")
            c.settings.alertmanager_url = None
            with TestClient(build_app(c)) as client:
                missing = client.post("/alerts/acknowledgements", json=body,
                                      headers=_auth(c, "supervisor", "ly", "sup-ly-01"))
                assert missing.status_code == 503
                assert missing.json()["code"] == "alerting_not_configured"
    finally:
        am.stop()


def am_silence(am: Alertmanager, silence_id: str) -> dict[str, Any]:
    from tests.monitors.servers import http_json
    return dict(http_json(f"{am.url}/api/v2/silence/{silence_id}"))
