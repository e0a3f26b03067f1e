"""The what-if runs' own tables: each run's scores sit beside the current read model, never in it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "sixhours_whatif_runs", metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("made_at_us", BigInteger, nullable=False),
    Column("policy", Text, nullable=False),  # name@version, or the versions by date
    Column("base_policy", String(80), nullable=False),
    Column("as_of_us", BigInteger, nullable=False),
    Column("level", String(16), nullable=False),  # the groups: service points at this level
    Column("read_model", String(16), nullable=False),  # the version of the facts read
    Column("through_notification", BigInteger, nullable=False),
    Column("chain_head", String(64)),
    Column("status", String(12), nullable=False),  # running | done | failed
    Column("cases", Integer),
    Column("changed", Integer),
    Column("milliseconds", BigInteger),
)

case_scores = Table(
    "sixhours_whatif_cases", metadata,
    Column("run_id", Integer, primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("grp", String(64), nullable=False),
    Column("base_outcome", String(12)),
    Column("outcome", String(12)),
    Column("base_clocks", Text, nullable=False),  # review:met,assignment:breached,...
    Column("clocks", Text, nullable=False),
    Column("changed", Boolean, nullable=False),
)
Index("sixhours_whatif_cases_changed", case_scores.c.run_id, case_scores.c.changed)

group_scores = Table(
    "sixhours_whatif_groups", metadata,
    Column("run_id", Integer, primary_key=True),
    Column("grp", String(64), primary_key=True),
    Column("metric", String(12), primary_key=True),  # clock | case | cases
    Column("label", String(40), primary_key=True),  # review:met, achieved, changed
    Column("base_n", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
)
