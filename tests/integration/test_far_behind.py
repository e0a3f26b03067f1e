"""A read model far behind the store (the first catch-up after a big import) is built anew from
the streams rather than caught up event by event; a small backlog is caught up as usual."""

from __future__ import annotations

from pathlib import Path

import pytest

from projections.read_models import status
from sixhours.bootstrap import build
from sixhours.settings import Settings
from tests.e2e.cli import run, run_json


def _import(tmp_path: Path, name: str, cases: int, start: str) -> int:
    out = tmp_path / name
    run_json("generate", "--out", str(out), "--cases", str(cases), "--seed", "9",
             "--start", start, "--days", "3")
    assert run("network", "import", str(out / "network.yaml"))[0] == 0
    return int(run_json("import", str(out / "events.jsonl"))["stored"])


def test_a_far_behind_read_model_is_rebuilt_and_a_small_backlog_caught_up(
        env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("projections.sync.BUILD_WHEN_BEHIND", 100)
    c = build(Settings())
    try:
        c.catch_up()  # the first version, empty: the network import made it already
        first = status(c.engine, 0)["active"]["tables"]  # type: ignore[index]

        head = _import(tmp_path, "year", 30, "2026-03-01")
        assert head >= 100
        c.catch_up()
        rebuilt = status(c.engine, head)["active"]
        assert rebuilt["tables"] != first, "built anew"  # type: ignore[index]
        assert rebuilt["behind"] == 0  # type: ignore[index]

        head += _import(tmp_path, "day", 2, "2027-03-01")
        c.catch_up()
        caught_up = status(c.engine, head)["active"]
        assert caught_up["tables"] == rebuilt["tables"], "caught up in place"  # type: ignore[index]
        assert caught_up["behind"] == 0  # type: ignore[index]
    finally:
        c.close()
