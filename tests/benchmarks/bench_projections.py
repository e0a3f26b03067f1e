"""Projection benchmarks (issue 3): rebuild speed, peak RSS, freshness and the report from rollups.

    python -m tests.benchmarks.bench_projections --backend both --events 1000000 \
        --workdir /tmp/sixhours-projbench --json-out /tmp/sixhours-projbench/full.json

Every measurement runs on a fresh database of each backend (SQLite file / PostgreSQL database),
with the deterministic workload of `bench_import` (about N events, cases = N / 8.3 arriving over
365 days from 2025-01-01), imported with `sixhours network import` and `sixhours import`:

1. **rebuild** (N events): a first catch-up (`bench_import`'s child) and the report as of a fixed
   time; then, in the same run,
   (a) read + decode: a child reads the notification log through `Container.notifications.read(after,
       500)` from 0 to the head (the recorder's select and the library's mapper decode), timed
       in-process;
   (b) `python -m sixhours.cli projections rebuild` in a child: wall time (start-up included),
       events/s = head / wall, peak RSS; the report after it must equal the one before;
   (c) the stock `eventsourcing.projection.ProjectionRunner` with a minimal `Projection` whose view
       writes one row per event into its own table (same backend, same database) together with its
       tracking position, one transaction per event, over the first `--stock-sample` events.
       The SQLite recorder of eventsourcing 9.5 has no `subscribe()`, so on SQLite the stock
       recorder is given a polling subscription that pages the notification log 500 at a time,
       like the library's PostgreSQL `ListenNotifySubscription`; everything else is stock.
2. **rss**: the same import + `projections rebuild` at N and at M (default 3 × N) events.
3. **freshness**: N events imported, `python -m sixhours.cli worker` started and caught up; a
   writer child then records new cases' steps (`sixhours.workload` dicts, `parse_event`,
   `Container.service.record_batch`) in batches every 20 ms at `--fresh-rate` steps/s for
   `--fresh-seconds`. For every batch that holds applications, a thread of the writer polls the
   active `rollup_days` row (volume/received of that local day) on its own connection until it
   holds the batch's applications: latency = first poll that sees it − return of `record_batch`.
4. **report**: C cases imported and caught up (on the M database of the rss step when C is its
   case count): in a child, `Container.queries.report(ReportRequest("six-hours", now, 2025-01-01,
   2025-12-31))` once cold, then `--report-runs` times (p50/p95/max; provenance must say
   "rollups"); and the whole `sixhours report --from 2025-01-01 --to 2025-12-31 --format json`
   command three times, for reference.

Prints a summary per backend and writes every figure to `--json-out`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import closing, suppress
from datetime import UTC, date, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Notification, Subscription, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from sixhours import workload
from tests.benchmarks.bench_import import (
    BACKENDS,
    CATCH_UP,
    EVENTS_PER_CASE,
    REPO,
    SEED,
    Database,
    Workload,
    _checked,
    _last_json,
    _mb,
    child_env,
    fresh_database,
    machine,
    make_workload,
    measure,
)

DEFAULT_EVENTS = 2000
SECTIONS = ("rebuild", "rss", "freshness", "report")
READ_BATCH = 500
STOCK_SAMPLE = 50_000
FRESH_RATE = 500.0  # steps/s
FRESH_SECONDS = 60.0
FRESH_TICK = 0.02  # one record_batch every 20 ms
FRESH_POLL = 0.005  # the visibility poller's interval
FRESH_DRAIN = 30.0  # how long after the window a sample may still become visible
FRESH_START = "2026-01-05"  # the writer's new cases (BS-2026-…): never clash with the 2025 workload
FRESH_SEED = 7
REPORT_RUNS = 20
REPORT_CLI_RUNS = 3
YEAR = date(2025, 1, 1), date(2025, 12, 31)  # the workload's year (bench_import.START)
POLICY = "six-hours"
PG_TRIES = 5
TARGETS = {"rebuild_to_read_decode": 0.5, "rss_growth": 0.25, "freshness_p99_s": 1.0,
           "report_p95_s": 0.1}
CHILD = [sys.executable, "-c",
         "import sys; from tests.benchmarks.bench_projections import child_main; "
         "child_main(sys.argv[1:])"]


# --- small helpers ------------------------------------------------------------------------------


def _py() -> str:
    return sys.executable


def _nearest_rank(values: Sequence[float], q: float) -> float:
    """The q-quantile by nearest rank (never interpolated below an observed value)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": _nearest_rank(values, 0.5), "p95": _nearest_rank(values, 0.95),
            "p99": _nearest_rank(values, 0.99), "max": max(values), "mean": statistics.fmean(values)}


def _code_version() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return done.stdout.rstrip("\n")
    dirty = [line.strip() for line in git("status", "--porcelain", "--", "domain", "projections",
                                  "sixhours").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "subject": git("log", "-1", "--format=%s"),
            "uncommitted_code_files": dirty}


def _raw_connect(db: Database) -> Any:
    """A plain driver connection in autocommit mode (reads never take SQLite's write lock)."""
    if db.backend == "sqlite":
        return sqlite3.connect(db.name, timeout=60, isolation_level=None)
    import psycopg
    return psycopg.connect(db.url, autocommit=True)


def _rows(conn: Any, backend: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    if backend == "postgres":
        sql = sql.replace("?", "%s")
    return list(conn.execute(sql, tuple(params)).fetchall())


def _active_prefix(conn: Any, backend: str) -> str | None:
    found = _rows(conn, backend, "SELECT active FROM sixhours_read_models WHERE name = ?", ("cases",))
    return found[0][0] if found and found[0][0] else None


def _active_position(conn: Any, backend: str) -> int:
    prefix = _active_prefix(conn, backend)
    if prefix is None:
        return -1
    found = _rows(conn, backend, "SELECT position FROM sixhours_projection_positions WHERE name = ?",
                  (f"cases/{prefix}",))
    return int(found[0][0]) if found else 0


def _head(db: Database) -> int:
    table = "stored_events" if db.backend == "sqlite" else "sixhours_events"
    column = "rowid" if db.backend == "sqlite" else "notification_id"
    with closing(_raw_connect(db)) as conn:
        return int(_rows(conn, db.backend, f"SELECT MAX({column}) FROM {table}")[0][0] or 0)


def _import(db: Database, load: Workload) -> dict[str, Any]:
    env = child_env(db.url)
    _checked("network import", measure([_py(), "-m", "sixhours.cli", "network", "import",
                                        str(load.network)], env))
    imp = _checked("import", measure([_py(), "-m", "sixhours.cli", "import", str(load.events)], env),
                   allowed=(0, 1))
    summary = _last_json(imp.stdout)
    return {"events": load.count, "stored": summary["stored"], "refused": summary["refused"],
            "wall_s": imp.wall_s, "peak_rss_mb": _mb(imp.peak_rss_kib)}


def _catch_up(db: Database) -> dict[str, Any]:
    up = _checked("catch-up", measure([_py(), "-c", CATCH_UP], child_env(db.url)))
    figures = _last_json(up.stdout)
    return {"processed": figures["processed"], "wall_s": up.wall_s,
            "events_per_s": figures["processed"] / up.wall_s, "peak_rss_mb": _mb(up.peak_rss_kib)}


def _rebuild(db: Database, head: int) -> dict[str, Any]:
    m = _checked("rebuild", measure([_py(), "-m", "sixhours.cli", "projections", "rebuild"],
                                    child_env(db.url)))
    status = json.loads(m.stdout)
    tree_kib = max(m.peak_tree_rss_kib, m.peak_rss_kib)
    return {"head": head, "wall_s": m.wall_s, "events_per_s": head / m.wall_s,
            # the whole process tree (a big rebuild forks build processes), and the largest one
            "peak_rss_kib": tree_kib, "peak_rss_mb": _mb(tree_kib),
            "largest_process_rss_mb": _mb(m.peak_rss_kib), "status": status}


def _child(args: list[str], db: Database, what: str) -> Any:
    return _last_json(_checked(what, measure([*CHILD, *args], child_env(db.url))).stdout)


def _report_at(db: Database, as_of: datetime) -> dict[str, Any]:
    return _child(["report-body", as_of.isoformat()], db, "report")  # type: ignore[no-any-return]


# --- 1. rebuild -----------------------------------------------------------------------------------


def run_rebuild(backend: str, load: Workload, workdir: Path, stock_sample: int,
                profile: Path | None) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend}
    with fresh_database(backend, workdir, "rebuild") as db:
        result["import"] = _import(db, load)
        result["catch_up"] = _catch_up(db)
        head = _head(db)
        as_of = datetime.now(UTC)
        before = _report_at(db, as_of)
        sample = min(stock_sample, head)
        read = _child(["read-decode", str(sample)], db, "read + decode")
        result["read_decode"] = {**read, "events_per_s": read["events"] / read["seconds"]}
        result["rebuild"] = _rebuild(db, head)
        after = _report_at(db, as_of)
        result["report_before_equals_after"] = before == after
        result["report_figures_from"] = [before["provenance"]["figures_from"],
                                         after["provenance"]["figures_from"]]
        result["report_before"] = before
        stock = _child(["stock", str(read["sample_last_id"]), str(sample)], db, "stock runner")
        result["stock"] = {**stock, "events_per_s": stock["events"] / stock["seconds"]}
        if profile is not None:
            result["profile"] = _profile(db, profile)
    rebuild_rate = result["rebuild"]["events_per_s"]
    result["ratio_rebuild_to_read_decode"] = rebuild_rate / result["read_decode"]["events_per_s"]
    result["ratio_rebuild_to_stock"] = rebuild_rate / result["stock"]["events_per_s"]
    return result


def _profile(db: Database, out: Path) -> dict[str, Any]:
    """The rebuild once more, under cProfile (not a timed figure): the top functions."""
    import pstats
    out.parent.mkdir(parents=True, exist_ok=True)
    m = _checked("profiled rebuild", measure(
        [_py(), "-m", "cProfile", "-o", str(out), "-m", "sixhours.cli", "projections", "rebuild"],
        child_env(db.url)))
    text_path = out.with_suffix(".txt")
    with text_path.open("w") as f:
        stats = pstats.Stats(str(out), stream=f)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    return {"wall_s": m.wall_s, "stats": str(out), "text": str(text_path)}


# --- 2. rss ---------------------------------------------------------------------------------------


def run_rss(backend: str, loads: Sequence[Workload], workdir: Path,
            report_cases: int | None, report_runs: int) -> dict[str, Any]:
    sizes = []
    report: dict[str, Any] | None = None
    for load in loads:
        with fresh_database(backend, workdir, "rss") as db:
            imported = _import(db, load)
            head = _head(db)
            rebuilt = _rebuild(db, head)
            sizes.append({"events": head, "import_wall_s": imported["wall_s"], **rebuilt})
            if report_cases == load.cases and report is None:
                report = _report_figures(db, load, report_runs)
    small, big = sizes[0], sizes[-1]
    growth = big["peak_rss_kib"] / small["peak_rss_kib"] - 1
    return {"sizes": sizes, "rss_growth": growth, "report": report}


# --- 3. freshness -----------------------------------------------------------------------------------


def run_freshness(backend: str, load: Workload, workdir: Path, rate: float,
                  seconds: float) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend, "rate_target": rate, "window_s": seconds}
    with fresh_database(backend, workdir, "fresh") as db:
        result["import"] = _import(db, load)
        head = _head(db)
        env = child_env(db.url)
        log_path = Path(tempfile.gettempdir()) / f"sixhours-bench-worker-{os.getpid()}-{backend}.log"
        with log_path.open("w") as log:
            started = time.perf_counter()
            worker = subprocess.Popen([_py(), "-m", "sixhours.cli", "worker"], env=env, cwd=REPO,
                                      stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_caught_up(db, head, worker, timeout=120 + head / 2000)
                result["worker_initial_catch_up_s"] = time.perf_counter() - started
                result["base_events"] = head
                writer = _child(["writer", str(rate), str(seconds)], db, "writer")
                result["writer"] = writer
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    result["worker_exit"] = worker.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    result["worker_exit"] = "killed after 120 s"
        result["worker_log_tail"] = log_path.read_text()[-2000:]
        log_path.unlink(missing_ok=True)
    return result


def _wait_caught_up(db: Database, head: int, worker: subprocess.Popen[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with closing(_raw_connect(db)) as conn:
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited {worker.returncode} before catching up")
            try:
                if _active_position(conn, db.backend) >= head:
                    return
            except Exception as error:  # noqa: BLE001 - the worker has not made its tables yet
                if "no such table" not in str(error) and "does not exist" not in str(error):
                    raise
            time.sleep(0.2)
    raise TimeoutError(f"the worker did not catch up to {head} within {timeout:.0f} s")


# --- 4. report ------------------------------------------------------------------------------------


def run_report(backend: str, load: Workload, workdir: Path, runs: int) -> dict[str, Any]:
    with fresh_database(backend, workdir, "report") as db:
        imported = _import(db, load)
        caught_up = _catch_up(db)
        figures = _report_figures(db, load, runs)
    return {**figures, "import": imported, "catch_up": caught_up}


def _report_figures(db: Database, load: Workload, runs: int) -> dict[str, Any]:
    inproc = _child(["report-timing", str(runs)], db, "report timing")
    env = child_env(db.url)
    cli = []
    for _ in range(REPORT_CLI_RUNS):
        m = _checked("report", measure([_py(), "-m", "sixhours.cli", "report", "--from",
                                        YEAR[0].isoformat(), "--to", YEAR[1].isoformat(),
                                        "--format", "json"], env))
        cli.append(m.wall_s)
    return {"cases": load.cases, "events": load.count, "in_process": inproc,
            "cli_runs_s": cli, "cli_median_s": statistics.median(cli), "cli_max_s": max(cli)}


# --- the children -----------------------------------------------------------------------------------


def _container() -> Any:
    from sixhours.bootstrap import Container
    from sixhours.settings import Settings
    return Container(Settings())


def child_main(argv: list[str]) -> None:
    """Entry point of the measured child processes (run with the database in the environment)."""
    kind, args = argv[0], argv[1:]
    handlers: dict[str, Callable[..., dict[str, Any]]] = {
        "read-decode": _child_read_decode, "stock": _child_stock, "writer": _child_writer,
        "report-timing": _child_report_timing, "report-body": _child_report_body}
    print(json.dumps(handlers[kind](*args), ensure_ascii=False))


def _env_database() -> Database:
    url = os.environ["SIXHOURS_DATABASE_URL"]
    backend = "sqlite" if url.startswith("sqlite:///") else "postgres"
    return Database(backend, url, url.removeprefix("sqlite:///") if backend == "sqlite" else
                    url.rsplit("/", 1)[-1])


def _child_read_decode(sample: str) -> dict[str, Any]:
    c = _container()
    try:
        notifications = c.notifications
        head = notifications.max_notification_id() or 0
        wanted, after, count, sample_last = int(sample), 0, 0, 0
        started = time.perf_counter()
        while after < head:
            batch = notifications.read(after, READ_BATCH)
            if not batch:
                break
            if not sample_last and count + len(batch) >= wanted:
                sample_last = batch[wanted - count - 1][0]
            count += len(batch)
            after = batch[-1][0]
        seconds = time.perf_counter() - started
    finally:
        c.close()
    return {"events": count, "head": head, "seconds": seconds, "batch": READ_BATCH,
            "sample_last_id": sample_last}


def _child_report_body(as_of: str) -> dict[str, Any]:
    from projections.queries import ReportRequest
    c = _container()
    try:
        body: dict[str, Any] = c.queries.report(ReportRequest(POLICY, datetime.fromisoformat(as_of)))
        return body
    finally:
        c.close()


def _child_report_timing(runs: str) -> dict[str, Any]:
    from projections.queries import ReportRequest
    c = _container()
    try:
        c.catch_up()
        request = ReportRequest(POLICY, datetime.now(UTC), YEAR[0], YEAR[1])
        started = time.perf_counter()
        body = c.queries.report(request)
        cold = time.perf_counter() - started
        times = []
        for _ in range(int(runs)):
            started = time.perf_counter()
            again = c.queries.report(request)
            times.append(time.perf_counter() - started)
            if again["provenance"]["figures_from"] != "rollups":
                raise AssertionError(f"report not from the rollups: {again['provenance']}")
        if body["provenance"]["figures_from"] != "rollups":
            raise AssertionError(f"report not from the rollups: {body['provenance']}")
    finally:
        c.close()
    return {"cold_s": cold, "runs_s": times, **_stats(times),
            "figures_from": body["provenance"]["figures_from"]}


# The stock eventsourcing projection: one row per event and its tracking, one transaction each.


class PollingSubscription(Subscription[Any]):
    """What the SQLite recorder of eventsourcing 9.5 lacks: pages of 500, then polls."""

    def __init__(self, recorder: Any, gt: int | None = None, topics: Sequence[str] = ()) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._buffer: deque[Notification] = deque()

    def __next__(self) -> Notification:
        while not self._buffer:
            if self._has_been_stopped:
                raise StopIteration
            page = self._recorder.select_notifications(
                start=self._last_notification_id or 0, limit=READ_BATCH, topics=self._topics,
                inclusive_of_start=False)
            if page:
                self._buffer.extend(page)
                self._last_notification_id = page[-1].id
            else:
                time.sleep(0.05)
        if self._has_been_stopped:
            raise StopIteration
        return self._buffer.popleft()


class PollingSQLiteRecorder(SQLiteApplicationRecorder):
    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Any:
        return PollingSubscription(self, gt, topics)


class StockStore(Application[str]):
    """The sixhours event store, opened by a plain eventsourcing Application."""

    name = "sixhours"

    def construct_transcoder(self) -> Any:
        from sixhours.recorders import OrjsonTranscoder
        return OrjsonTranscoder()


class StockRowsView(TrackingRecorder, ABC):
    @abstractmethod
    def record(self, case_id: str, kind: str, tracking: Tracking) -> None: ...


class SQLiteStockRowsView(SQLiteTrackingRecorder, StockRowsView):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                "CREATE TABLE IF NOT EXISTS stock_view_rows (notification_id INTEGER PRIMARY KEY, "
                "case_id TEXT NOT NULL, type TEXT NOT NULL)"]

    def record(self, case_id: str, kind: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT INTO stock_view_rows VALUES (?, ?, ?)",
                      (tracking.notification_id, case_id, kind))
            self._insert_tracking(c, tracking)


class PostgresStockRowsView(PostgresTrackingRecorder, StockRowsView):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {0}.stock_view_rows (notification_id bigint PRIMARY KEY, "
            "case_id text NOT NULL, type text NOT NULL)").format(Identifier(self.datastore.schema)))
        self.insert_row = SQL("INSERT INTO {0}.stock_view_rows VALUES (%s, %s, %s)").format(
            Identifier(self.datastore.schema))

    def record(self, case_id: str, kind: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.insert_row, (tracking.notification_id, case_id, kind), prepare=True)
            self._insert_tracking(curs, tracking)


class StockRows(Projection[StockRowsView]):
    name = "stockrows"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.record(domain_event.originator_id, domain_event.type, tracking)


def _child_stock(last_id: str, sample: str) -> dict[str, Any]:
    from sixhours.bootstrap import event_store_env
    url = os.environ["SIXHOURS_DATABASE_URL"]
    env = dict(event_store_env(url))
    view: type[StockRowsView]
    if url.startswith("sqlite:///"):
        env["APPLICATION_RECORDER_TOPIC"] = f"{__name__}:PollingSQLiteRecorder"
        view = SQLiteStockRowsView
    else:
        env.pop("APPLICATION_RECORDER_TOPIC")  # the library's own PostgreSQL recorder
        view = PostgresStockRowsView
    target = int(last_id)
    with ProjectionRunner(application_class=StockStore, projection_class=StockRows,
                          view_class=view, env=env) as runner:
        # Timed from the runner's construction on; what it already did by then is left out.
        started = time.perf_counter()
        done_before = runner.view.max_tracking_id(StockStore.name) or 0
        deadline = time.monotonic() + 3600
        while (runner.view.max_tracking_id(StockStore.name) or 0) < target:
            if time.monotonic() > deadline:
                raise TimeoutError("the stock runner did not reach the sample's end in an hour")
            with suppress(TimeoutError):  # wait() raises it when a second passes first
                runner.wait(target, timeout=1.0)
        seconds = time.perf_counter() - started
        runner.stop()
    db = _env_database()
    with closing(_raw_connect(db)) as conn:
        timed, total = _rows(conn, db.backend, "SELECT SUM(CASE WHEN notification_id > ? THEN 1 ELSE 0 "
                             "END), COUNT(*) FROM stock_view_rows WHERE notification_id <= ?",
                             (done_before, target))[0]
    return {"events": int(timed), "sample": int(sample), "rows_up_to_sample": int(total),
            "done_before_timer": done_before, "last_id": target, "seconds": seconds,
            "runner": "eventsourcing.projection.ProjectionRunner",
            "subscription": "polling (ours)" if view is SQLiteStockRowsView
            else "ListenNotifySubscription (stock)"}


# The freshness writer: new cases recorded through the service at a steady rate.


class _Visibility:
    """Polls the active rollup_days row of each sampled day until it holds the expected count."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.pending: list[tuple[int, int, float]] = []  # (day, expected received, committed at)
        self.latencies: list[float] = []
        self.polls = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def add(self, day: int, expected: int, committed: float) -> None:
        with self.lock:
            self.pending.append((day, expected, committed))

    def left(self) -> int:
        with self.lock:
            return len(self.pending)

    def _loop(self) -> None:
        backend = self.db.backend
        with closing(_raw_connect(self.db)) as conn:
            table = f"{_active_prefix(conn, backend)}rollup_days"
            while not self.stop.is_set():
                with self.lock:
                    days = sorted({day for day, _, _ in self.pending})
                if days:
                    marks = ",".join("?" * len(days))
                    found = dict(_rows(conn, backend, f"SELECT day, n FROM {table} WHERE policy = ? "
                                       f"AND metric = 'volume' AND label = 'received' "
                                       f"AND day IN ({marks})", (POLICY, *days)))
                    seen = time.perf_counter()
                    self.polls += 1
                    with self.lock:
                        keep = []
                        for day, expected, committed in self.pending:
                            if found.get(day, 0) >= expected:
                                self.latencies.append(seen - committed)
                            else:
                                keep.append((day, expected, committed))
                        self.pending = keep
                    if _active_prefix(conn, backend) + "rollup_days" != table:  # type: ignore[operator]
                        raise RuntimeError("the active read-model version changed during the run")
                time.sleep(FRESH_POLL)


def _child_writer(rate_text: str, seconds_text: str) -> dict[str, Any]:
    from domain.events import parse_event
    rate, seconds = float(rate_text), float(seconds_text)
    total = int(rate * seconds) + 1
    start = datetime.combine(date.fromisoformat(FRESH_START), datetime.min.time(),
                             ZoneInfo("Asia/Shanghai"))
    cases = max(10, math.ceil(total / EVENTS_PER_CASE * 1.5))
    raw = list(islice(workload.generate_events(workload.baoshan_network(SEED), cases, FRESH_SEED,
                                               start, max(1, cases // 300)), total))
    db = _env_database()
    c = _container()
    network = c.network()
    c.service  # noqa: B018 - open the store before the clock starts
    watcher = _Visibility(db)
    watcher.thread.start()
    received: dict[int, int] = {}
    commit_s: list[float] = []
    sent = accepted = refused = 0
    started = time.perf_counter()
    tick = 0
    try:
        while sent < len(raw):
            now = time.perf_counter()
            if now - started >= seconds:
                break
            due = min(len(raw), round((tick + 1) * FRESH_TICK * rate), sent + 1000)
            batch_raw = raw[sent:due]
            if batch_raw:
                moment = datetime.now(UTC)
                steps = [parse_event(r, default_recorded_at=moment) for r in batch_raw]
                t0 = time.perf_counter()
                result = c.service.record_batch(steps, network)
                committed = time.perf_counter()
                commit_s.append(committed - t0)
                sent = due
                accepted += len(result.accepted)
                refused += len(result.refused)
                days = set()
                for step in result.accepted:
                    if step.type == "application_received":
                        day = int(step.occurred_at.astimezone(ZoneInfo("Asia/Shanghai"))
                                  .strftime("%Y%m%d"))
                        received[day] = received.get(day, 0) + 1
                        days.add(day)
                for day in sorted(days):
                    watcher.add(day, received[day], committed)
            tick += 1
            pause = started + tick * FRESH_TICK - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        elapsed = time.perf_counter() - started
        deadline = time.monotonic() + FRESH_DRAIN
        while watcher.left() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop.set()
        watcher.thread.join(timeout=10)
        c.close()
    return {"steps_sent": sent, "accepted": accepted, "refused": refused, "seconds": elapsed,
            "achieved_steps_per_s": accepted / elapsed, "batches": len(commit_s),
            "record_batch_s": _stats(commit_s), "samples": len(watcher.latencies) + watcher.left(),
            "not_visible_within_drain": watcher.left(), "drain_s": FRESH_DRAIN,
            "visible_s": _stats(watcher.latencies), "polls": watcher.polls,
            "poll_interval_s": FRESH_POLL}


# --- the whole run -------------------------------------------------------------------------------


def run(events: int, backend: str, workdir: Path, *, big_events: int | None = None,
        cases_for_report: int | None = None, only: Sequence[str] = SECTIONS,
        stock_sample: int = STOCK_SAMPLE, fresh_rate: float = FRESH_RATE,
        fresh_seconds: float = FRESH_SECONDS, report_runs: int = REPORT_RUNS,
        profile: Path | None = None, json_out: Path | None = None) -> dict[str, Any]:
    """Measure the chosen sections on `backend` ("sqlite", "postgres" or "both").

    With `json_out`, the results so far are written there after every section."""
    backends = BACKENDS if backend == "both" else (backend,)
    if any(b not in BACKENDS for b in backends):
        raise ValueError(f"unknown backend {backend!r}")
    unknown = set(only) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    workdir.mkdir(parents=True, exist_ok=True)
    big_events = big_events or 3 * events
    load = make_workload(events, workdir)
    big = make_workload(big_events, workdir) if "rss" in only else None
    if cases_for_report is None:
        cases_for_report = (big or load).cases
    report_load = None
    if "report" in only:
        report_load = (big if big is not None and big.cases == cases_for_report else
                       make_workload(round(cases_for_report * EVENTS_PER_CASE), workdir))
    results: dict[str, Any] = {
        "command": None,  # main() fills it in
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(), "code": _code_version(),
        "workloads": {"n": {"events": load.count, "cases": load.cases, "file": str(load.events)},
                      "m": {"events": big.count, "cases": big.cases} if big else None,
                      "report": {"events": report_load.count, "cases": report_load.cases}
                      if report_load else None},
        "sections": list(only), "backends": {}}
    def save() -> None:
        if json_out is not None:
            json_out.write_text(json.dumps(results, indent=1, ensure_ascii=False))

    rss_report_cases = report_load.cases if report_load is not None and report_load is big else None
    for name in backends:
        r: dict[str, Any] = {"disturbed": []}
        results["backends"][name] = r
        if "rebuild" in only:
            r["rebuild"] = _attempt(name, "rebuild", partial(
                run_rebuild, name, load, workdir, stock_sample, profile), r["disturbed"], save)
        if "freshness" in only:
            r["freshness"] = _attempt(name, "freshness", partial(
                run_freshness, name, load, workdir, fresh_rate, fresh_seconds), r["disturbed"], save)
        if "rss" in only and big is not None:
            r["rss"] = _attempt(name, "rss", partial(
                run_rss, name, [load, big], workdir, rss_report_cases, report_runs),
                r["disturbed"], save)
            if r["rss"]["report"] is not None:
                r["report"] = {**r["rss"].pop("report"), "database": "the rss step's M database"}
            else:
                r["rss"].pop("report")
        if "report" in only and "report" not in r and report_load is not None:
            r["report"] = _attempt(name, "report", partial(
                run_report, name, report_load, workdir, report_runs), r["disturbed"], save)
        r["targets"] = targets(r)
        save()
    results["finished"] = datetime.now().astimezone().isoformat(timespec="seconds")
    return results


def _pg_started() -> str | None:
    """When the PostgreSQL server last started (None when it does not answer)."""
    import psycopg

    from tests.benchmarks.bench_import import PG_ADMIN
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_postmaster_start_time()::text").fetchone()
            return str(row[0]) if row else None
    except psycopg.OperationalError:
        return None


def _attempt(backend: str, section: str, measured: Callable[[], dict[str, Any]],
             disturbed: list[dict[str, Any]], save: Callable[[], None]) -> dict[str, Any]:
    """Run a section; on PostgreSQL, run it again when the server restarted meanwhile.

    The machine is shared: other sessions' outage tests restart the server. A section during
    which the server restarted (or that failed on a lost connection) is recorded and repeated."""
    for tries in range(1, PG_TRIES + 1):
        before = _pg_started() if backend == "postgres" else None
        try:
            figures = measured()
        except Exception as error:
            if backend != "postgres" or tries == PG_TRIES:
                raise
            disturbed.append({"section": section, "try": tries, "error": str(error)[-500:]})
        else:
            after = _pg_started() if backend == "postgres" else None
            if before == after or tries == PG_TRIES:
                figures["tries"] = tries
                if before != after:
                    figures["server_restarted_during_last_try"] = True
                return figures
            disturbed.append({"section": section, "try": tries,
                              "error": f"server restarted during the section ({before} -> {after})"})
        save()
        while _pg_started() is None:
            time.sleep(2)
        time.sleep(5)
    raise AssertionError("unreachable")


def targets(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "rebuild" in r:
        ratio = r["rebuild"]["ratio_rebuild_to_read_decode"]
        out["rebuild_to_read_decode"] = {"target": f">= {TARGETS['rebuild_to_read_decode']}",
                                         "measured": ratio,
                                         "met": ratio >= TARGETS["rebuild_to_read_decode"]}
    if "rss" in r:
        growth = r["rss"]["rss_growth"]
        out["rss_growth"] = {"target": f"<= +{TARGETS['rss_growth']:.0%}", "measured": growth,
                             "met": growth <= TARGETS["rss_growth"]}
    if "freshness" in r:
        w = r["freshness"]["writer"]
        p99 = w["visible_s"].get("p99", math.inf)
        met = p99 <= TARGETS["freshness_p99_s"] and not w["not_visible_within_drain"]
        out["freshness_p99_s"] = {"target": f"<= {TARGETS['freshness_p99_s']}", "measured": p99,
                                  "achieved_steps_per_s": w["achieved_steps_per_s"], "met": met}
    if "report" in r:
        p95 = r["report"]["in_process"]["p95"]
        out["report_p95_s"] = {"target": f"<= {TARGETS['report_p95_s']}", "measured": p95,
                               "cases": r["report"]["cases"], "met": p95 <= TARGETS["report_p95_s"]}
    return out


def summary(results: dict[str, Any]) -> str:
    lines = [f"code {results['code']['commit']} ({results['code']['subject']}); "
             f"uncommitted: {results['code']['uncommitted_code_files'] or 'none'}"]
    for name, r in results["backends"].items():
        if "rebuild" in r:
            b = r["rebuild"]
            lines.append(
                f"{name} rebuild: {b['rebuild']['head']:,} events in {b['rebuild']['wall_s']:.1f} s = "
                f"{b['rebuild']['events_per_s']:,.0f} ev/s, peak RSS {b['rebuild']['peak_rss_mb']:.1f} MB; "
                f"read+decode {b['read_decode']['events_per_s']:,.0f} ev/s "
                f"(ratio {b['ratio_rebuild_to_read_decode']:.3f}); stock runner "
                f"{b['stock']['events_per_s']:,.0f} ev/s over {b['stock']['events']:,} "
                f"(ratio {b['ratio_rebuild_to_stock']:.1f}x); catch-up {b['catch_up']['events_per_s']:,.0f}"
                f" ev/s; report equal after rebuild: {b['report_before_equals_after']}")
        if "rss" in r:
            s = r["rss"]
            lines.append(f"{name} rss: " + "; ".join(
                f"{x['events']:,} events -> {x['peak_rss_mb']:.1f} MB, {x['events_per_s']:,.0f} ev/s"
                for x in s["sizes"]) + f" (growth {s['rss_growth']:+.1%})")
        if "freshness" in r:
            w = r["freshness"]["writer"]
            v = w["visible_s"]
            lines.append(
                f"{name} freshness: {w['achieved_steps_per_s']:,.1f} steps/s over {w['seconds']:.1f} s, "
                f"{w['samples']} samples: p50 {v.get('p50', math.nan):.3f} s, p99 "
                f"{v.get('p99', math.nan):.3f} s, max {v.get('max', math.nan):.3f} s; "
                f"not visible within {w['drain_s']:.0f} s: {w['not_visible_within_drain']}")
        if "report" in r:
            p = r["report"]
            i = p["in_process"]
            lines.append(f"{name} report ({p['cases']:,} cases): cold {i['cold_s'] * 1000:.1f} ms, "
                         f"p50 {i['p50'] * 1000:.1f} ms, p95 {i['p95'] * 1000:.1f} ms, "
                         f"max {i['max'] * 1000:.1f} ms; CLI median {p['cli_median_s']:.2f} s")
        for target, t in r["targets"].items():
            lines.append(f"{name}: {target} {t['measured']:.4g} (target {t['target']}) -> "
                         f"{'met' if t['met'] else 'MISSED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="sqlite")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="N: about how many events")
    parser.add_argument("--big-events", type=int, default=None, help="M for the rss step (default 3 N)")
    parser.add_argument("--cases-for-report", type=int, default=None,
                        help="cases for the report step (default: those of the largest workload)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "sixhours-bench")
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--stock-sample", type=int, default=STOCK_SAMPLE)
    parser.add_argument("--fresh-rate", type=float, default=FRESH_RATE)
    parser.add_argument("--fresh-seconds", type=float, default=FRESH_SECONDS)
    parser.add_argument("--report-runs", type=int, default=REPORT_RUNS)
    parser.add_argument("--profile", type=Path, default=None,
                        help="also profile the rebuild (cProfile) into this .prof file")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    out = args.json_out or args.workdir / "bench_projections.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results = run(args.events, args.backend, args.workdir, big_events=args.big_events,
                  cases_for_report=args.cases_for_report, only=only, stock_sample=args.stock_sample,
                  fresh_rate=args.fresh_rate, fresh_seconds=args.fresh_seconds,
                  report_runs=args.report_runs, profile=args.profile, json_out=out)
    results["command"] = "python -m tests.benchmarks.bench_projections " + " ".join(
        argv if argv is not None else sys.argv[1:])
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(summary(results))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
