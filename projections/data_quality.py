"""Data-quality signals: steps that look written down late, backdated to meet a deadline, fixed
in bulk, or never finished. Read from the per-case facts read model and the clock engine.

Per service point (grouped at a network level) and per clerk (the event's actor):

- recording lag: `recorded_at − occurred_at` of every step (corrections aside), in buckets;
- deadline heaping: of the met clocks that stopped in the last third of their target, the share
  in its last twelfth. Were stop times spread evenly there (the null hypothesis), a quarter would
  fall in it; the z-score says how far above chance the count is, and a signal is raised when it
  is far above (z ≥ 3 with at least 5 such stops) — steps "just inside" the deadline;
- correction clusters: corrections and the most written by one clerk (or at one point) within
  any 24 hours;
- withdrawals after a breach: withdrawn cases with a clock breached (or overdue) before;
- follow-up calls never reached: closed cases whose every call attempt went unanswered.

Figures name service points and staff ids only, never applicants.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, select

from domain.clocks import CaseEvaluation, evaluate
from domain.events import OrderedHistory, Step
from domain.policy import Policy
from projections.case_clocks import history_from_json
from projections.tables import CaseTables

LAG_BUCKETS = (300.0, 3600.0, 86_400.0)  # ≤5 min, ≤1 h, ≤1 day, longer
STOP_TYPES = {"onsite": ("arrived",), "review": ("reviewed",), "assignment": ("assigned",),
              "first_meeting": ("first_meeting",),
              "follow_up": ("documents_reviewed", "follow_up_call")}
WINDOW = (2 / 3, 1.0)  # the last third of the target, in four bins
Z_SIGNAL, MIN_STOPS = 3.0, 5
CLUSTER = timedelta(hours=24)
CLUSTER_SIGNAL = 5


@dataclass
class Lag:
    n: int = 0
    total_s: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def add(self, seconds: float) -> None:
        self.n += 1
        self.total_s += max(seconds, 0.0)
        self.buckets[bisect_right(LAG_BUCKETS, seconds)] += 1

    def as_json(self) -> dict[str, Any]:
        return {"steps": self.n, "mean_minutes": self.total_s / self.n / 60 if self.n else None,
                "share_over_1h": (self.buckets[2] + self.buckets[3]) / self.n if self.n else None,
                "buckets": dict(zip(("le_5min", "le_1h", "le_1d", "over_1d"), self.buckets,
                                    strict=True))}


@dataclass
class Heaping:
    bins: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def add(self, share: float) -> None:
        if WINDOW[0] <= share <= WINDOW[1]:
            self.bins[min(int((share - WINDOW[0]) / (WINDOW[1] - WINDOW[0]) * 4), 3)] += 1

    def as_json(self) -> dict[str, Any]:
        n, last = sum(self.bins), self.bins[3]
        z = (last - n / 4) / math.sqrt(n * 3 / 16) if n else None
        return {"stops_in_last_third": n, "in_last_twelfth": last,
                "expected_by_chance": n / 4, "z": z,
                "signal": bool(z is not None and z >= Z_SIGNAL and last >= MIN_STOPS)}


@dataclass
class Signals:
    lag: Lag = field(default_factory=Lag)
    heaping: dict[str, Heaping] = field(default_factory=dict)
    corrections: list[datetime] = field(default_factory=list)
    steps: int = 0
    withdrawn: int = 0
    withdrawn_after_breach: int = 0
    closed: int = 0
    calls_never_reached: int = 0

    def as_json(self) -> dict[str, Any]:
        most = _most_within(sorted(self.corrections), CLUSTER)
        return {
            "recording_lag": self.lag.as_json(),
            "deadline_heaping": {c: h.as_json() for c, h in sorted(self.heaping.items())},
            "corrections": {"count": len(self.corrections), "steps": self.steps,
                            "most_within_24h": most, "signal": most >= CLUSTER_SIGNAL},
            "withdrawals": {"count": self.withdrawn, "after_breach": self.withdrawn_after_breach},
            "follow_up": {"closed": self.closed, "never_reached": self.calls_never_reached}}


def _most_within(times: list[datetime], span: timedelta) -> int:
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] > span:
            start += 1
        most = max(most, end - start + 1)
    return most


@dataclass
class Quality:
    points: dict[str, Signals] = field(default_factory=dict)
    clerks: dict[str, Signals] = field(default_factory=dict)

    def at(self, point: str, clerk: str | None) -> list[Signals]:
        found = [self.points.setdefault(point, Signals())]
        if clerk:
            found.append(self.clerks.setdefault(clerk, Signals()))
        return found

    def as_json(self, *, clerks: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"by_service_point": {k: s.as_json()
                                                      for k, s in sorted(self.points.items())}}
        if clerks:
            body["by_clerk"] = {k: s.as_json() for k, s in sorted(self.clerks.items())}
        body["signals"] = [
            {"scope": scope, "key": key, "signal": name}
            for scope, table in (("service_point", body["by_service_point"]),
                                 ("clerk", body.get("by_clerk", {})))
            for key, s in table.items() for name in _raised(s)]
        return body


def _raised(section: dict[str, Any]) -> list[str]:
    raised = [f"deadline_heaping:{c}" for c, h in section["deadline_heaping"].items()
              if h["signal"]]
    if section["corrections"]["signal"]:
        raised.append("correction_cluster")
    return raised


def assess(cases: Iterable[tuple[str, list[Step]]], policy: Policy, as_of: datetime, tz: tzinfo,
           area_of: Callable[[str | None], str | None], key_of: Callable[[str], str],
           received: tuple[datetime, datetime] | None = None) -> Quality:
    """The signals of these cases (those received in `received` [from, to), if given)."""
    quality = Quality()
    for case_id, steps in cases:
        first = min(steps, key=Step.sort_key)
        evaluation = evaluate(case_id, steps, policy, as_of, tz,
                              area_of(first.data.get("service_point")))
        f = evaluation.facts
        if f.received_at is None or f.service_point is None:
            continue
        if received is not None and not received[0] <= f.received_at < received[1]:
            continue
        _note_case(quality, key_of(f.service_point), steps, evaluation, policy, as_of)
    return quality


def _note_case(quality: Quality, point: str, steps: list[Step], evaluation: CaseEvaluation,
               policy: Policy, as_of: datetime) -> None:
    history = OrderedHistory.of(steps).visible_at(as_of)
    for step in history.steps:
        for signals in quality.at(point, step.actor):
            signals.steps += 1
            if step.type == "corrected":
                signals.corrections.append(step.recorded_at)
            else:
                signals.lag.add((step.recorded_at - step.occurred_at).total_seconds())
    for name, clock in evaluation.clocks.items():
        if clock.state != "met" or name not in STOP_TYPES or clock.stopped_at is None:
            continue
        target = (clock.due_at - clock.started_at).total_seconds()
        if target <= 0:
            continue
        share = (clock.stopped_at - clock.started_at).total_seconds() / target
        actor = next((s.actor for s in history.steps if s.type in STOP_TYPES[name]
                      and history.times[s.event_id] == clock.stopped_at), None)
        for signals in quality.at(point, actor):
            signals.heaping.setdefault(name, Heaping()).add(share)
    f = evaluation.facts
    if f.withdrawn_at is not None:
        withdrawal = next(s for s in history.steps if s.type == "withdrawn")
        breached = any(c.state == "breached" and c.decision_time is not None
                       and c.decision_time <= f.withdrawn_at for c in evaluation.clocks.values())
        for signals in quality.at(point, withdrawal.actor):
            signals.withdrawn += 1
            signals.withdrawn_after_breach += breached
    if f.closed_at is not None:
        calls = [s for s in history.steps if s.type == "follow_up_call"]
        never = bool(calls) and not any(s.data["reached"] for s in calls)
        for signals in quality.at(point, calls[-1].actor if calls else None):
            signals.closed += 1
            signals.calls_never_reached += never


def stored_histories(engine: Engine, tables: CaseTables, received_since: datetime | None = None
                     ) -> Iterator[tuple[str, list[Step]]]:
    """Every case's history from the per-case facts read model (no personal data in it); with
    `received_since`, only the cases received since then (the worker's window, read by index)."""
    h = tables.case_histories
    query = select(h.c.case_id, h.c.history)
    if received_since is not None:
        cases = tables.cases
        since_us = int(received_since.timestamp() * 1_000_000)
        query = query.join(cases, cases.c.case_id == h.c.case_id).where(
            cases.c.received_us >= since_us)
    with engine.connect() as conn:
        for case_id, text in conn.execute(query.execution_options(yield_per=2000)):
            yield case_id, history_from_json(case_id, text)


def point_gauges(quality: Quality, label: str = "county") -> list[tuple[str, dict[str, str], float]]:
    """Gauges per service point (a bounded label, never a clerk or a case) for the worker's
    Prometheus collector: (metric name, labels, value)."""
    out: list[tuple[str, dict[str, str], float]] = []
    for key, signals in sorted(quality.points.items()):
        s, labels = signals.as_json(), {label: key}
        lag = s["recording_lag"]
        if lag["steps"]:
            out.append(("sixhours_recording_lag_mean_seconds", labels, lag["mean_minutes"] * 60))
            out.append(("sixhours_recording_lag_over_1h_ratio", labels, lag["share_over_1h"]))
        for clock, heap in s["deadline_heaping"].items():
            if heap["z"] is not None:
                out.append(("sixhours_deadline_heaping_z", {**labels, "clock": clock}, heap["z"]))
        out.append(("sixhours_corrections_most_within_24h", labels,
                    float(s["corrections"]["most_within_24h"])))
        out.append(("sixhours_withdrawals_after_breach", labels,
                    float(s["withdrawals"]["after_breach"])))
        out.append(("sixhours_follow_up_never_reached", labels,
                    float(s["follow_up"]["never_reached"])))
    return out
