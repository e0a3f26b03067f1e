"""The alert model: one alert per clock and severity (and warning threshold), named by its labels.

Labels are what Alertmanager routes, groups, silences and de-duplicates on, so they hold only
bounded, non-personal values: the case id, the clock, the service point and its county, the due
time and the ids of the supervisors responsible (SPEC §2). The same labels always make the same
alert, in Alertmanager and in our outbox, so re-posting never duplicates one. Applicant data never
enters an alert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo

from domain.network import Network
from domain.policy import CLOCK_LABELS, Policy
from projections.due_clocks import DueClock
from projections.tables import from_us

SOURCE = "sixhours"
SEVERITIES = ("warning", "overdue")
ALERT_NAMES = {"warning": "SixHoursClockWarning", "overdue": "SixHoursClockOverdue"}


@dataclass(frozen=True)
class Alert:
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at_us: int

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def case_id(self) -> str:
        return self.labels["case_id"]

    @property
    def clock(self) -> str:
        return self.labels["clock"]

    @property
    def severity(self) -> str:
        return self.labels["severity"]


def fingerprint(labels: Mapping[str, str]) -> str:
    text = json.dumps(sorted(labels.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def percent(share: float) -> str:
    return f"{share * 100:g}%"


def clock_alert(due: DueClock, severity: str, share: float, policy: Policy, network: Network,
                tz: tzinfo, now_us: int) -> Alert:
    """The alert for a clock in warning (past `share` of its span) or overdue."""
    point = due.service_point or ""
    county = network.key_at_level(point, "county") if network.is_known(point) else point
    due_local = from_us(due.due_us).astimezone(tz).isoformat(timespec="seconds")
    labels = {
        "alertname": ALERT_NAMES[severity], "severity": severity, "source": SOURCE,
        "policy": policy.name, "case_id": due.case_id, "clock": due.clock,
        "service_point": point, "county": county, "due": due_local,
        "supervisors": ",".join(s.id for s in network.supervisors_of(point)),
    }
    labels = {k: v for k, v in labels.items() if v}  # Alertmanager drops empty labels anyway
    if severity == "warning":
        labels["threshold"] = percent(share)
        starts = due.threshold_at_us(policy, share, now_us)
    else:
        starts = due.due_us
    zh_clock, en_clock = CLOCK_LABELS.get(due.clock, (due.clock, due.clock))
    place = network.points[point].name if network.is_known(point) else point
    annotations = {"summary_zh": _summary_zh(due.case_id, zh_clock, severity, share, due_local),
                   "summary_en": _summary_en(due.case_id, en_clock, severity, share, due_local),
                   "service_point_name": place,
                   "started_at": from_us(due.started_us).astimezone(tz).isoformat(timespec="seconds")}
    if due.paused_before_due():
        annotations["paused"] = "true"  # waiting for materials: the due time moves with the pause
    return Alert(labels, annotations, min(starts, now_us))


def _summary_zh(case_id: str, clock: str, severity: str, share: float, due: str) -> str:
    if severity == "overdue":
        return f"案件 {case_id}「{clock}」已超时，应于 {due} 前完成"
    return f"案件 {case_id}「{clock}」已用时 {percent(share)}，请于 {due} 前完成"


def _summary_en(case_id: str, clock: str, severity: str, share: float, due: str) -> str:
    if severity == "overdue":
        return f"case {case_id}: {clock} is overdue (due {due})"
    return f"case {case_id}: {clock} has used {percent(share)} of its time (due {due})"


def desired_alerts(due_clocks: list[DueClock], policy: Policy, network: Network, tz: tzinfo,
                   now_us: int) -> dict[str, Alert]:
    """The alerts that should be firing now, by fingerprint."""
    wanted: dict[str, Alert] = {}
    for due in due_clocks:
        if due.clock not in policy.clocks:
            continue
        state, share = due.state(policy, now_us)
        if state == "running" or share is None:
            continue
        alert = clock_alert(due, state, share, policy, network, tz, now_us)
        wanted[alert.fingerprint] = alert
    return wanted
