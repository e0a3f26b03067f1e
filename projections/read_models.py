"""Which version of the case read model reads use, and which one is being built beside it.

A version is a set of tables with its own prefix and its own tracking position. When the
projection's fingerprint (code version, policy and its version, time zone) differs from the
active version's, a new version is built beside it (blue/green); reads switch in one transaction
once it has caught up, and the old tables are dropped. Reads keep using the old version while the
new one builds, unless the code changed what the tables look like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.schema import CreateTable

from projections.rollups import without_keys
from projections.tables import CaseTables, build_parts, case_tables, positions, read_models

NAME = "cases"
LEGACY_TABLES = ("rm_cases", "rm_case_histories", "rm_case_groups", "rm_calls", "rm_clocks",
                 "rm_outcomes")


@dataclass(frozen=True)
class Versions:
    active: CaseTables | None
    active_fingerprint: str | None
    building: CaseTables | None
    building_fingerprint: str | None


def versions(engine: Engine) -> Versions:
    with engine.connect() as conn:
        row = conn.execute(select(read_models).where(read_models.c.name == NAME)).mappings().first()
    if row is None:
        return Versions(None, None, None, None)
    return Versions(case_tables(row["active"]) if row["active"] else None,
                    row["active_fingerprint"],
                    case_tables(row["building"]) if row["building"] else None,
                    row["building_fingerprint"])


def plan(engine: Engine, fingerprint: str, *, rebuild: bool = False) -> Versions:
    """Make sure a version with this fingerprint exists, active or building; return the state.

    With `rebuild`, start a new version from the first event even if the fingerprint matches.
    The worker asks on every pass, so the usual answer ("nothing to do") takes no write lock."""
    state = versions(engine)
    settled = state.active_fingerprint == fingerprint and (
        state.building is None or state.building_fingerprint == fingerprint)
    if not rebuild and (settled or state.building_fingerprint == fingerprint):
        return state
    with engine.begin() as conn:
        row = conn.execute(select(read_models).where(read_models.c.name == NAME)
                           .with_for_update()).mappings().first()
        if row is None:
            # The first version is built like any other, beside an empty "active" slot.
            _drop_legacy(conn)
            prefix = "rm_v1_"
            _create_tables(conn, case_tables(prefix))
            conn.execute(insert(read_models).values(name=NAME, building=prefix,
                                                    building_fingerprint=fingerprint))
        elif (row["active_fingerprint"] == fingerprint and row["building"] and not rebuild
              and row["building_fingerprint"] != fingerprint):
            _drop(conn, case_tables(row["building"]))  # built for a fingerprint no longer wanted
            _clear_building(conn)
        elif rebuild or (row["active_fingerprint"] != fingerprint
                         and row["building_fingerprint"] != fingerprint):
            if row["building"]:
                _drop(conn, case_tables(row["building"]))
            prefix = _next_prefix(row["active"], row["building"])
            _create_tables(conn, case_tables(prefix))
            _clear_building(conn)
            conn.execute(update(read_models).where(read_models.c.name == NAME).values(
                building=prefix, building_fingerprint=fingerprint))
    return versions(engine)


def switch_to_building(engine: Engine, caught_up: Callable[[Connection, CaseTables], bool]) -> bool:
    """Make the version being built the active one, if it has caught up; drop the old one."""
    with engine.begin() as conn:
        row = conn.execute(select(read_models).where(read_models.c.name == NAME)
                           .with_for_update()).mappings().first()
        if row is None or not row["building"]:
            return False
        building = case_tables(row["building"])
        if not caught_up(conn, building):
            return False
        old = case_tables(row["active"]) if row["active"] else None
        conn.execute(update(read_models).where(read_models.c.name == NAME).values(
            active=row["building"], active_fingerprint=row["building_fingerprint"]))
        _clear_building(conn)
        if old is not None:
            _drop(conn, old)
    return True


def _clear_building(conn: Connection) -> None:
    conn.execute(update(read_models).where(read_models.c.name == NAME).values(
        building=None, building_fingerprint=None, building_head=None))
    conn.execute(delete(build_parts).where(build_parts.c.name == NAME))


def _create_tables(conn: Connection, tables: CaseTables) -> None:
    """A version's tables without their secondary indexes (and on PostgreSQL, its rollups
    without their keys): a build adds those at its end."""
    for table in tables.metadata.sorted_tables:
        conn.execute(CreateTable(table))
    without_keys(conn, tables)


def index_steps(tables: CaseTables) -> list[Callable[[Connection], None]]:
    """A version's secondary indexes, a step each (a build runs them side by side where it can);
    a step run again finds its index there."""
    indexes = [index for table in tables.metadata.sorted_tables for index in table.indexes]
    clocks_first = sorted(indexes, key=lambda index: index.table is not tables.clocks)
    return [partial(index.create, checkfirst=True) for index in clocks_first]


def _next_prefix(*taken: str | None) -> str:
    numbers = [int(p.removeprefix("rm_v").rstrip("_")) for p in taken if p]
    return f"rm_v{max(numbers, default=0) + 1}_"


def _drop(conn: Connection, tables: CaseTables) -> None:
    tables.metadata.drop_all(conn)
    conn.execute(positions.delete().where(positions.c.name == f"{NAME}/{tables.prefix}"))


def _drop_legacy(conn: Connection) -> None:
    for name in LEGACY_TABLES:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def status(engine: Engine, head: int) -> dict[str, object]:
    """Each version's position against the head of the notification log."""
    state = versions(engine)
    report: dict[str, object] = {"head": head}
    with engine.connect() as conn:
        for role, tables, fingerprint in (("active", state.active, state.active_fingerprint),
                                          ("building", state.building, state.building_fingerprint)):
            if tables is None:
                report[role] = None
                continue
            row = conn.execute(select(positions).where(
                positions.c.name == f"{NAME}/{tables.prefix}")).mappings().first()
            position = int(row["position"]) if row else 0
            report[role] = {"tables": tables.prefix, "fingerprint": fingerprint,
                            "position": position, "behind": max(head - position, 0),
                            "updated_at_us": int(row["updated_at_us"]) if row else None}
        build_head = conn.execute(select(read_models.c.building_head)
                                  .where(read_models.c.name == NAME)).scalar()
        if report.get("building") and build_head not in (None, -1):
            # A build stream by stream: up to `head`, each part written through its `cursor`.
            parts = conn.execute(select(build_parts.c.part, build_parts.c.cursor,
                                        build_parts.c.done)
                                 .where(build_parts.c.name == NAME)
                                 .order_by(build_parts.c.part)).mappings().all()
            report["building"] = {**report["building"],  # type: ignore[dict-item]
                                  "stream_head": build_head,
                                  "parts": [dict(p) for p in parts]}
    return report
