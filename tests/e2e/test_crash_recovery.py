"""An import killed with SIGKILL midway, then run again, ends with exactly the file's events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from sixhours.bootstrap import read_model_engine
from tests.e2e.cli import run, run_json


def _stored(url: str) -> tuple[int, int]:
    sqlite = url.startswith("sqlite")
    engine = read_model_engine(url) if sqlite else create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1))
    table = "stored_events" if sqlite else "sixhours_events"  # eventsourcing's names per backend
    try:
        with engine.connect() as conn:
            events = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            ids = conn.execute(text("SELECT COUNT(DISTINCT event_id) FROM sixhours_event_ids")
                               ).scalar_one()
        return int(events), int(ids)
    except Exception:  # noqa: BLE001 - the tables may not exist yet
        return 0, 0
    finally:
        engine.dispose()


def test_kill_9_midway_then_import_again_stores_every_event_once(
        env: dict[str, str], tmp_path: Path) -> None:
    generated = run_json("generate", "--out", str(tmp_path), "--cases", "4000", "--seed", "11",
                         "--days", "20")
    assert run("network", "import", str(tmp_path / "network.yaml"))[0] == 0
    source = tmp_path / "events.jsonl"
    total = generated["count"]
    url = env["SIXHOURS_DATABASE_URL"]
    child = subprocess.Popen([sys.executable, "-m", "sixhours.cli", "import", "--batch", "100",
                              str(source)], env={**os.environ, **env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _stored(url)[0] < total // 4 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    stored_at_kill = _stored(url)[0]
    assert 0 < stored_at_kill < total, "the import must be killed midway for this test to mean anything"

    code, out = run("import", str(source))
    assert code == 0, out
    summary = json.loads(out)
    assert summary["stored"] + summary["duplicates"] == total
    assert summary["stored"] == total - stored_at_kill
    assert _stored(url) == (total, total)
    file_ids = {json.loads(line)["event_id"] for line in source.read_text().splitlines()}
    assert len(file_ids) == total
