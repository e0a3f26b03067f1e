"""Re-score a range of cases from the per-case facts read model (`case_histories`) under another
policy, beside their current scores. One process runs one range; nothing here overwrites the
current read model.

A case's facts (its corrected, visible history read off once) are evaluated under the what-if
policy by the clock engine itself. Its current scores come from the projected rows of the
current policy where they hold at `as_of` (the case's last event is visible: the rows are what
the engine gave then), else from the engine too, so every score is the engine's.
"""

from __future__ import annotations

from collections import Counter, namedtuple
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo

import orjson
from sqlalchemy import Engine

from domain.clocks import CaseEvaluation, evaluate_facts, read_facts
from domain.events import OrderedHistory, Step
from domain.policy import CLOCKS, Policy
from domain.policy_versions import PolicyVersions
from projections.bulk import insert_rows
from projections.tables import case_tables, to_us
from projections.what_if_tables import case_scores

CHUNK = 5_000
CLOCK_ORDER = {name: rank for rank, name in enumerate(CLOCKS)}
CaseScore = namedtuple("CaseScore", ["run_id", "case_id", "grp", "base_outcome", "outcome",
                                     "base_clocks", "clocks", "changed"])
Tally = dict[tuple[str, str, str], list[int]]  # (group, metric, label) -> [current, what-if]


@dataclass(frozen=True)
class Job:
    run_id: int
    prefix: str  # the read-model version read
    lower: str | None  # cases after this id ...
    upper: str | None  # ... up to this one (None: no bound)
    base: Policy  # the current policy
    projected: bool  # the read model holds the base policy's rows
    policy: Policy | PolicyVersions  # the what-if: one version for all, or versions by date
    as_of: datetime
    tz: tzinfo
    points: dict[str, tuple[str | None, str]]  # service point -> (area, group key)


@dataclass
class PartResult:
    cases: int
    changed: int
    tally: Tally


def score_part(engine: Engine, job: Job) -> PartResult:
    result = PartResult(0, 0, {})
    # Cases are counted by their (group, scores) combination, of which there are few, and the
    # combinations are added up by clock at the end: cheaper than counting clock by clock.
    combos: Counter[tuple[str, str, str | None, str, str | None, bool]] = Counter()
    for chunk in _chunks(engine, job):
        as_of_us = to_us(job.as_of)
        rows = [_score(job, case, as_of_us) for case in chunk]
        combos.update((r.grp, r.base_clocks, r.base_outcome, r.clocks, r.outcome, r.changed)
                      for r in rows)
        result.cases += len(rows)
        with engine.begin() as out:
            insert_rows(out, case_scores, rows)
    for (group, base_clocks, base_outcome, clocks, outcome, changed), n in combos.items():
        _count(result.tally, group, base_clocks, base_outcome, 0, n)
        _count(result.tally, group, clocks, outcome, 1, n)
        if changed:
            result.tally.setdefault((group, "cases", "changed"), [0, 0])[1] += n
            result.changed += n
    return result


@dataclass
class _Case:
    case_id: str
    history: bytes
    last_event_us: int
    clocks: list[tuple[str, str, int, int | None]]  # clock, state, due_us, pause_began_us
    outcome: str | None


def _chunks(engine: Engine, job: Job) -> Iterator[list[_Case]]:
    """The job's cases a chunk at a time, each chunk read in one transaction through the
    driver's own cursor (a SQLAlchemy row object per clock row cost more than scoring it)."""
    t = case_tables(job.prefix)
    pg = engine.dialect.name == "postgresql"
    m = "%s" if pg else "?"
    upper = f"AND case_id <= {m} " if job.upper is not None else ""
    # The history as bytes: orjson reads UTF-8 directly, without decoding a str first.
    history = "convert_to(history, 'UTF8')" if pg else "CAST(history AS BLOB)"
    histories = (f"SELECT case_id, {history}, last_event_us FROM {t.case_histories.name} "
                 f"WHERE case_id > {m} {upper}ORDER BY case_id LIMIT {CHUNK}")
    span = f"policy = {m} AND case_id >= {m} AND case_id <= {m}"
    clocks = f"SELECT case_id, clock, state, due_us, pause_began_us FROM {t.clocks.name} WHERE {span}"
    outcomes = f"SELECT case_id, outcome FROM {t.outcomes.name} WHERE {span}"
    after = job.lower or ""
    while True:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if pg:  # one snapshot for the chunk's histories and rows while the worker writes
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            else:
                cur.execute("BEGIN")
            cur.execute(histories, (after, job.upper) if job.upper is not None else (after,))
            chunk = [_Case(r[0], r[1], r[2], [], None) for r in cur.fetchall()]
            if chunk and job.projected:
                by_id = {c.case_id: c for c in chunk}
                bounds = (job.base.name, chunk[0].case_id, chunk[-1].case_id)
                cur.execute(clocks, bounds)
                for case_id, clock, state, due, pause in cur.fetchall():
                    by_id[case_id].clocks.append((clock, state, due, pause))
                cur.execute(outcomes, bounds)
                for case_id, outcome in cur.fetchall():
                    by_id[case_id].outcome = outcome
            raw.rollback()
        finally:
            raw.close()
        if not chunk:
            return
        yield chunk
        after = chunk[-1].case_id


def _steps(case_id: str, text: str | bytes) -> list[Step]:
    """`case_clocks.history_from_json` with only what scoring reads (the same row layout: id,
    type, occurred, recorded, ingested, actor, data, seq, supplied). The clock engine reads a
    recording time only to order competing corrections, so only corrections get theirs; other
    steps carry their occurred_at there, and no ingestion time."""
    parse, new = datetime.fromisoformat, tuple.__new__
    steps = []
    for r in orjson.loads(text):
        occurred = parse(r[2])
        recorded = parse(r[3]) if r[1] == "corrected" else occurred
        steps.append(new(Step, (r[0], case_id, r[1], occurred, recorded, r[6], r[5], r[8], None,
                                r[7])))
    return steps


def _score(job: Job, case: _Case, as_of_us: int) -> CaseScore:
    steps = _steps(case.case_id, case.history)
    # The application is a case's first event, and almost always its first stored one.
    first = steps[0] if steps[0].type == "application_received" else next(
        (s for s in steps if s.type == "application_received"), steps[0])
    area = job.points.get(first.data.get("service_point") or "", (None, ""))[0]
    facts = read_facts(case.case_id, OrderedHistory.of(steps).visible_at(job.as_of), area)
    policy = job.policy.in_effect(facts.received_at, job.tz) \
        if isinstance(job.policy, PolicyVersions) else job.policy
    what_if = evaluate_facts(facts, policy, job.as_of, job.tz)
    if job.projected and case.last_event_us <= as_of_us:
        base_clocks, base_outcome = _from_rows(case, as_of_us)
    else:
        base_clocks, base_outcome = _states(evaluate_facts(facts, job.base, job.as_of, job.tz))
    clocks = {name: c.state for name, c in what_if.clocks.items()}
    outcome = what_if.outcome
    group = job.points.get(facts.service_point or "", (None, facts.service_point or ""))[1]
    return CaseScore(job.run_id, case.case_id, group, base_outcome, outcome,
                     ",".join(f"{n}:{v}" for n, v in base_clocks.items()),
                     ",".join(f"{n}:{v}" for n, v in clocks.items()),
                     _changed(base_clocks, base_outcome, clocks, outcome))


def _changed(base_clocks: dict[str, str], base_outcome: str | None, clocks: dict[str, str],
             outcome: str | None) -> bool:
    """A case changed when its outcome did, or a clock both policies score did: a clock only one
    of them has (statutory has no follow-up clock) is a difference of policies, not of the case."""
    return base_outcome != outcome or any(
        clocks[name] != state for name, state in base_clocks.items() if name in clocks)


def _states(evaluation: CaseEvaluation) -> tuple[dict[str, str], str | None]:
    return {name: c.state for name, c in evaluation.clocks.items()}, evaluation.outcome


def _from_rows(case: _Case, as_of_us: int) -> tuple[dict[str, str], str | None]:
    """The projected rows at `as_of`: an open clock is overdue once past its due time, unless a
    pause that began before then moves it (as `projections.counting` counts them). The rows come
    in the order of their key; the clocks are put in the policy's order only when needed."""
    states = {}
    for clock, state, due, pause in case.clocks:
        if state == "open":
            overdue = due < as_of_us and (pause is None or pause > due)
            state = "overdue" if overdue else "running"
        states[clock] = state
    if len(states) > 1:
        states = {name: states[name] for name in CLOCK_ORDER if name in states}
    return states, case.outcome


def _count(tally: Tally, group: str, clocks: str, outcome: str | None, side: int,
           n: int) -> None:
    for item in clocks.split(",") if clocks else ():
        clock, state = item.split(":")
        if state in ("met", "breached", "overdue"):
            label = f"{clock}:{'met' if state == 'met' else 'breached'}"
            tally.setdefault((group, "clock", label), [0, 0])[side] += n
    if outcome is not None:
        tally.setdefault((group, "case", outcome), [0, 0])[side] += n
