"""Published reports: a month's figures frozen with their provenance, and what changed since.

Publishing stores the report body as printed, with the chain head of the events it came from
(also written down as an anchor, so that history up to it cannot be rewritten unnoticed). A
later re-run of the same report is compared figure by figure, and the events stored since the
publication explain the difference: steps recorded late (they happened before the publication),
corrections, and steps that happened after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, Integer, MetaData, String, Table, Text, select

from projections.hash_chain import anchors
from projections.tables import from_us, to_us

metadata = MetaData()

publications = Table(
    "sixhours_publications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(32), nullable=False),  # e.g. 2026-03
    Column("policy", String(80), nullable=False),
    Column("published_at_us", BigInteger, nullable=False),
    Column("through_notification", BigInteger, nullable=False),
    Column("chain_head", String(64)),
    Column("body", Text, nullable=False),  # the report as published (JSON)
)


def publish(engine: Engine, period: str, body: dict[str, Any], at: datetime) -> int:
    """Freeze a report; its chain head becomes an anchor. Returns the publication's id."""
    events = body["provenance"]["events"]
    with engine.begin() as conn:
        found = conn.execute(publications.insert().values(
            period=period, policy=body["provenance"]["policy"], published_at_us=to_us(at),
            through_notification=events["through_notification"], chain_head=events["chain_head"],
            body=json.dumps(body, ensure_ascii=False, sort_keys=True)
        ).returning(publications.c.id)).scalar_one()
        if events["chain_head"]:
            conn.execute(anchors.insert().values(
                notification_id=events["through_notification"],
                link=bytes.fromhex(events["chain_head"]), made_at_us=to_us(at),
                what=f"published report {period} #{found}"))
    return int(found)


def latest_publication(engine: Engine, period: str, policy: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(publications).where(
            publications.c.period == period, publications.c.policy == policy)
            .order_by(publications.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    return {**dict(row), "published_at": from_us(row["published_at_us"]),
            "body": json.loads(row["body"])}


def figure_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure (a number or null anywhere in the body, provenance and as_of aside) whose
    value differs, by its path, e.g. clocks.review.met."""
    flat_before, flat_after = _flatten(before), _flatten(after)
    return [{"figure": path, "published": flat_before.get(path), "now": flat_after.get(path)}
            for path in sorted(set(flat_before) | set(flat_after))
            if flat_before.get(path) != flat_after.get(path)]


def _flatten(body: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(body, dict):
        for key, value in body.items():
            if prefix == "" and key in ("provenance", "as_of"):
                continue
            found.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(body, list):
        for item in body:
            key = item.get("key") if isinstance(item, dict) else None
            found.update(_flatten(item, f"{prefix}{key}."))
    elif body is None or isinstance(body, int | float) and not isinstance(body, bool):
        found[prefix.rstrip(".")] = body
    return found


def reasons(events: Iterable[Any], published_at: datetime, limit: int = 50) -> dict[str, Any]:
    """Why figures moved: the steps stored since the publication (decoded case events), as late
    records, corrections, and steps that happened after it."""
    kinds = {"late_recorded": 0, "corrections": 0, "after_publication": 0}
    cases: dict[str, set[str]] = {k: set() for k in kinds}
    for step in events:
        if step.type == "corrected":
            kind = "corrections"
        elif step.occurred_at <= published_at:
            kind = "late_recorded"
        else:
            kind = "after_publication"
        kinds[kind] += 1
        cases[kind].add(step.case_id)
    return {kind: {"events": n, "cases": sorted(cases[kind])[:limit]}
            for kind, n in kinds.items()}
