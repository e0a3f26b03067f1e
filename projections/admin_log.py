"""The log of admin actions: erasures, key rotations, anchors, publications, what-if runs.

Written before the action is reported done (an erasure whose row cannot be written is not
carried out). Rows name cases and people by id only: no personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

from projections.personal_data_reads import personal_data_reads
from projections.tables import from_us, to_us

metadata = MetaData()

admin_actions = Table(
    "sixhours_admin_actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128)),
    Column("detail", Text, nullable=False),  # JSON, ids and counts only
)
Index("sixhours_admin_actions_target", admin_actions.c.target)


@dataclass(frozen=True)
class AdminAction:
    at: datetime
    actor: str
    action: str
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def log_action(engine: Engine, action: AdminAction) -> None:
    with engine.begin() as conn:
        log_action_in(conn, action)


def log_action_in(conn: Connection, action: AdminAction) -> None:
    """In the caller's transaction: the action and its log row commit together."""
    conn.execute(insert(admin_actions).values(
        at_us=to_us(action.at), actor=action.actor, action=action.action, target=action.target,
        detail=json.dumps(action.detail, ensure_ascii=False, sort_keys=True)))


def audit_log(engine: Engine, *, case_id: str | None = None, limit: int = 1000,
              ) -> list[dict[str, Any]]:
    """Admin actions and personal-data reads, newest first (of one case, if given)."""
    actions = select(admin_actions).order_by(admin_actions.c.id.desc()).limit(limit)
    reads = (select(personal_data_reads).order_by(personal_data_reads.c.id.desc()).limit(limit))
    if case_id is not None:
        actions = actions.where(admin_actions.c.target == case_id)
        reads = reads.where(personal_data_reads.c.case_id == case_id)
    with engine.connect() as conn:
        found = [{"at": from_us(r["at_us"]), "kind": "admin", "actor": r["actor"],
                  "action": r["action"], "target": r["target"], "detail": json.loads(r["detail"])}
                 for r in conn.execute(actions).mappings()]
        found += [{"at": from_us(r["at_us"]), "kind": "personal_data_read",
                   "actor": r["subject"], "action": f"read:{r['what']}", "target": r["case_id"],
                   "detail": {"role": r["role"], "token_id": r["token_id"]}}
                  for r in conn.execute(reads).mappings()]
    found.sort(key=lambda e: e["at"], reverse=True)
    return found[:limit]
