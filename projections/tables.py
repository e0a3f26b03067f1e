"""Read-model tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Times are stored as integer microseconds since the epoch (UTC): exact, sortable, and comparable
the same way on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


positions = Table(
    "sixhours_projection_positions", metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

service_points = Table(
    "sixhours_service_points", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("parent", String(64)),
    Column("area", String(8), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("host", String(64)),
    Column("supervisors", Text, nullable=False),  # JSON list
    Column("retired", Boolean, nullable=False),
    Column("merged_into", String(64)),
)

network_imports = Table(
    "sixhours_network_imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("imported_at_us", BigInteger, nullable=False),
    Column("changes", Text, nullable=False),  # JSON: added, changed, retired, removed
)

case_keys = Table(
    "sixhours_case_keys", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
)

# --- the case projection -------------------------------------------------------------------

cases = Table(
    "rm_cases", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("service_point", String(64)),
    Column("channel", String(16)),
    Column("category", String(16)),
    Column("area", String(8)),
    Column("received_us", BigInteger),
    Column("reviewed_us", BigInteger),
    Column("decision", String(8)),
    Column("withdrawn_us", BigInteger),
    Column("closed_us", BigInteger),
    Column("last_event_us", BigInteger, nullable=False),
)
Index("rm_cases_last_event", cases.c.last_event_us)

# The per-case facts: its events without personal data (JSON), enough to re-evaluate the case
# under any policy at any time without reading the event store. Kept apart so that the narrow
# tables the report scans stay narrow.
case_histories = Table(
    "rm_case_histories", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("last_event_us", BigInteger, nullable=False),
    Column("history", Text, nullable=False),
)
Index("rm_case_histories_last_event", case_histories.c.last_event_us)


def _case_dimensions() -> list[Column[Any]]:
    """Copied onto every row the report counts, so that it counts without joins."""
    return [Column("service_point", String(64)), Column("channel", String(16)),
            Column("category", String(16)), Column("last_event_us", BigInteger, nullable=False)]

case_groups = Table(
    "rm_case_groups", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("grp", String(16), primary_key=True),
)

calls = Table(
    "rm_calls", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at_us", BigInteger, nullable=False),
    Column("reached", Boolean, nullable=False),
    Column("satisfaction", String(24)),
    *_case_dimensions(),
)

points_in_use = Table(
    "rm_points_in_use", metadata,
    Column("point_id", String(64), primary_key=True),
)

clocks = Table(
    "rm_clocks", metadata,
    Column("policy", String(64), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("clock", String(16), primary_key=True),
    # met | breached | cancelled once decided; open while it runs (overdue is derived at query)
    Column("state", String(12), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("stopped_us", BigInteger),
    Column("due_us", BigInteger, nullable=False),  # excluding a pause still open
    Column("decision_us", BigInteger),
    Column("pause_began_us", BigInteger),  # an open pause: the due time moves with it
    *_case_dimensions(),
)
Index("rm_clocks_open_due", clocks.c.policy, clocks.c.state, clocks.c.due_us)
# Covers the report's count of decided clocks: it reads the index alone, already grouped.
Index("rm_clocks_decided", clocks.c.policy, clocks.c.state, clocks.c.clock, clocks.c.decision_us,
      clocks.c.last_event_us)

outcomes = Table(
    "rm_outcomes", metadata,
    Column("policy", String(64), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("outcome", String(12), nullable=False),
    Column("finished_us", BigInteger, nullable=False),
    *_case_dimensions(),
)

CASE_TABLES = (cases, case_histories, case_groups, calls, clocks, outcomes)
