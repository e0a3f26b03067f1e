"""Scenario helpers for the monitor tests: a store with a network, cases built step by step.

A short policy (`quick`, seconds instead of an hour) lets a clock pass 50%, 75% and its deadline
while a test watches; it is a policy file like any bureau's (SIXHOURS_POLICY_FILES).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from domain.events import parse_event
from domain.network import parse_points, update_network
from projections.network_store import points_used_by_events, save_network
from projections.read_models import status as read_model_status
from sixhours import workload
from sixhours.bootstrap import Container, build, utc_now
from sixhours.importer import import_files
from sixhours.settings import Settings

QUICK = "quick"
_ids = itertools.count(1)


def quick_policy_file(folder: Path, seconds: float = 12.0) -> Path:
    """Every one-hour clock lasts `seconds` (reach keeps its hour: it is measured, not run)."""
    minutes = seconds / 60
    path = folder / "quick.yaml"
    clocks = {name: {"minutes": minutes} for name in
              ("onsite", "review", "assignment", "first_meeting", "follow_up")}
    clocks["reach"] = {"minutes": 60}
    path.write_text(yaml.safe_dump({"name": QUICK, "version": f"s{seconds:g}",
                                    "finish_clock": "follow_up", "clocks": clocks,
                                    "warning_thresholds": [0.5, 0.75]}))
    return path


def settings_env(database_url: str, policy_file: Path | None = None, **extra: str) -> dict[str, str]:
    env = {"SIXHOURS_DATABASE_URL": database_url, "SIXHOURS_DEV_MODE": "1", "SIXHOURS_LANG": "en"}
    if policy_file is not None:
        env["SIXHOURS_POLICY_FILES"] = f'["{policy_file}"]'
        env["SIXHOURS_DEFAULT_POLICY"] = QUICK
    return {**env, **extra}


@contextmanager
def store(env: dict[str, str]) -> Iterator[Container]:
    values: dict[str, Any] = {"database_url": env["SIXHOURS_DATABASE_URL"], "dev_mode": True}
    if "SIXHOURS_POLICY_FILES" in env:
        values["policy_files"] = [Path(env["SIXHOURS_POLICY_FILES"][2:-2])]
        values["default_policy"] = env["SIXHOURS_DEFAULT_POLICY"]
    c = build(Settings(**values))
    try:
        yield c
    finally:
        c.close()


def load_network(c: Container, points: list[dict[str, Any]]) -> None:
    updated, changes = update_network(c.network(), parse_points(points),
                                      points_used_by_events(c.engine))
    save_network(c.engine, list(updated.points.values()), changes)


def generated_history(c: Container, folder: Path, cases: int, start: datetime, days: int) -> int:
    """The synthetic Baoshan workload, imported: its network and `cases` cases over `days`."""
    network = workload.baoshan_network(1)
    load_network(c, network)
    path = folder / "history.jsonl"
    workload.write_events(path, network, cases, 5, start, days)
    summary = import_files([path], c.service, c.network(), now=utc_now(), lang="en")
    assert summary.refused == 0, summary
    return summary.stored


class Case:
    """One case, built step by step with times relative to now."""

    def __init__(self, c: Container, point: str, channel: str = "walk_in") -> None:
        self.c = c
        self.case_id = f"MON-{utc_now():%H%M%S}-{next(_ids):04d}"
        self.point, self.channel = point, channel

    def step(self, kind: str, data: dict[str, Any], at: datetime | None = None) -> None:
        at = at or utc_now()
        raw = {"event_id": f"{self.case_id}-{next(_ids)}", "case_id": self.case_id, "type": kind,
               "occurred_at": at.isoformat(), "recorded_at": max(at, utc_now()).isoformat(),
               "data": data}
        result = self.c.service.record_batch([parse_event(raw, default_recorded_at=at)],
                                             self.c.network())
        assert not result.refused, result.refused

    def received(self, ago: timedelta = timedelta(0),
                 applicant: dict[str, str] | None = None) -> Case:
        data: dict[str, Any] = {"service_point": self.point, "channel": self.channel,
                                "category": "civil", "groups": ["migrant_worker"]}
        if applicant:
            data["applicant"] = applicant
        self.step("application_received", data, utc_now() - ago)
        return self

    def reviewed(self, decision: str = "granted") -> None:
        data = {"decision": decision} | ({"reason": "不属于法律援助事项范围"}
                                         if decision == "refused" else {})
        self.step("reviewed", data)

    def withdrawn(self) -> None:
        self.step("withdrawn", {"reason": "申请人撤回申请"})


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`sixhours worker` as its own process, as an operator runs it."""
    handle = log.open("ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "sixhours.cli", "worker"],
                                env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT)
    finally:
        handle.close()


def stop_worker(worker: subprocess.Popen[bytes]) -> int:
    worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        raise


def caught_up(c: Container) -> bool:
    head = c.service.recorder.max_notification_id() or 0
    state = read_model_status(c.engine, head)
    active = state["active"]
    return bool(state["building"] is None and isinstance(active, dict) and active["behind"] == 0)
