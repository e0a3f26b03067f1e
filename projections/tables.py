"""Read-model tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Times are stored as integer microseconds since the epoch (UTC): exact, sortable, and comparable
the same way on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, overload

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
ONE_US = timedelta(microseconds=1)


@overload
def to_us(moment: datetime) -> int: ...
@overload
def to_us(moment: None) -> None: ...
@overload
def to_us(moment: datetime | None) -> int | None: ...


def to_us(moment: datetime | None) -> int | None:
    # timedelta // timedelta is exact integer arithmetic, done in C in one step.
    return None if moment is None else (moment - EPOCH) // ONE_US


@overload
def from_us(value: int) -> datetime: ...
@overload
def from_us(value: None) -> None: ...
@overload
def from_us(value: int | None) -> datetime | None: ...


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

read_models = Table(
    "sixhours_read_models", metadata,
    Column("name", String(64), primary_key=True),  # "cases"
    Column("active", String(16)),  # table prefix that reads use, e.g. "rm_"
    Column("active_fingerprint", String(200)),
    Column("building", String(16)),  # a version being built beside it (blue/green)
    Column("building_fingerprint", String(200)),
    # A version built stream by stream: every event up to `building_head` is read case by case,
    # in parts (`build_parts`) that separate processes can write side by side.
    Column("building_head", BigInteger),
)

build_parts = Table(
    "sixhours_build_parts", metadata,
    Column("name", String(64), primary_key=True),
    Column("part", Integer, primary_key=True),
    # The part holds the cases after the previous part's `upper` up to its own (None: no end).
    Column("upper", String(64)),
    # The last case written, in the same transaction as its rows: a killed build resumes after it.
    Column("cursor", String(64), nullable=False),
    Column("done", Boolean, nullable=False),
)

points_in_use = Table(
    "rm_points_in_use", metadata,
    Column("point_id", String(64), primary_key=True),
)


# --- the case projection: one set of tables per version, side by side ---------------------------


# Narrow rows found by their primary key: on SQLite the table is its key's b-tree, so an insert
# writes one b-tree instead of a rowid table plus the key's index (a build writes millions).
# The case histories are wide, and stay in a rowid table.
NARROW: dict[str, Any] = {"sqlite_with_rowid": False}


def _text(length: int) -> Any:
    """Text compared byte by byte on both backends: SQLite always does; on PostgreSQL the "C"
    collation also makes sorting and indexing these ASCII ids and labels several times cheaper
    than a locale's rules (a build sorts millions of them)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _case_dimensions() -> list[Column[Any]]:
    """Copied onto every row the report counts, so that it counts without joins."""
    return [Column("service_point", _text(64)), Column("channel", _text(16)),
            Column("category", _text(16)), Column("last_event_us", BigInteger, nullable=False)]


def _rollup_key(*dims: Column[Any]) -> list[Column[Any]]:
    return [Column("policy", _text(64), primary_key=True),
            Column("day", Integer, primary_key=True),  # local date as YYYYMMDD; 0 = "now"
            *dims,
            Column("metric", _text(12), primary_key=True),  # clock | case | satisfaction | volume
            Column("label", _text(32), primary_key=True),  # e.g. review:met, achieved, received
            Column("n", BigInteger, nullable=False)]


@dataclass(frozen=True)
class CaseTables:
    """The case projection's tables for one version, named with its prefix."""

    prefix: str
    metadata: MetaData
    cases: Table
    case_histories: Table
    case_groups: Table
    calls: Table
    clocks: Table
    outcomes: Table
    rollup_days: Table  # totals per local day: the headline report reads only this
    rollup_points: Table  # per day x service point x channel x category
    rollup_groups: Table  # per day x group
    # A build's rollup contributions on PostgreSQL, appended without a key and summed into the
    # rollups at its end (projections/rollups.py, `stages_rollups`); empty otherwise.
    staged_rollups: tuple[Table, Table, Table]

    @property
    def per_case(self) -> tuple[Table, ...]:
        return (self.cases, self.case_histories, self.case_groups, self.calls, self.clocks,
                self.outcomes)

    @property
    def rollups(self) -> tuple[Table, ...]:
        return (self.rollup_days, self.rollup_points, self.rollup_groups)


@lru_cache(maxsize=16)
def case_tables(prefix: str = "rm_") -> CaseTables:
    md = MetaData()
    p = prefix
    cases = Table(
        f"{p}cases", md,
        Column("case_id", _text(64), primary_key=True),
        Column("area", _text(8)),
        Column("received_us", BigInteger),
        Column("reviewed_us", BigInteger),
        Column("decision", _text(8)),
        Column("withdrawn_us", BigInteger),
        Column("closed_us", BigInteger),
        *_case_dimensions(),
        **NARROW,
    )
    Index(f"{p}cases_last_event", cases.c.last_event_us)
    # The per-case facts: its events without personal data (JSON), enough to re-evaluate the
    # case under any policy at any time without reading the event store. Kept apart so that
    # the narrow tables the report scans stay narrow.
    histories = Table(
        f"{p}case_histories", md,
        Column("case_id", _text(64), primary_key=True),
        Column("last_event_us", BigInteger, nullable=False),
        Column("history", Text, nullable=False),
    )
    Index(f"{p}case_histories_last_event", histories.c.last_event_us)
    groups = Table(
        f"{p}case_groups", md,
        Column("case_id", _text(64), primary_key=True),
        Column("grp", _text(16), primary_key=True),
        **NARROW,
    )
    calls = Table(
        f"{p}calls", md,
        Column("case_id", _text(64), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("at_us", BigInteger, nullable=False),
        Column("reached", Boolean, nullable=False),
        Column("satisfaction", _text(24)),
        *_case_dimensions(),
        **NARROW,
    )
    clocks = Table(
        f"{p}clocks", md,
        Column("policy", _text(64), primary_key=True),
        Column("case_id", _text(64), primary_key=True),
        Column("clock", _text(16), primary_key=True),
        # met | breached | cancelled once decided; open while it runs (overdue is derived)
        Column("state", _text(12), nullable=False),
        Column("started_us", BigInteger, nullable=False),
        Column("stopped_us", BigInteger),
        Column("due_us", BigInteger, nullable=False),  # excluding a pause still open
        Column("decision_us", BigInteger),
        Column("pause_began_us", BigInteger),  # an open pause: the due time moves with it
        *_case_dimensions(),
        **NARROW,
    )
    # Open clocks by due time: what monitors and the report's overdue merge read.
    Index(f"{p}clocks_open_due", clocks.c.policy, clocks.c.state, clocks.c.due_us)
    # Covers the count of decided clocks: the index alone, already grouped.
    Index(f"{p}clocks_decided", clocks.c.policy, clocks.c.state, clocks.c.clock,
          clocks.c.decision_us, clocks.c.last_event_us)
    outcomes = Table(
        f"{p}outcomes", md,
        Column("policy", _text(64), primary_key=True),
        Column("case_id", _text(64), primary_key=True),
        Column("outcome", _text(12), nullable=False),
        Column("finished_us", BigInteger, nullable=False),
        *_case_dimensions(),
        **NARROW,
    )
    rollup_days = Table(f"{p}rollup_days", md, *_rollup_key(), **NARROW)
    rollup_points = Table(f"{p}rollup_points", md, *_rollup_key(
        Column("service_point", _text(64), primary_key=True),
        Column("channel", _text(16), primary_key=True),
        Column("category", _text(16), primary_key=True)), **NARROW)
    rollup_groups = Table(f"{p}rollup_groups", md, *_rollup_key(
        Column("grp", _text(16), primary_key=True)), **NARROW)
    rollups = (rollup_days, rollup_points, rollup_groups)
    staged = tuple(Table(f"{t.name}_staged", md, *[Column(c.name, c.type) for c in t.columns])
                   for t in rollups)
    return CaseTables(p, md, cases, histories, groups, calls, clocks, outcomes, *rollups,
                      staged)  # type: ignore[arg-type]
