"""Policy versions with effective dates: which version of a policy governs a case.

A bureau that tightens a target (say urban reviews within 30 minutes from 1 July) does not
re-judge the cases received before: a case is scored under the version in effect on the local
date its application was received. What-if re-scoring can also apply one version to all history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from domain.policy import Policy, PolicyError


@dataclass(frozen=True)
class PolicyVersions:
    name: str
    versions: tuple[tuple[date | None, Policy], ...]  # by effective date; None: since always

    @classmethod
    def of(cls, dated: Sequence[tuple[date | None, Policy]]) -> PolicyVersions:
        if not dated:
            raise PolicyError("no policy versions given")
        names = {p.name for _, p in dated}
        if len(names) != 1:
            raise PolicyError(f"versions of one policy must share its name, not {sorted(names)}")
        ordered = tuple(sorted(dated, key=lambda v: (v[0] is not None, v[0] or date.min)))
        starts = [d for d, _ in ordered]
        if len(set(starts)) != len(starts):
            raise PolicyError(f"two versions of {ordered[0][1].name} take effect on the same day")
        return cls(ordered[0][1].name, ordered)

    def in_effect(self, received_at: datetime | None, tz: tzinfo) -> Policy:
        """The version in effect on the local date of `received_at` (the first one if unknown)."""
        chosen = self.versions[0][1]
        if received_at is None:
            return chosen
        day = received_at.astimezone(tz).date()
        for start, policy in self.versions:
            if start is None or start <= day:
                chosen = policy
        if self.versions[0][0] is not None and day < self.versions[0][0]:
            raise PolicyError(f"no version of {self.name} was in effect on {day}: the first "
                              f"takes effect on {self.versions[0][0]}")
        return chosen

    @property
    def label(self) -> str:
        parts = [f"{p.version}" + (f" from {d}" if d else "") for d, p in self.versions]
        return f"{self.name}@{', '.join(parts)}"


def effective_from(raw: Mapping[str, object]) -> date | None:
    """`effective_from: 2026-07-01` of a policy file (YAML gives a date, JSON a string)."""
    value = raw.get("effective_from")
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"effective_from {value!r} is not a date like 2026-07-01") from None
