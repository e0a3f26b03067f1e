"""What-if re-scoring: all history under another policy (or policy versions by effective date),
beside the current scores, with a per-case and a per-group (county) diff.

A run reads the active read model's per-case facts, cut into ranges of case ids that separate
processes score side by side (`what_if_score.score_part`), and keeps its results under its own
run id. The current read model is never written.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, update

from domain.network import Network
from domain.policy import Policy
from domain.policy_versions import PolicyVersions
from projections.provenance import events_range, policy_name
from projections.tables import CaseTables, from_us, to_us
from projections.what_if_score import Job, PartResult, Tally, score_part
from projections.what_if_tables import case_scores, group_scores, runs

PARALLEL_FROM = 50_000  # cases: below this, starting processes costs more than it saves


@dataclass(frozen=True)
class WhatIf:
    policy: Policy | PolicyVersions
    base: Policy
    projected: str  # the policy the read model holds rows for
    as_of: datetime
    tz: tzinfo
    level: str = "county"


def policy_label(policy: Policy | PolicyVersions) -> str:
    return policy.label if isinstance(policy, PolicyVersions) else policy_name(policy)


def group_points(network: Network, level: str) -> dict[str, tuple[str | None, str]]:
    """Each service point's area and the key of its group at `level` (SPEC §2)."""
    return {pid: (p.area, network.key_at_level(pid, level)) for pid, p in network.points.items()}


def rescore(engine: Engine, tables: CaseTables, network: Network, what_if: WhatIf, *,
            url: str | None = None, workers: int = 1, parallel_from: int = PARALLEL_FROM,
            now: Callable[[], datetime]) -> dict[str, Any]:
    """Score every case under `what_if.policy` beside `what_if.base`; return the run's diff."""
    started = time.perf_counter()
    run_id = _start(engine, tables, what_if, now())
    try:
        cuts = _cuts(engine, tables, workers if url else 1, parallel_from)
        jobs = [Job(run_id, tables.prefix, lower, upper, what_if.base,
                    what_if.projected == what_if.base.name, what_if.policy,
                    what_if.as_of, what_if.tz, group_points(network, what_if.level))
                for lower, upper in zip([None, *cuts], [*cuts, None], strict=True)]
        if url is None or len(jobs) == 1:
            parts = [score_part(engine, job) for job in jobs]
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(len(jobs), mp_context=context) as pool:
                parts = list(pool.map(_score_part_at, [url] * len(jobs), jobs))
        _finish(engine, run_id, parts, time.perf_counter() - started)
    except BaseException:
        with engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(status="failed"))
        raise
    return run_summary(engine, run_id, what_if.tz)


def _score_part_at(url: str, job: Job) -> PartResult:
    engine = create_engine(url)
    try:
        return score_part(engine, job)
    finally:
        engine.dispose()


def _start(engine: Engine, tables: CaseTables, what_if: WhatIf, made_at: datetime) -> int:
    with engine.begin() as conn:
        events = events_range(conn, f"cases/{tables.prefix}")
        found = conn.execute(insert(runs).values(
            made_at_us=to_us(made_at), policy=policy_label(what_if.policy),
            base_policy=policy_name(what_if.base), as_of_us=to_us(what_if.as_of),
            level=what_if.level, read_model=tables.prefix,
            through_notification=events["through_notification"],
            chain_head=events["chain_head"], status="running").returning(runs.c.run_id))
        return int(found.scalar_one())


def _cuts(engine: Engine, tables: CaseTables, parts: int, parallel_from: int) -> list[str]:
    """Case ids that cut the cases into `parts` runs of about equal size."""
    h = tables.case_histories
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(h)).scalar() or 0)
        if parts <= 1 or total < parallel_from:
            return []
        cuts = [conn.execute(select(h.c.case_id).order_by(h.c.case_id).offset(total * n // parts)
                             .limit(1)).scalar() for n in range(1, parts)]
    return sorted({c for c in cuts if c is not None})


def _finish(engine: Engine, run_id: int, parts: list[PartResult], seconds: float) -> None:
    tally: Tally = {}
    for part in parts:
        for key, (base_n, n) in part.tally.items():
            counts = tally.setdefault(key, [0, 0])
            counts[0] += base_n
            counts[1] += n
    with engine.begin() as conn:
        if tally:
            conn.execute(insert(group_scores), [
                {"run_id": run_id, "grp": g, "metric": m, "label": label, "base_n": b, "n": n}
                for (g, m, label), (b, n) in sorted(tally.items())])
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(
            status="done", cases=sum(p.cases for p in parts),
            changed=sum(p.changed for p in parts), milliseconds=round(seconds * 1000)))


# --- reading a run ----------------------------------------------------------------------------


def _rate(met: int, missed: int) -> float | None:
    return met / (met + missed) if met + missed else None


def run_summary(engine: Engine, run_id: int, tz: tzinfo, *, changed_cases: int = 20,
                ) -> dict[str, Any]:
    """The run, its per-group diff (and the total), and the first changed cases."""
    with engine.connect() as conn:
        run = conn.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        if run is None:
            raise LookupError(f"no what-if run {run_id}")
        groups: dict[str, dict[str, Any]] = {}
        for g, metric, label, base_n, n in conn.execute(
                select(group_scores.c.grp, group_scores.c.metric, group_scores.c.label,
                       group_scores.c.base_n, group_scores.c.n)
                .where(group_scores.c.run_id == run_id)):
            for key in (g, "*"):
                row = groups.setdefault(key, {})
                counts = row.setdefault(f"{metric}:{label}", [0, 0])
                counts[0] += base_n
                counts[1] += n
        cases = conn.execute(
            select(case_scores).where(case_scores.c.run_id == run_id, case_scores.c.changed)
            .order_by(case_scores.c.case_id).limit(changed_cases)).mappings().all()
    return {"run_id": run_id, "policy": run["policy"], "base_policy": run["base_policy"],
            "as_of": from_us(run["as_of_us"]).astimezone(tz).isoformat(), "level": run["level"],
            "status": run["status"], "cases": run["cases"], "changed": run["changed"],
            "seconds": (run["milliseconds"] or 0) / 1000,
            "provenance": {"read_model": run["read_model"],
                           "through_notification": run["through_notification"],
                           "chain_head": run["chain_head"]},
            "groups": {key: _group_diff(row) for key, row in sorted(groups.items())},
            "changed_cases": [_case_diff(c) for c in cases]}


def _group_diff(row: dict[str, list[int]]) -> dict[str, Any]:
    def side(i: int) -> dict[str, Any]:
        achieved, missed = row.get("case:achieved", [0, 0])[i], row.get("case:missed", [0, 0])[i]
        return {"achieved": achieved, "missed": missed, "rate": _rate(achieved, missed)}

    clocks: dict[str, Any] = {}
    for key, (base_n, n) in row.items():
        if key.startswith("clock:"):
            name, outcome = key.removeprefix("clock:").split(":")
            clocks.setdefault(name, {}).setdefault(outcome, [0, 0])
            clocks[name][outcome] = [base_n, n]
    return {"current": side(0), "what_if": side(1),
            "changed": row.get("cases:changed", [0, 0])[1],
            "clocks": {name: {"current": _rate(c.get("met", [0, 0])[0], c.get("breached", [0, 0])[0]),
                              "what_if": _rate(c.get("met", [0, 0])[1], c.get("breached", [0, 0])[1]),
                              "met": c.get("met", [0, 0]), "breached": c.get("breached", [0, 0])}
                       for name, c in sorted(clocks.items())}}


def _case_diff(row: Any) -> dict[str, Any]:
    return {"case_id": row["case_id"], "group": row["grp"],
            "current": {"outcome": row["base_outcome"], "clocks": _clocks(row["base_clocks"])},
            "what_if": {"outcome": row["outcome"], "clocks": _clocks(row["clocks"])}}


def _clocks(text: str) -> dict[str, str]:
    return dict(item.split(":", 1) for item in text.split(",") if item)


def case_score(engine: Engine, run_id: int, case_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(case_scores).where(
            case_scores.c.run_id == run_id, case_scores.c.case_id == case_id)).mappings().first()
    return None if row is None else {**_case_diff(row), "changed": row["changed"]}
