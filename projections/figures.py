"""The figures of SPEC §5 as a tally that SQL counts and per-case evaluations both feed.

Both report paths (the projected rows and a from-scratch evaluation of a case) add into the same
`Tally`, so they cannot disagree on what an item is or where it counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.clocks import CaseEvaluation

VOLUME = ("received", "granted", "refused", "withdrawn", "closed", "open_cases")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")


def rate(good: int, total: int) -> float | None:
    return None if total == 0 else good / total


@dataclass
class Figures:
    clocks: dict[str, list[int]] = field(default_factory=dict)  # clock -> [met, breached]
    cases: list[int] = field(default_factory=lambda: [0, 0])  # achieved, missed
    satisfaction: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SATISFACTION, 0))
    volume: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VOLUME, 0))
    open: dict[str, int] = field(default_factory=lambda: {"running": 0, "overdue": 0})

    def add_clock(self, clock: str, outcome: str, n: int = 1) -> None:
        pair = self.clocks.setdefault(clock, [0, 0])
        pair[0 if outcome == "met" else 1] += n

    def add_case(self, outcome: str, n: int = 1) -> None:
        self.cases[0 if outcome == "achieved" else 1] += n

    def as_json(self, clock_names: Sequence[str]) -> dict[str, object]:
        clocks = {}
        for name in clock_names:
            met, breached = self.clocks.get(name, [0, 0])
            clocks[name] = {"met": met, "breached": breached, "rate": rate(met, met + breached)}
        achieved, missed = self.cases
        reached = sum(self.satisfaction.values())
        good = self.satisfaction["satisfied"] + self.satisfaction["basically_satisfied"]
        return {
            "clocks": clocks,
            "cases": {"achieved": achieved, "missed": missed,
                      "rate": rate(achieved, achieved + missed)},
            "satisfaction": {**self.satisfaction, "rate": rate(good, reached)},
            "volume": dict(self.volume),
            "open": dict(self.open),
        }


class Tally:
    """Figures in total and per group key."""

    def __init__(self) -> None:
        self.total = Figures()
        self.rows: dict[str, Figures] = {}

    def into(self, keys: Iterable[str] | None, total: bool) -> list[Figures]:
        targets = [self.total] if total else []
        if keys is not None:
            targets.extend(self.rows.setdefault(k, Figures()) for k in keys)
        return targets

    def add(self, keys: Iterable[str] | None, section: str, label: str, n: int = 1, *,
            total: bool = True) -> None:
        """Count into the total (once per item) and into each group key's row."""
        keys = list(keys) if keys is not None else None
        for fig in self.into(keys, total):
            if section == "clock":
                clock, outcome = label.split(":")
                fig.add_clock(clock, outcome, n)
            elif section == "case":
                fig.add_case(label, n)
            elif section == "satisfaction":
                fig.satisfaction[label] += n
            elif section == "volume":
                fig.volume[label] += n
            else:
                fig.open[label] += n


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # exclusive

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


def tally_case(tally: Tally, keys: list[str] | None, ev: CaseEvaluation, period: Period,
               as_of: datetime) -> None:
    """Add one case, evaluated at `as_of`, to the tally (the from-scratch path)."""
    f = ev.facts
    if f.received_at is None:
        return
    for name, c in ev.clocks.items():
        if c.state in ("met", "breached", "overdue") and c.decision_time in period:
            tally.add(keys, "clock", f"{name}:{'met' if c.state == 'met' else 'breached'}")
        if c.state == "running":
            tally.add(keys, "open", "running")
        elif c.state == "overdue":
            tally.add(keys, "open", "overdue")
    if ev.outcome is not None and ev.finished_at in period:
        tally.add(keys, "case", ev.outcome)
    for call in f.calls:
        if call.reached and call.at in period and call.satisfaction:
            tally.add(keys, "satisfaction", call.satisfaction)
    for label, moment in (("received", f.received_at), ("withdrawn", f.withdrawn_at),
                          ("closed", f.closed_at)):
        if moment in period:
            tally.add(keys, "volume", label)
    if f.reviewed_at in period and f.decision:
        tally.add(keys, "volume", "granted" if f.decision == "granted" else "refused")
    if ev.finished_at is None and f.withdrawn_at is None:
        tally.add(keys, "volume", "open_cases")
