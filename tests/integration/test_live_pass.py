"""The worker brings the read models up to the last event on every pass, and the store's hash chain
one slice at a time: a long chain backlog (the first pass after a big import) must not hold new
steps out of the read models (issue 3: visible within a second)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from projections.hash_chain import NAME as CHAIN
from projections.live import run_worker
from projections.read_models import status
from projections.runner import position_of
from sixhours.bootstrap import build
from sixhours.settings import Settings
from tests.e2e.cli import run, run_json


def test_each_pass_catches_the_read_models_up_and_chains_one_slice(
        env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sixhours.bootstrap.CHAIN_SLICE", 100)
    run_json("generate", "--out", str(tmp_path), "--cases", "40", "--seed", "3",
             "--start", "2026-03-01", "--days", "4")
    assert run("network", "import", str(tmp_path / "network.yaml"))[0] == 0
    stored = run_json("import", str(tmp_path / "events.jsonl"))["stored"]
    assert stored > 200
    c = build(Settings())
    try:
        passes, more = 0, True
        while more:
            more = c.live_pass()
            passes += 1
            with c.engine.connect() as conn:
                chained = position_of(conn, CHAIN)
            assert status(c.engine, stored)["active"]["behind"] == 0  # type: ignore[index]
            assert chained == min(100 * passes, stored)
            assert more == (chained < stored)
        assert passes == -(-stored // 100)
    finally:
        c.close()


class _Wakeups:
    def __init__(self) -> None:
        self.waits = 0

    def wait(self, timeout: float) -> None:
        self.waits += 1

    def close(self) -> None:
        pass


def test_the_worker_waits_for_new_events_only_when_a_pass_leaves_nothing_to_do() -> None:
    answers, stop, wakeups, log = [True, True, False, False], threading.Event(), _Wakeups(), []

    def sync(should_stop: object) -> bool:
        log.append(wakeups.waits)
        more = answers.pop(0)
        if not answers:
            stop.set()
        return more

    run_worker(sync, wakeups, stop)
    assert log == [0, 0, 0, 1]  # no wait after a pass that left work
