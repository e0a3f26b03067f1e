"""The write side: an eventsourcing Application that records case steps, one or many at a time.

One aggregate (event stream) per case, keyed by the case id. Every stored event carries its
`event_id` and the system's `ingested_at`; a store-wide index of event ids, written in the same
transaction as the events, makes resubmission a no-op and a conflicting reuse a refusal.
Concurrent writers to one case collide on the stream version and the loser retries against the
fresh history, so two writers never both win with an invalid history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, StoredEvent, Transcoder

from domain.case import Case, PointLookup
from domain.errors import RuleViolation
from domain.events import Step

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class StepRecorded:
    """The stored form of a case step (personal data sealed)."""

    originator_id: str
    originator_version: int
    event_id: str
    type: str
    occurred_at: str
    recorded_at: str
    recorded_supplied: bool
    ingested_at: str
    actor: str | None
    data: dict[str, Any]


class PersonalDataVault(Protocol):
    """Seals applicant data so that it is encrypted at rest (implemented outside the domain)."""

    def seal(self, case_id: str, personal: Mapping[str, str]) -> str: ...
    def unseal(self, case_id: str, sealed: str) -> dict[str, str]: ...
    def prepare(self, case_ids: Iterable[str]) -> None: ...


class CaseStore(Protocol):
    """What the service needs of its recorder beyond the library's own interface."""

    def select_histories(self, case_ids: Sequence[str]) -> dict[str, list[StoredEvent]]: ...
    def select_event_cases(self, event_ids: Sequence[str]) -> dict[str, str]: ...


@dataclass
class BatchResult:
    accepted: list[Step] = field(default_factory=list)
    duplicates: list[Step] = field(default_factory=list)
    refused: list[tuple[Step, RuleViolation]] = field(default_factory=list)


class CaseService(Application[str]):
    name = "sixhours"
    env: ClassVar[dict[str, str]] = {"ORIGINATOR_ID_TYPE": "text"}

    def __init__(self, env: Mapping[str, str], vault: PersonalDataVault,
                 clock: Callable[[], datetime], transcoder: Transcoder | None = None) -> None:
        self._transcoder = transcoder
        super().__init__(env=dict(env))
        self.vault = vault
        self._now = clock  # ingested_at: the composition root passes the real clock

    def construct_transcoder(self) -> Transcoder:
        return self._transcoder or super().construct_transcoder()

    @property
    def store(self) -> CaseStore:
        return self.recorder  # type: ignore[return-value]

    # --- reading -------------------------------------------------------------------------

    def history(self, case_id: str, *, unseal: bool = False) -> list[Step]:
        stored = self.store.select_histories([case_id]).get(case_id, [])
        return [self.to_step(s, unseal=unseal) for s in stored]

    def to_step(self, stored: StoredEvent, *, unseal: bool = False) -> Step:
        return step_from_event(self.mapper.to_domain_event(stored), self.vault if unseal else None)

    # --- writing -------------------------------------------------------------------------

    def record(self, step: Step, network: PointLookup, *, no_backdating: bool = True) -> Step:
        """Record one step (API): returns the stored step, or the original on resubmission."""
        result = self.record_batch([step], network, no_backdating=no_backdating)
        if result.refused:
            raise result.refused[0][1]
        return (result.accepted or result.duplicates)[0]

    def record_batch(self, candidates: Sequence[Step], network: PointLookup, *,
                     no_backdating: bool = False) -> BatchResult:
        """Validate candidates against their cases' whole histories and store the accepted ones
        in one transaction. Candidates of a case are taken in occurred_at order."""
        for attempt in range(MAX_ATTEMPTS):
            result, events, index = self._decide(candidates, network, no_backdating)
            if not events:
                return result
            try:
                # Straight to the event store: Application.save() would check every event
                # against a runtime Protocol, which costs more than encoding it.
                self.events.put(events, event_index=index)
                return result
            except IntegrityError:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _decide(self, candidates: Sequence[Step], network: PointLookup, no_backdating: bool,
                ) -> tuple[BatchResult, list[StepRecorded], list[tuple[str, str]]]:
        result = BatchResult()
        by_case: dict[str, list[Step]] = {}
        for step in candidates:
            by_case.setdefault(step.case_id, []).append(step)
        known = self.store.select_event_cases([s.event_id for s in candidates])
        stored = self.store.select_histories(list(by_case))
        ingested_at = self._now().isoformat()
        decided: list[tuple[int, Step]] = []  # (stream version, step)
        claimed = dict(known)  # an id taken by one case of this batch is taken for the others
        for case_id, steps in by_case.items():
            history = [self.to_step(s, unseal=False) for s in stored.get(case_id, [])]
            case = Case(case_id, history, network)
            by_id = {s.event_id: s for s in history}
            for step in sorted(steps, key=lambda s: (s.occurred_at, s.rank, s.seq)):
                self._consider(case, step, claimed, by_id, result, no_backdating)
            stored_version = case.version  # before collecting: it counts stored events only
            decided.extend(enumerate(case.collect_events(), start=stored_version + 1))
        self.vault.prepare(s.case_id for _, s in decided if "applicant" in s.data)
        events = [self._to_event(step, version, ingested_at) for version, step in decided]
        return result, events, [(s.event_id, s.case_id) for _, s in decided]

    def _consider(self, case: Case, step: Step, claimed: dict[str, str],
                  by_id: dict[str, Step], result: BatchResult, no_backdating: bool) -> None:
        earlier = by_id.get(step.event_id)
        if step.event_id in claimed or earlier is not None:
            if earlier is not None and self._same(earlier, step):
                result.duplicates.append(earlier)
            else:
                result.refused.append((step, RuleViolation(
                    "event_id_conflict", case_id=step.case_id, event_id=step.event_id)))
            return
        try:
            case.record(step, no_backdating=no_backdating)
        except RuleViolation as refusal:
            result.refused.append((step, refusal))
            return
        by_id[step.event_id] = case.history[-1]
        claimed[step.event_id] = case.case_id
        result.accepted.append(case.history[-1])

    def _same(self, stored: Step, submitted: Step) -> bool:
        sealed = stored.data.get("applicant")
        if isinstance(sealed, str):
            data = {**stored.data, "applicant": self.vault.unseal(stored.case_id, sealed)}
            stored = stored._replace(data=data)
        return stored.same_content(submitted)

    def _to_event(self, step: Step, version: int, ingested_at: str) -> StepRecorded:
        data = dict(step.data)
        if isinstance(data.get("applicant"), dict):
            data["applicant"] = self.vault.seal(step.case_id, data["applicant"])
        return StepRecorded(
            originator_id=step.case_id, originator_version=version, event_id=step.event_id,
            type=step.type, occurred_at=step.occurred_at.isoformat(),
            recorded_at=step.recorded_at.isoformat(), recorded_supplied=step.recorded_supplied,
            ingested_at=ingested_at, actor=step.actor, data=data)


def step_from_event(event: Any, vault: PersonalDataVault | None = None) -> Step:
    step = step_from_state(event.originator_id, event.originator_version, vars(event))
    if vault is not None and isinstance(step.data.get("applicant"), str):
        data = {**step.data, "applicant": vault.unseal(step.case_id, step.data["applicant"])}
        return step._replace(data=data)
    return step


def step_from_state(case_id: str, version: int, state: Mapping[str, Any]) -> Step:
    """A stored case event from its decoded state (the fields of StepRecorded)."""
    return Step(
        event_id=state["event_id"], case_id=case_id, type=state["type"],
        occurred_at=datetime.fromisoformat(state["occurred_at"]),
        recorded_at=datetime.fromisoformat(state["recorded_at"]), data=state["data"],
        actor=state["actor"], recorded_supplied=state["recorded_supplied"],
        ingested_at=datetime.fromisoformat(state["ingested_at"]), seq=version - 1)
