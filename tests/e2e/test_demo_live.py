"""Issue 8: the live demo workload, and the README's main command (`scripts/demo`).

Given the worked examples' network and cases in a store served by `sixhours serve` on loopback,
when `sixhours demo live` runs for a while (a seed, a high arrival rate, a backlog of cases that
arrived in the past day) and is stopped with SIGTERM, then it exits 0, every step it posted was
accepted and is stored exactly, it started the cases it says, and the figures count them. A
second run on the same store starts new cases, never reusing an id. A step the server refuses
is printed with its rule code and counted, and the workload goes on. `scripts/demo` stops after
the report with SIXHOURS_DEMO_SERVE=0, and otherwise serves the web pages (its demo accounts log
in), /metrics and the live workload until Ctrl-C stops all of it, also when run a second time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import Principal, Role
from sixhours.bootstrap import build, utc_now
from sixhours.serve import keyring
from sixhours.settings import Settings
from sixhours.workload import baoshan_network, write_network
from tests.e2e.cli import run
from tests.monitors.servers import free_port, wait_for
from tests.web.browser import Server
from tests.web.conftest import hidden

REPO = Path(__file__).resolve().parents[2]
LIVE_ID = re.compile(r"^LIVE-\d{8}-\d{6}$")
VOLUME = {"received": ("application_received", None), "granted": ("reviewed", "granted"),
          "refused": ("reviewed", "refused"), "withdrawn": ("withdrawn", None),
          "closed": ("closed", None)}


def _live(url: str, journal: Path, seed: int, env: dict[str, str],
          enough: Callable[[list[dict[str, Any]]], bool]) -> tuple[dict[str, Any], str]:
    """Run `sixhours demo live` until its journal is `enough`, then SIGTERM it: its summary
    and what it printed on stderr."""
    errors = journal.with_suffix(".stderr")
    with errors.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sixhours.cli", "demo", "live", "--url", url, "--seed", str(seed),
             "--every", "0.05", "--backlog", "30", "--backlog-hours", "30", "--journal", str(journal)],
            cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=stderr)
        try:
            wait_for(lambda: journal.is_file() and enough(_journal(journal)), 120,
                     f"enough steps in {journal}")
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
    printed = errors.read_text()
    assert proc.returncode == 0, printed
    return dict(json.loads(out.decode().strip().splitlines()[-1])), printed


def _ten_cases(journal: list[dict[str, Any]]) -> bool:
    return len(_cases(journal)) >= 10


def _journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _cases(entries: list[dict[str, Any]]) -> set[str]:
    return {e["case_id"] for e in entries if e["type"] == "application_received"}


def _figures(url: str, settings: Settings, first: str, last: str) -> dict[str, Any]:
    token = keyring(settings).issue(Principal("test-leader", Role.leadership), 600)
    answer = httpx.get(f"{url}/figures", params={"from": first, "to": last}, timeout=30,
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_live_workload_posts_valid_steps_that_the_figures_count(
        tmp_path: Path, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"SIXHOURS_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite'}",
           "SIXHOURS_DEV_MODE": "1", "SIXHOURS_LANG": "en"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert run("network", "import", str(examples / "network.yaml"))[0] == 0
    assert run("import", str(examples / "cases.jsonl"))[0] == 0
    server = Server(env, tmp_path / "serve.log")
    server.start()
    try:
        first, _ = _live(server.url, tmp_path / "first.jsonl", 5, env, _ten_cases)
        second, _ = _live(server.url, tmp_path / "second.jsonl", 5, env, _ten_cases)
        runs = [(first, _journal(tmp_path / "first.jsonl")),
                (second, _journal(tmp_path / "second.jsonl"))]
        stored = _check_store(settings, runs)
        _check_figures(server.url, settings, stored)
    finally:
        server.stop()


def _check_store(settings: Settings, runs: list[tuple[dict[str, Any], list[dict[str, Any]]]]
                 ) -> list[Any]:
    """Each run's summary matches its journal, and the store holds exactly what was posted."""
    started: list[set[str]] = []
    for summary, journal in runs:
        assert summary["refused"] == 0 and summary["refusals"] == {}
        assert {e["status"] for e in journal} <= {200, 201}  # 200: a retried post, stored once
        assert summary["steps_posted"] == len(journal)
        assert summary["cases_started"] == len(_cases(journal)) >= 10
        assert all(LIVE_ID.match(e["case_id"]) for e in journal)
        started.append(_cases(journal))
    assert not started[0] & started[1], "the second run reused case ids"
    posted: dict[str, list[tuple[str, str]]] = {}
    for _, journal in runs:
        for e in journal:
            posted.setdefault(e["case_id"], []).append((e["event_id"], e["type"]))
    container = build(settings)
    try:
        steps = []
        for case_id, events in posted.items():
            history = sorted(container.service.history(case_id), key=lambda s: s.seq)
            assert [(s.event_id, s.type) for s in history] == events, case_id
            steps += history
        assert container.service.history("EX-01"), "the imported cases are still there"
        return steps
    finally:
        container.close()


def _check_figures(url: str, settings: Settings, steps: list[Any]) -> None:
    """The figures over the live cases' dates count every posted application and decision."""
    tz = settings.tz
    first = min(s.occurred_at for s in steps).astimezone(tz).date().isoformat()
    last = utc_now().astimezone(tz).date().isoformat()
    expected = {key: sum(1 for s in steps if s.type == kind
                         and (decision is None or s.data.get("decision") == decision))
                for key, (kind, decision) in VOLUME.items()}
    assert expected["received"] and expected["granted"]

    def counted() -> dict[str, Any] | None:
        volume = _figures(url, settings, first, last)["volume"]
        return volume if all(volume[k] == v for k, v in expected.items()) else None
    wait_for(counted, 120, f"the figures to count {expected}")


def test_refusals_are_printed_and_counted_and_the_workload_goes_on(
        tmp_path: Path, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workload plans from its own store's network, the Baoshan-like one; the server's
    store knows only the worked examples' points, so it refuses applications elsewhere."""
    served = {"SIXHOURS_DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite'}",
              "SIXHOURS_DEV_MODE": "1", "SIXHOURS_LANG": "en"}
    planned = {**served, "SIXHOURS_DATABASE_URL": f"sqlite:///{tmp_path / 'planned.sqlite'}"}
    write_network(tmp_path / "network.yaml", baoshan_network(1))
    for env, network in ((served, examples / "network.yaml"), (planned, tmp_path / "network.yaml")):
        monkeypatch.setenv("SIXHOURS_DATABASE_URL", env["SIXHOURS_DATABASE_URL"])
        monkeypatch.setenv("SIXHOURS_DEV_MODE", "1")
        assert run("network", "import", str(network))[0] == 0
    server = Server(served, tmp_path / "serve.log")
    server.start()
    try:
        summary, printed = _live(server.url, tmp_path / "live.jsonl", 3, planned, lambda journal: (
            sum(e["status"] == 422 for e in journal) >= 3 and sum(e["status"] == 201 for e in journal) >= 3))
    finally:
        server.stop()
    journal = _journal(tmp_path / "live.jsonl")
    refused = [e for e in journal if e["status"] != 201]
    assert {(e["status"], e["rule"]) for e in refused} == {(422, "unknown_service_point")}
    assert {e["type"] for e in refused} <= {"application_received", "transferred"}
    assert summary["refused"] == len(refused) and summary["refusals"] == {
        "unknown_service_point": len(refused)}
    assert summary["steps_posted"] == len(journal) - len(refused)
    assert printed.count("refused unknown_service_point: ") == len(refused)


def _script_env(folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXHOURS_")}
    return {**env, "SIXHOURS_DEMO_DIR": str(folder), "SIXHOURS_DEMO_CASES": "120",
            "SIXHOURS_LANG": "en", **extra}


def test_demo_stops_after_the_report_when_asked(tmp_path: Path) -> None:
    done = subprocess.run([str(REPO / "scripts" / "demo")], env=_script_env(
        tmp_path, SIXHOURS_DEMO_SERVE="0"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Six hours compliance" in done.stdout
    assert "Six Hours is running" not in done.stdout
    assert (tmp_path / "sixhours.sqlite").is_file()


def test_demo_serves_everything_until_ctrl_c_and_runs_again(tmp_path: Path) -> None:
    first = _serve_demo(tmp_path)
    assert first["stored"] == first["lines"] > 0
    second = _serve_demo(tmp_path)  # same folder: accounts and events already there
    assert second["stored"] == 0 and second["duplicates"] == second["lines"]


def _serve_demo(folder: Path) -> dict[str, Any]:
    """Run scripts/demo, use what it prints, press Ctrl-C; its import summary."""
    port, metrics = free_port(), free_port()
    before = _stored_live_cases(folder)
    out = (folder / "out.txt").open("w")
    proc = subprocess.Popen([str(REPO / "scripts" / "demo")], stdout=out, stderr=subprocess.STDOUT,
                            env=_script_env(folder, SIXHOURS_DEMO_PORT=str(port),
                                            SIXHOURS_METRICS_PORT=str(metrics),
                                            SIXHOURS_DEMO_EVERY="0.2", SIXHOURS_DEMO_BACKLOG="20"),
                            start_new_session=True)  # its own process group, as in a terminal
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: "Six Hours is running" in (folder / "out.txt").read_text(), 300,
                 f"the demo to start ({folder / 'out.txt'})")
        _log_in(base, "demo-clerk", "sixhours-demo")
        assert "sixhours_clock_outcomes" in httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=60).text
        wait_for(lambda: _live_cases(_api_knows(base)) > before, 120, "new live cases")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        proc.wait(timeout=120)
        out.close()
    printed = (folder / "out.txt").read_text()
    assert proc.returncode == 0, printed
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # the server and the live workload stopped too
    summary = json.loads(next(line for line in printed.splitlines() if '"cases_started"' in line))
    assert summary["refused"] == 0
    return dict(json.loads(next(line for line in printed.splitlines() if '"stored"' in line)))


def _log_in(base: str, subject: str, password: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/web/login")
        answer = client.post("/web/login", data={"nonce": hidden(form.text, "nonce"), "next": "/web/",
                                                 "subject": subject, "password": password})
        assert answer.status_code == 303, answer.text


def _live_cases(exists: Callable[[str], bool]) -> int:
    """LIVE- cases numbered from 1 without a gap, for today and yesterday (the backlog's day)."""
    today, total = utc_now().astimezone(Settings().tz), 0
    for day in (today, today - timedelta(days=1)):
        number = 1
        while exists(f"LIVE-{day:%Y%m%d}-{number:06d}"):
            number += 1
        total += number - 1
    return total


def _api_knows(base: str) -> Callable[[str], bool]:
    token = keyring(Settings(dev_mode=True)).issue(Principal("test-clerk", Role.clerk, "bs"), 600)
    return lambda case_id: httpx.get(f"{base}/cases/{case_id}", timeout=10, headers={
        "Authorization": f"Bearer {token}"}).status_code == 200


def _stored_live_cases(folder: Path) -> int:
    if not (folder / "sixhours.sqlite").is_file():
        return 0
    container = build(Settings(database_url=f"sqlite:///{folder / 'sixhours.sqlite'}",
                               dev_mode=True))
    try:
        return _live_cases(lambda case_id: bool(container.service.history(case_id)))
    finally:
        container.close()
