"""A build's rollups (written in parts by several processes, staged and summed at its end on
PostgreSQL) equal those of applying the events batch by batch, and finishing a build again after
a crash changes nothing. On both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from projections.read_models import plan, versions
from projections.rebuild import _finish
from projections.runner import catch_up
from projections.tables import CaseTables, case_tables
from sixhours.bootstrap import build
from sixhours.settings import Settings
from tests.e2e.cli import run, run_json


@pytest.fixture
def container(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    run_json("generate", "--out", str(tmp_path), "--cases", "400", "--seed", "11",
             "--start", "2026-03-01", "--days", "20")
    assert run("network", "import", str(tmp_path / "network.yaml"))[0] == 0
    assert run("import", str(tmp_path / "events.jsonl"))[0] == 0
    # Two processes, parts of a few hundred events: helpers and staging take part.
    monkeypatch.setenv("SIXHOURS_BUILD_WORKERS", "2")
    monkeypatch.setenv("SIXHOURS_BUILD_PARALLEL_FROM", "0")
    monkeypatch.setattr("projections.rebuild.PART_EVENTS", 500)
    c = build(Settings())
    c.catch_up(rebuild=True)  # the import caught up batch by batch; this builds
    yield c
    c.close()


def _rows(engine: Engine, tables: CaseTables) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    with engine.connect() as conn:
        for table in (*tables.rollups, *tables.per_case):
            keys = [c for c in table.columns if c.name != "history"]
            query = select(*keys)
            if table in tables.rollups:  # adding batch by batch may leave a key at 0
                query = query.where(table.c.n != 0)
            found[table.name.removeprefix(tables.prefix)] = sorted(
                tuple(row) for row in conn.execute(query))
        for staged in tables.staged_rollups:
            assert conn.execute(select(staged)).first() is None, f"{staged.name} not emptied"
    return found


def test_build_equals_batch_by_batch_and_finishing_again_changes_nothing(container: Any) -> None:
    c = container
    built = versions(c.engine).active
    assert built is not None
    by_build = _rows(c.engine, built)
    assert by_build["rollup_points"], "the workload must give rollups"

    # The same events through the live path: a fresh version caught up batch by batch.
    by_batches = case_tables("rm_v99_")
    plan(c.engine, c.fingerprint)  # nothing to do: keeps the active version
    with c.engine.begin() as conn:
        for table in by_batches.metadata.sorted_tables:
            table.create(conn)
    catch_up(c.engine, c.notifications, c.case_projection(by_batches), batch=97)
    assert _rows(c.engine, by_batches) == by_build

    # A build killed after summing its rollups and creating its indexes, before saving its
    # position, does both again when it resumes.
    _finish(c.engine, built, 2)
    _finish(c.engine, built, 1)
    assert _rows(c.engine, built) == by_build
    with c.engine.begin() as conn:
        by_batches.metadata.drop_all(conn)
