"""`projections rebuild` straight after an import also chains every event (issue 6), which takes
about as long as the build: the progress bar must show that stage too, not sit at 100 %."""

from __future__ import annotations

from pathlib import Path

from sixhours.bootstrap import build
from sixhours.settings import Settings
from tests.e2e.cli import run, run_json


def test_a_rebuild_after_an_import_reports_the_build_and_the_hash_chain(
        env: dict[str, str], tmp_path: Path) -> None:
    run_json("generate", "--out", str(tmp_path), "--cases", "60", "--seed", "5",
             "--start", "2026-03-01", "--days", "5")
    assert run("network", "import", str(tmp_path / "network.yaml"))[0] == 0
    imported = run_json("import", str(tmp_path / "events.jsonl"))
    reports: list[tuple[str, int, int]] = []
    c = build(Settings())
    try:
        c.catch_up(progress=lambda stage, done, total: reports.append((stage, done, total)),
                   rebuild=True)
    finally:
        c.close()
    stages = [stage for stage, _, _ in reports]
    assert "rebuild" in stages
    chain = [(done, total) for stage, done, total in reports if stage == "hash chain"]
    assert chain and chain[-1] == (imported["stored"], imported["stored"])
    assert stages.index("hash chain") > stages.index("rebuild")
