"""Clocks as the pages show them: a state word, a colour class and the time left or late.

Two sources, one shape: the open-clock rows the monitors read (`DueClock.state`, for the lists:
a clock is in warning or overdue on a page exactly when an alert says so), and the clock engine's
view of one case (`case_view`, for the case page). Colour is never the only sign: every state is
also written out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from domain.policy import Policy
from projections.due_clocks import DueClock
from projections.tables import from_us, to_us

# The class each state is drawn with (app.css): ok, warning, overdue, done, muted.
CSS = {"running": "ok", "warning": "warning", "overdue": "overdue", "met": "done",
       "breached": "overdue", "cancelled": "muted"}


@dataclass(frozen=True)
class ClockRow:
    case_id: str
    clock: str
    state: str  # running | warning | overdue | met | breached | cancelled
    due_at: datetime | None
    seconds_left: float | None  # negative: late by that much; None: decided
    paused: bool = False
    service_point: str | None = None
    warn_at: datetime | None = None  # when a running clock enters warning (for the script)
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    elapsed_seconds: float | None = None
    share: float | None = None  # highest warning threshold passed

    @property
    def css(self) -> str:
        return CSS.get(self.state, "muted")

    @property
    def open(self) -> bool:
        return self.seconds_left is not None


def from_due_clock(due: DueClock, policy: Policy, now: datetime) -> ClockRow:
    now_us = to_us(now)
    state, share = due.state(policy, now_us)
    effective = from_us(due.effective_due_us(now_us))
    lowest = min(policy.warning_thresholds, default=None)
    warn_at = (from_us(due.threshold_at_us(policy, lowest, now_us))
               if lowest is not None and state == "running" else None)
    return ClockRow(due.case_id, due.clock, state, effective,
                    (effective - now).total_seconds(), due.paused_before_due(),
                    due.service_point, warn_at, from_us(due.started_us), share=share)


def from_case_view(case_id: str, name: str, clock: dict[str, Any], now: datetime) -> ClockRow:
    """One clock of `case_view` (times as ISO text)."""
    state = clock["state"]
    if state == "running" and clock.get("warning") is not None:
        state = "warning"
    due = moment(clock["due_at"])
    open_ = clock["state"] in ("running", "overdue") and clock["stopped_at"] is None
    left = (due - now).total_seconds() if open_ and due is not None else None
    return ClockRow(case_id, name, state, due, left, bool(clock.get("paused")),
                    started_at=moment(clock["started_at"]),
                    stopped_at=moment(clock["stopped_at"]),
                    elapsed_seconds=clock["elapsed_seconds"], share=clock.get("warning"))


def moment(text: str | None) -> datetime | None:
    """An ISO 8601 time of a view (None stays None)."""
    return datetime.fromisoformat(text) if text else None


def duration(seconds: float, lang: str) -> str:
    """A span as a clerk says it: "1 小时 5 分钟", "2 d 3 h", "45 min"."""
    total = int(abs(seconds) // 60)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = ("天", "小时", "分钟") if lang == "zh" else ("d", "h", "min")
    parts = [f"{n} {u}" for n, u in zip((days, hours, minutes), units, strict=True) if n]
    return " ".join(parts[:2]) or f"0 {units[2]}"


def local(at: datetime | None, tz: tzinfo, *, seconds: bool = False) -> str:
    """A time as the office reads it: local date and time, no offset."""
    if at is None:
        return ""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def lateness(row: ClockRow) -> timedelta:
    """How late a clock is (negative: time still left), for sorting the most urgent first."""
    return timedelta(seconds=-(row.seconds_left or 0.0))
