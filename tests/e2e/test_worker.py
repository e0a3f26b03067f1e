"""The worker keeps the read models live, stops cleanly, and survives kill -9 anywhere."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from projections.tables import build_parts
from sixhours.bootstrap import build
from sixhours.settings import Settings
from tests.e2e.cli import run, run_json


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "sixhours.cli", *args],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _status() -> Any:
    return run_json("projections", "status")


def _wait_caught_up(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _status()
        if state["building"] is None and state["active"] and state["active"]["behind"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"read model did not catch up: {_status()}")


def _dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the active read model, in a stable order, without its table prefix."""
    c = build(Settings())
    try:
        tables = c.active_tables()
        dump = {}
        with c.engine.connect() as conn:
            for table in (*tables.per_case, *tables.rollups):
                query = select(table).order_by(*table.primary_key.columns)
                if "n" in table.c:
                    query = query.where(table.c.n != 0)
                dump[table.name.removeprefix(tables.prefix)] = [tuple(r) for r in conn.execute(query)]
        return dump
    finally:
        c.close()


def _kill_a_rebuild_once_it_has_written(env: dict[str, str]) -> None:
    rebuild = _start(env, "projections", "rebuild", "--batch", "20")
    registry = build(Settings())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and rebuild.poll() is None:
            with registry.engine.connect() as conn:
                written = conn.execute(select(build_parts.c.part)
                                       .where(build_parts.c.cursor != "")).first()
            if written:
                break
            time.sleep(0.005)
    finally:
        registry.close()
        rebuild.send_signal(signal.SIGKILL)
        rebuild.wait()


def _split(source: Path, parts: int, tmp_path: Path) -> list[Path]:
    lines = source.read_text().splitlines(keepends=True)
    size = len(lines) // parts + 1
    paths = []
    for n in range(parts):
        path = tmp_path / f"part{n}.jsonl"
        path.write_text("".join(lines[n * size:(n + 1) * size]))
        paths.append(path)
    return paths


def test_the_worker_catches_up_live_and_stops_on_sigterm(env: dict[str, str],
                                                         examples: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    worker = _start(env, "worker")
    try:
        assert run("import", str(examples / "cases.jsonl"))[0] == 0
        _wait_caught_up()
        assert _status()["active"]["position"] == 35
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0


@pytest.mark.parametrize("build_workers", [1, 2], ids=["one-process", "two-processes"])
def test_kill_9_during_rebuild_and_live_processing_then_restart_equals_a_clean_rebuild(
        env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        build_workers: int) -> None:
    # With two, every build of this small store runs in two processes, and a kill -9 of the
    # command must take its build processes down with it.
    env.update(SIXHOURS_BUILD_WORKERS=str(build_workers), SIXHOURS_BUILD_PARALLEL_FROM="0")
    rng = random.Random(7)
    run_json("generate", "--out", str(tmp_path), "--cases", "2400", "--seed", "3",
             "--start", "2026-03-01", "--days", "10")
    run("network", "import", str(tmp_path / "network.yaml"))
    first, second, *rest = _split(tmp_path / "events.jsonl", 5, tmp_path)
    assert run("import", str(first))[0] == 0
    assert run("import", str(second))[0] == 0
    run_json("report", "--format", "json")  # an active version exists: the rebuild goes beside it

    # A rebuild killed midway: the next start resumes it. (Tried again if a rebuild happened
    # to finish before the kill landed, so the test never depends on timing.)
    for _ in range(5):
        _kill_a_rebuild_once_it_has_written(env)
        if _status()["building"] is not None:
            break
    killed = _status()["building"]
    assert killed is not None, "the rebuild must be killed midway"

    # Live processing, killed at random moments while more events arrive.
    worker = _start(env, "worker")
    try:
        for part in rest:
            assert run("import", str(part))[0] == 0
            time.sleep(rng.uniform(0.0, 0.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            worker = _start(env, "worker")
        _wait_caught_up()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert _status()["active"]["tables"] == killed["tables"]  # the killed build was resumed
    survived = _dump()
    assert survived["cases"], "the read model must not be empty"

    # The clean rebuild runs in this one process, whichever way the killed one ran.
    monkeypatch.setenv("SIXHOURS_BUILD_WORKERS", "1")
    run("projections", "rebuild")
    assert _dump() == survived
