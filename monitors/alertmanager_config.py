"""An Alertmanager configuration generated from the service network (SPEC §2).

Alertmanager does what it does well, configured from the network rather than by hand:
- routing by county, then to each responsible supervisor (the alert's `supervisors` label) by
  severity, over WeCom (`wechat_configs`, to the user id of a `wecom:` contact);
- quiet hours: warnings wait out the night (`time_intervals`), overdue alerts never do;
- escalation: an overdue alert still firing after a while goes to the county centre's
  supervisors, and later to the root's (bureau leadership) — Alertmanager's `group_wait` holds
  it back, and a resolved alert is never escalated;
- Prometheus's own alerts (objective, worker health) go to leadership;
- acknowledgement is a silence (our API creates them for supervisors).
Secrets are placeholders: fill them in from the bureau's WeCom application.
"""

from __future__ import annotations

import re
from typing import Any

from domain.network import Network, Supervisor

WECHAT_MESSAGE = '{{ template "sixhours.wechat.message" . }}'


def _receiver_name(supervisor_id: str) -> str:
    return f"sup-{supervisor_id}" if not supervisor_id.startswith("sup-") else supervisor_id


def _listed(supervisor_id: str) -> str:
    """A matcher for an id within the comma-separated `supervisors` label."""
    return f'supervisors=~"(.+,)?{re.escape(supervisor_id)}(,.+)?"'


def _receiver(name: str, people: tuple[Supervisor, ...], agent_id: str) -> dict[str, Any]:
    users = sorted({p.contact.removeprefix("wecom:") for p in people
                    if p.contact and p.contact.startswith("wecom:")})
    receiver: dict[str, Any] = {"name": name}
    if users:
        receiver["wechat_configs"] = [{"send_resolved": True, "agent_id": agent_id,
                                       "to_user": "|".join(users), "message": WECHAT_MESSAGE}]
    return receiver  # no WeCom contact: the route stays, for a receiver added by hand


def alertmanager_config(network: Network, *, timezone: str = "Asia/Shanghai",
                        quiet_hours: tuple[str, str] = ("20:00", "08:00"),
                        escalate_after: str = "30m", leadership_after: str = "2h",
                        agent_id: str = "CHANGE-ME-agent-id") -> dict[str, Any]:
    roots = [p for p in network.points.values() if p.parent is None]
    root = roots[0] if roots else None
    counties: dict[str, dict[str, Supervisor]] = {}
    for point in sorted(network.points.values(), key=lambda p: p.id):
        county = network.key_at_level(point.id, "county")
        for person in point.supervisors:
            counties.setdefault(county, {})[person.id] = person
    receivers = [{"name": "nobody"},
                 _receiver("leadership", root.supervisors if root else (), agent_id)]
    routes: list[dict[str, Any]] = [{
        "matchers": ['source="prometheus"'], "receiver": "leadership",
        "group_by": ["alertname", "severity"], "repeat_interval": "4h"}]
    seen: set[str] = set()
    for county, people in sorted(counties.items()):
        sub: list[dict[str, Any]] = []
        for person in sorted(people.values(), key=lambda p: p.id):
            name = _receiver_name(person.id)
            sub.append({"matchers": ['severity="warning"', _listed(person.id)], "receiver": name,
                        "mute_time_intervals": ["quiet-hours"], "continue": True})
            sub.append({"matchers": ['severity="overdue"', _listed(person.id)], "receiver": name,
                        "continue": True})
            if name not in seen:
                seen.add(name)
                receivers.append(_receiver(name, (person,), agent_id))
        centre = network.points.get(county)
        if centre is not None and centre.supervisors and centre.id != (root.id if root else None):
            escalation = f"escalation-{county}"
            receivers.append(_receiver(escalation, centre.supervisors, agent_id))
            sub.append({"matchers": ['severity="overdue"'], "receiver": escalation,
                        "group_wait": escalate_after, "continue": True})
        sub.append({"matchers": ['severity="overdue"'], "receiver": "leadership",
                    "group_wait": leadership_after})
        routes.append({"matchers": ['source="sixhours"', f'county="{county}"'], "routes": sub})
    start, end = quiet_hours
    return {
        "global": {"resolve_timeout": "5m",
                   "wechat_api_url": "https://qyapi.weixin.qq.com/cgi-bin/",
                   "wechat_api_corp_id": "CHANGE-ME-corp-id",
                   "wechat_api_secret": "CHANGE-ME-secret"},
        "templates": ["/etc/alertmanager/templates/*.tmpl"],
        "time_intervals": [{"name": "quiet-hours", "time_intervals": [{
            "times": [{"start_time": start, "end_time": "24:00"},
                      {"start_time": "00:00", "end_time": end}],
            "location": timezone}]}],
        "route": {"receiver": "nobody", "group_by": ["alertname", "case_id", "clock"],
                  "group_wait": "10s", "group_interval": "1m", "repeat_interval": "4h",
                  "routes": routes},
        # A warning is moot once the same clock is overdue.
        "inhibit_rules": [{"source_matchers": ['severity="overdue"', 'source="sixhours"'],
                           "target_matchers": ['severity="warning"', 'source="sixhours"'],
                           "equal": ["case_id", "clock"]}],
        "receivers": receivers,
    }
