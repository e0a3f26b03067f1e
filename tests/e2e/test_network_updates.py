"""Network files change: points are added, renamed, moved and retired, never lost."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e.cli import run, run_json


def _write(path: Path, points: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text(yaml.safe_dump(points, allow_unicode=True), encoding="utf-8")
    return path


def test_a_point_in_use_can_be_retired_but_not_removed(env: dict[str, str], examples: Path,
                                                       tmp_path: Path) -> None:
    points = yaml.safe_load((examples / "network.yaml").read_text(encoding="utf-8"))
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(examples / "cases.jsonl"))[0] == 0
    without_ly = [p for p in points if p["id"] not in ("ly", "ly-yc", "ly-lj", "ly-women",
                                                       "ly-yc-jx")]
    code, _ = run("network", "import", str(_write(tmp_path / "n1.yaml", without_ly)))
    assert code == 2  # ly is used by the examples' cases
    retired = [dict(p, retired=True) if p["id"] == "ly" else p for p in points]
    renamed = [dict(p, name="隆阳区法律援助中心（新址）") if p["id"] == "ly-yc" else p
               for p in retired]
    moved = [dict(p, parent="tc") if p["id"] == "ly-women" else p for p in renamed]
    pruned = [p for p in moved if p["id"] != "sd-ds-02"]  # never used by an event
    changes = run_json("network", "import", str(_write(tmp_path / "n2.yaml", pruned)))
    assert changes == {"points": 12, "added": 0, "changed": 2, "retired": 1, "removed": 1}

    new_case = tmp_path / "new.jsonl"
    new_case.write_text(json.dumps({
        "event_id": "N-1", "case_id": "N", "type": "application_received",
        "occurred_at": "2026-03-03T09:00:00+08:00",
        "data": {"service_point": "ly", "channel": "walk_in", "category": "civil",
                 "groups": []}}) + "\n")
    assert run("import", str(new_case))[0] == 1
    reject = json.loads((tmp_path / "new.jsonl.rejects.jsonl").read_text())
    assert reject["rule"] == "retired_service_point"
    # The retired point keeps its history.
    assert run_json("case", "show", "EX-09", "--format", "json")["service_point"] == "ly"


def test_a_network_with_two_roots_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    code, _ = run("network", "import", str(_write(tmp_path / "bad.yaml", [
        {"id": "a", "name": "A", "level": "city", "parent": None, "area": "urban",
         "kind": "centre"},
        {"id": "b", "name": "B", "level": "city", "parent": None, "area": "urban",
         "kind": "centre"}])))
    assert code == 2
