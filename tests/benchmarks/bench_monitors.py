"""Monitor benchmarks (issue 5): the alert pass and /metrics with many open clocks, and how long
a passing deadline takes to reach Alertmanager.

    python -m tests.benchmarks.bench_monitors --backend both --open-clocks 1000000 \
        --workdir /tmp/sixhours-monbench --json-out /tmp/sixhours-monbench/full.json

For each backend, on a fresh database (SQLite file / PostgreSQL database):
1. the generated workload (`--history-cases` cases over the last 365 days) is imported and
   projected, so rollups hold a year of figures;
2. `--open-clocks` open clock rows are added to the active read model directly (`bulk.insert_rows`):
   `--alerting` of them in warning or overdue now (due from 2 hours ago to 30 minutes ahead), the
   rest due over the next 30 days. They are index entries for the reads being measured, not
   cases: nothing re-evaluates them, and their cases have no events;
3. **pass**: a real Alertmanager is started; the first pass (a full one: every alerting clock,
   all sent) is timed, then `--passes` steady passes one second apart with no new events
   ("idle"); then the pass at which every firing alert falls due for its re-post (the sink
   re-posts every `--repost-seconds`, and the first pass sent them all at once: the whole
   outbox is due together, once per interval); then `--passes` with `--busy-cases` new
   applications recorded and projected before each ("busy"); all timed in-process around
   `AlertMonitor.run_pass()` (delivery included);
4. **scrape**: the worker's /metrics endpoint (`MonitorJobs`, real HTTP) is fetched `--scrapes`
   times, 1.1 s apart so that no scrape reuses the last one's figures;
5. **deadline**: `sixhours worker` runs as its own process with SIXHOURS_ALERTMANAGER_URL (default
   5 s pass interval); once its first pass is done, `--deadlines` cases are recorded whose review
   clock falls due a few seconds later; each latency is the time from the due instant to the
   first poll (every 100 ms) of Alertmanager's GET /api/v2/alerts that lists its overdue alert.

The machine's load averages (`os.getloadavg()`) are recorded before and after each part, since
other work on the box skews every figure. No timing assertions anywhere: the figures go to
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import urllib.request
import uuid
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitors.alertmanager import AlertmanagerSink
from monitors.jobs import MonitorJobs
from monitors.leader import leader_for
from monitors.outbox import firing_count
from monitors.passes import AlertMonitor
from projections.bulk import insert_rows
from projections.read_models import versions
from sixhours import workload
from sixhours.bootstrap import Container, utc_now
from sixhours.monitoring import changed_cases, monitor_parts
from tests.monitors.scenario import (
    Case,
    caught_up,
    generated_history,
    settings_env,
    start_worker,
    stop_worker,
    store,
)
from tests.monitors.servers import Alertmanager, free_port, wait_for

PG_ADMIN = os.environ.get("SIXHOURS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
US, HOUR_US, DAY_US = 1_000_000, 3_600_000_000, 86_400_000_000
CLOCKS = ("onsite", "review", "assignment", "first_meeting", "follow_up")
AM_CONFIG = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    rank = max(int(0.95 * len(ordered) + 0.999) - 1, 0)
    return {"n": len(values), "p50": statistics.median(ordered), "p95": ordered[rank],
            "max": ordered[-1]}


def add_open_clocks(c: Container, count: int, alerting: int, seed: int = 1) -> dict[str, int]:
    """`count` open clock rows, `alerting` of them in warning or overdue now."""
    tables = versions(c.engine).active
    assert tables is not None
    points = sorted(c.network().points)
    rng, now = random.Random(seed), int(time.time() * US)
    Row = namedtuple("Row", "policy case_id clock state started_us due_us service_point channel "  # type: ignore[misc]
                            "category last_event_us")
    policy = c.settings.default_policy
    made = 0
    while made < count:
        batch = []
        for i in range(made, min(made + 50_000, count)):
            if i < alerting:
                due = now + rng.randrange(-2 * HOUR_US, HOUR_US // 2)
            else:
                due = now + HOUR_US + rng.randrange(30 * DAY_US)
            batch.append(Row(policy, f"BENCH-{i:08d}", CLOCKS[i % len(CLOCKS)], "open",
                             due - HOUR_US, due, rng.choice(points), "walk_in", "civil",
                             now - DAY_US))
        with c.engine.begin() as conn:
            insert_rows(conn, tables.clocks, batch)
        made += len(batch)
    if c.engine.dialect.name == "postgresql":
        # A million rows arrive here in one go, not over weeks with autovacuum behind them (and
        # this server may run without it): vacuum and analyze, so that the reads measured are
        # those of a settled table, not of the first visit to each freshly written page; and
        # flush the load's dirty pages, so that the passes do not share the disk with that.
        with c.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
    return {"open_clocks": count, "alerting": alerting}


def _monitor(c: Container, am: Alertmanager, repost_seconds: float = 60.0) -> AlertMonitor:
    return AlertMonitor(c.engine, c.engine, lambda: versions(c.engine).active, c.network,
                        c.policies[c.settings.default_policy], c.settings.tz,
                        [AlertmanagerSink(am.url, repost_seconds)], leader_for(c.engine, "bench"),
                        utc_now, changed_cases(c.service.recorder))


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure_passes(c: Container, am: Alertmanager, passes: int, busy_cases: int,
                   repost_seconds: float) -> dict[str, Any]:
    m = _monitor(c, am, repost_seconds)
    result: dict[str, Any] = {"load_before": _load(), "repost_seconds": repost_seconds}
    started = time.perf_counter()
    first = m.run_pass()
    sent_at = time.monotonic()
    result |= {"first_full_s": time.perf_counter() - started, "first_full_read": first.read,
               "first_full_sent": (first.sent or {}).get("alertmanager", 0)}
    idle, busy, read = [], [], []
    for _ in range(passes):
        time.sleep(1.0)
        t = time.perf_counter()
        report = m.run_pass()
        idle.append(time.perf_counter() - t)
        assert not report.full
    # Every alert the first pass sent falls due for its re-post at once, a re-post interval on.
    time.sleep(max(sent_at + repost_seconds + 0.5 - time.monotonic(), 0.0))
    t = time.perf_counter()
    report = m.run_pass()
    result |= {"repost_s": time.perf_counter() - t,
               "repost_sent": (report.sent or {}).get("alertmanager", 0)}
    points = [p for p in sorted(c.network().points) if "-t" in p][:20]
    for n in range(passes):
        time.sleep(1.0)
        for k in range(busy_cases):
            Case(c, points[(n + k) % len(points)]).received()
        c.catch_up()
        t = time.perf_counter()
        report = m.run_pass()
        busy.append(time.perf_counter() - t)
        read.append(report.read)
    t = time.perf_counter()
    m.full_every_us = 0
    full = m.run_pass()
    result |= {"idle_s": _stats(idle), "busy_s": _stats(busy), "busy_cases_per_pass": busy_cases,
               "busy_read_p50": statistics.median(read), "full_s": time.perf_counter() - t,
               "full_read": full.read, "load_after": _load()}
    m.close()
    return result


def measure_scrapes(c: Container, scrapes: int) -> dict[str, Any]:
    parts = monitor_parts(c, c.engine)
    parts.metrics_port = free_port()
    parts.sinks = ()
    jobs = MonitorJobs(parts).start()
    url = f"http://127.0.0.1:{parts.metrics_port}/metrics"
    load_before = _load()
    try:
        times, size = [], 0
        for _ in range(scrapes):
            time.sleep(1.1)
            t = time.perf_counter()
            body = urllib.request.urlopen(url, timeout=60).read()
            times.append(time.perf_counter() - t)
            size = len(body)
        series = sum(1 for line in body.decode().splitlines() if line and line[0] != "#")
        return {"scrape_s": _stats(times), "bytes": size, "series": series,
                "load_before": load_before, "load_after": _load()}
    finally:
        jobs.stop()


def measure_deadlines(c: Container, env: dict[str, str], am: Alertmanager, workdir: Path,
                      deadlines: int) -> dict[str, Any]:
    worker = start_worker({**env, "SIXHOURS_ALERTMANAGER_URL": am.url}, workdir / "worker.log")
    load_before = _load()
    try:
        policy = c.settings.default_policy
        wait_for(lambda: _first_pass_done(c, policy), 600, "the worker's first alert pass")
        points = [p for p in sorted(c.network().points) if "-t" in p]
        due_at: dict[str, datetime] = {}
        for k in range(deadlines):  # due 10 s from now, then one every 3 s
            due = utc_now() + timedelta(seconds=10 + 3 * k)
            case = Case(c, points[k % len(points)])
            case.step("application_received", {"service_point": case.point, "channel": "walk_in",
                                               "category": "civil", "groups": []},
                      due - timedelta(hours=1))
            due_at[case.case_id] = due
        latencies: dict[str, float] = {}
        deadline = time.monotonic() + 120 + 3 * deadlines
        while len(latencies) < deadlines and time.monotonic() < deadline:
            listed = urllib.request.urlopen(f"{am.url}/api/v2/alerts?filter=severity%3D%22overdue%22"
                                            f"&filter=clock%3D%22review%22", timeout=10).read()
            seen = utc_now()
            for alert in json.loads(listed):
                case_id = alert["labels"]["case_id"]
                if case_id in due_at and case_id not in latencies:
                    latencies[case_id] = (seen - due_at[case_id]).total_seconds()
            time.sleep(0.1)
        return {"deadlines": deadlines, "arrived": len(latencies),
                "deadline_to_alertmanager_s": _stats(list(latencies.values())) if latencies else None,
                "pass_interval_s": c.settings.monitor_interval_seconds,
                "load_before": load_before, "load_after": _load()}
    finally:
        stop_worker(worker)


def _first_pass_done(c: Container, policy: str) -> bool:
    with c.engine.connect() as conn:
        return firing_count(conn, policy) > 0


def run_backend(backend: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    url, drop = _database(backend, workdir)
    env = settings_env(url)
    am = Alertmanager(workdir / "am", AM_CONFIG)
    am.start()
    try:
        with store(env) as c:
            started = time.perf_counter()
            start = (utc_now() - timedelta(days=366)).replace(hour=0, minute=0, second=0,
                                                             microsecond=0)
            events = generated_history(c, workdir, args.history_cases, start, 365)
            c.catch_up()
            assert caught_up(c)
            setup = {"history_events": events, "history_s": time.perf_counter() - started}
            t = time.perf_counter()
            setup |= add_open_clocks(c, args.open_clocks, args.alerting)
            setup["insert_s"] = time.perf_counter() - t
            result = {"setup": setup,
                      "pass": measure_passes(c, am, args.passes, args.busy_cases,
                                             args.repost_seconds),
                      "scrape": measure_scrapes(c, args.scrapes),
                      "deadline": measure_deadlines(c, env, am, workdir, args.deadlines)}
    finally:
        am.stop()
        drop()
    return result


def _database(backend: str, workdir: Path) -> tuple[str, Any]:
    if backend == "sqlite":
        path = workdir / "bench.sqlite"
        for leftover in workdir.glob("bench.sqlite*"):
            leftover.unlink()
        return f"sqlite:///{path}", lambda: None
    import psycopg
    name = f"sixhours_monbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, drop


def run(*, backend: str, workdir: Path, open_clocks: int, alerting: int, history_cases: int,
        passes: int = 20, busy_cases: int = 20, scrapes: int = 10, deadlines: int = 5,
        repost_seconds: float = 60.0) -> dict[str, Any]:
    args = argparse.Namespace(open_clocks=open_clocks, alerting=alerting,
                              history_cases=history_cases, passes=passes, busy_cases=busy_cases,
                              scrapes=scrapes, deadlines=deadlines, repost_seconds=repost_seconds)
    backends = ["sqlite", "postgres"] if backend == "both" else [backend]
    return {"started": datetime.now(UTC).isoformat(), "python": sys.version.split()[0],
            "parameters": vars(args),
            "backends": {b: run_backend(b, workdir / b, args) for b in backends}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--open-clocks", type=int, default=1_000_000)
    parser.add_argument("--alerting", type=int, default=10_000)
    parser.add_argument("--history-cases", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--busy-cases", type=int, default=20)
    parser.add_argument("--scrapes", type=int, default=10)
    parser.add_argument("--deadlines", type=int, default=5)
    parser.add_argument("--repost-seconds", type=float, default=60.0,
                        help="the Alertmanager sink's re-post interval (the worker's default)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sixhours-monbench"))
    parser.add_argument("--json-out", type=Path)
    a = parser.parse_args()
    results = run(backend=a.backend, workdir=a.workdir, open_clocks=a.open_clocks,
                  alerting=a.alerting, history_cases=a.history_cases, passes=a.passes,
                  busy_cases=a.busy_cases, scrapes=a.scrapes, deadlines=a.deadlines,
                  repost_seconds=a.repost_seconds)
    text = json.dumps(results, indent=1, ensure_ascii=False)
    if a.json_out:
        a.json_out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()


__all__ = ["run", "workload"]
