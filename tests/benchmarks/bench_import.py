"""Import benchmark (issue 2): `sixhours import` against a stock eventsourcing baseline.

    python -m tests.benchmarks.bench_import --events 1000000 --backend both --baseline-sample 50000

For each backend, in one run:

1. a deterministic workload of about N events from `sixhours.workload` (cases = N / 8.3, arriving
   over 365 days from 2025-01-01, Asia/Shanghai), written once into the work folder and reused
   while its parameters (and the generator's source) are unchanged;
2. `sixhours network import` then `sixhours import FILE`, each in its own child process, on a
   fresh database with SIXHOURS_DEV_MODE=1: wall time and the peak RSS of that child alone
   (`/usr/bin/time -f %M`, or the rusage of a one-child wrapper where GNU time is missing);
   events/s = events stored / wall time of the import command (interpreter start included);
3. the projection catch-up, in a child that runs `Container(Settings()).catch_up()`, then
   `sixhours report --format json` three times (caught up, as of now): median and max wall time;
4. the baseline: a plain eventsourcing Application with one minimal Aggregate per case and one
   event per step (the same payload dict), `app.save()` once per event, i.e. one transaction per
   event, on a fresh database of the same backend; events/s over the first `--baseline-sample`
   events of the same file (only the save loop is timed: no start-up, table creation or parsing).

Prints one markdown table row per backend and writes every figure to `--json-out`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from sixhours import workload

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("SIXHOURS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DEFAULT_EVENTS = 2000
EVENTS_PER_CASE = 8.3
SEED = 1
START = "2025-01-01"  # a year the holiday calendar knows
DAYS = 365
REPORT_RUNS = 3
TARGETS = {"sqlite": 15_000, "postgres": 10_000}  # events/s, issue 2
RSS_TARGET_MB = 300  # decimal megabytes (the stricter reading)
REPORT_TARGET_S = 2.0
BACKENDS = ("sqlite", "postgres")

CATCH_UP = """\
import json, time
from sixhours.bootstrap import Container
from sixhours.settings import Settings
c = Container(Settings())
t = time.perf_counter()
r = c.catch_up()
print(json.dumps({"processed": r.processed, "position": r.position, "seconds": r.seconds,
                  "in_process_seconds": time.perf_counter() - t}))
c.close()
"""

# Where GNU time is missing: run the one command and report the children's peak RSS (KiB), which
# is that command's alone since it is this wrapper's only child.
RSS_WRAPPER = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


# --- the workload ---------------------------------------------------------------------------


@dataclass
class Workload:
    network: Path
    events: Path
    count: int
    cases: int
    reused: bool
    generate_seconds: float


def _generator_digest() -> str:
    return hashlib.sha256(Path(workload.__file__).read_bytes()).hexdigest()[:16]


def make_workload(events: int, workdir: Path) -> Workload:
    """About `events` events in `workdir`, generated once per parameter set."""
    cases = max(1, round(events / EVENTS_PER_CASE))
    params = {"cases": cases, "seed": SEED, "start": START, "days": DAYS,
              "generator": _generator_digest()}
    stem = f"workload-c{cases}-s{SEED}-{START}-d{DAYS}"
    meta_path = workdir / f"{stem}.json"
    network_path, events_path = workdir / f"{stem}-network.yaml", workdir / f"{stem}.jsonl"
    if meta_path.is_file() and network_path.is_file() and events_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == params:
            return Workload(network_path, events_path, meta["count"], cases, True, 0.0)
    meta_path.unlink(missing_ok=True)
    started = time.perf_counter()
    network = workload.baoshan_network(SEED)
    workload.write_network(network_path, network)
    begin = datetime.combine(datetime.fromisoformat(START).date(), datetime.min.time(),
                             ZoneInfo("Asia/Shanghai"))
    count = workload.write_events(events_path, network, cases, SEED, begin, DAYS)
    seconds = time.perf_counter() - started
    meta_path.write_text(json.dumps({"params": params, "count": count}))  # last: marks it whole
    return Workload(network_path, events_path, count, cases, False, seconds)


# --- databases --------------------------------------------------------------------------------


def pg_problem() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        import psycopg
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5):
            return None
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return str(error)


@dataclass
class Database:
    backend: str
    url: str
    name: str  # SQLite: the file path; PostgreSQL: the database name


@contextmanager
def fresh_database(backend: str, workdir: Path, label: str) -> Iterator[Database]:
    tag = f"{label}_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        path = workdir / f"sixhours_bench_{tag}.sqlite"
        try:
            yield Database(backend, f"sqlite:///{path}", str(path))
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    name = f"sixhours_bench_{tag}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database(backend, PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count_rows(db: Database, table: str) -> int:
    if db.backend == "sqlite":
        import sqlite3
        conn = sqlite3.connect(db.name)
        try:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()
    import psycopg
    with psycopg.connect(db.url, autocommit=True) as conn:
        row = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
        assert row is not None
        return int(row[0])


def stored_events_table(backend: str) -> str:
    # eventsourcing names the table "stored_events" on SQLite and "<app name>_events" on PostgreSQL
    from domain.service import CaseService
    return "stored_events" if backend == "sqlite" else f"{CaseService.name.lower()}_events"


# --- measured child processes -----------------------------------------------------------------


@dataclass
class Measured:
    wall_s: float
    peak_rss_kib: int
    returncode: int
    stdout: str
    stderr: str
    # The highest sum of the RSS of the command and every process under it, sampled every 20 ms
    # (a rebuild forks build processes; GNU time's figure is the largest single process only).
    peak_tree_rss_kib: int = 0


def measure(cmd: list[str], env: dict[str, str]) -> Measured:
    """Run one command in a fresh child process: its wall time and its own peak RSS."""
    with tempfile.TemporaryDirectory(prefix="sixhours-bench-") as tmp:
        rss_file = Path(tmp) / "rss"
        gnu_time = shutil.which("time", path="/usr/bin:/bin")
        if gnu_time:
            full = [gnu_time, "-f", "%M", "-o", str(rss_file), *cmd]
        else:
            full = [sys.executable, "-c", RSS_WRAPPER, str(rss_file), *cmd]
        started = time.perf_counter()
        proc = subprocess.Popen(full, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        sampler = TreeRss(proc.pid)
        sampler.start()
        stdout, stderr = proc.communicate()
        wall = time.perf_counter() - started
        sampler.stop()
        text = rss_file.read_text().strip() if rss_file.exists() else ""
        # GNU time writes "Command exited with non-zero status N" before the figure
        rss = int(text.splitlines()[-1]) if text else 0
    return Measured(wall, rss, proc.returncode, stdout, stderr, sampler.peak_kib)


class TreeRss(threading.Thread):
    """Samples the summed RSS of a process and its descendants (Linux /proc)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_kib, self._stop_flag = root, 0, threading.Event()

    def stop(self) -> None:
        self._stop_flag.set()
        self.join()

    def run(self) -> None:
        while not self._stop_flag.wait(0.02):
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(self.root))


def _tree_rss_kib(root: int) -> int:
    """Walks down from `root` through each thread's `children` file, reading only the tree's
    own processes: scanning every process of the machine cost 16 ms a sample, half a core at
    50 samples a second, taken from whatever was being measured."""
    if not CHILDREN_FILES:
        return _tree_rss_kib_by_scan(root)
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        try:
            total += _rss_kib(Path(f"/proc/{pid}/status").read_text())
            for task in Path(f"/proc/{pid}/task").iterdir():
                frontier.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:  # it ended meanwhile
            continue
    return total


# Linux lists a thread's children in /proc/PID/task/TID/children unless built without it.
CHILDREN_FILES = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


def _rss_kib(status: str) -> int:
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmRSS:")), 0)


def _tree_rss_kib_by_scan(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[pid] = _rss_kib(status)
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


def child_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXHOURS_")}
    env.update(SIXHOURS_DATABASE_URL=url, SIXHOURS_DEV_MODE="1", SIXHOURS_LANG="en")
    return env


def _checked(what: str, m: Measured, allowed: tuple[int, ...] = (0,)) -> Measured:
    if m.returncode not in allowed:
        raise RuntimeError(f"{what} exited {m.returncode}:\n{m.stdout[-2000:]}\n{m.stderr[-4000:]}")
    return m


def _last_json(text: str) -> Any:
    return json.loads(text.strip().splitlines()[-1])


def _mb(kib: int) -> float:
    return kib * 1024 / 1_000_000


# --- the stock baseline -----------------------------------------------------------------------


class BaselineCase(Aggregate):
    """One case, one event per step; nothing of sixhours."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.steps = 1

    @event("StepRecorded")
    def record(self, payload: dict[str, Any]) -> None:
        self.steps += 1


class BaselineApp(Application[Any]):
    name = "baseline"


def baseline_env(db: Database) -> dict[str, str]:
    if db.backend == "sqlite":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": db.name}
    from urllib.parse import unquote, urlparse
    parts = urlparse(db.url)
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": db.name,
            "POSTGRES_HOST": parts.hostname or "127.0.0.1", "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or "")}


def read_sample(path: Path, limit: int) -> list[dict[str, Any]]:
    sample = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if len(sample) >= limit:
                break
            sample.append(json.loads(line))
    return sample


def run_baseline(db: Database, sample: list[dict[str, Any]]) -> dict[str, Any]:
    app = BaselineApp(env=baseline_env(db))
    try:
        cases: dict[str, BaselineCase] = {}
        started = time.perf_counter()
        for payload in sample:
            case = cases.get(payload["case_id"])
            if case is None:
                case = cases[payload["case_id"]] = BaselineCase(payload)
            else:
                case.record(payload)
            app.save(case)  # one transaction per event
        seconds = time.perf_counter() - started
    finally:
        app.close()
    table = "stored_events" if db.backend == "sqlite" else f"{BaselineApp.name}_events"
    stored = count_rows(db, table)
    return {"events": len(sample), "stored": stored, "cases": len(cases), "seconds": seconds,
            "events_per_s": len(sample) / seconds}


# --- one backend ------------------------------------------------------------------------------


def run_backend(backend: str, load: Workload, workdir: Path, baseline_sample: int) -> dict[str, Any]:
    py = sys.executable
    result: dict[str, Any] = {"backend": backend}
    with fresh_database(backend, workdir, "import") as db:
        env = child_env(db.url)
        net = _checked("network import", measure(
            [py, "-m", "sixhours.cli", "network", "import", str(load.network)], env))
        result["network_import_s"] = net.wall_s
        imp = _checked("import", measure([py, "-m", "sixhours.cli", "import", str(load.events)], env),
                       allowed=(0, 1))  # 1: some lines refused; the summary says how many
        summary = _last_json(imp.stdout)
        rows = count_rows(db, stored_events_table(backend))
        result["import"] = {
            "file_events": load.count, "lines": summary["lines"], "stored": summary["stored"],
            "duplicates": summary["duplicates"], "refused": summary["refused"],
            "rows_in_store": rows, "wall_s": imp.wall_s, "events_per_s": rows / imp.wall_s,
            "peak_rss_kib": imp.peak_rss_kib, "peak_rss_mb": _mb(imp.peak_rss_kib)}
        up = _checked("catch-up", measure([py, "-c", CATCH_UP], env))
        figures = _last_json(up.stdout)
        result["catch_up"] = {
            "processed": figures["processed"], "wall_s": up.wall_s,
            "in_process_s": figures["in_process_seconds"],
            "events_per_s": figures["processed"] / up.wall_s if up.wall_s else 0.0,
            "peak_rss_kib": up.peak_rss_kib, "peak_rss_mb": _mb(up.peak_rss_kib)}
        walls, rss = [], []
        for _ in range(REPORT_RUNS):
            rep = _checked("report", measure([py, "-m", "sixhours.cli", "report", "--format", "json"],
                                             env))
            body = json.loads(rep.stdout)
            walls.append(rep.wall_s)
            rss.append(rep.peak_rss_kib)
        result["report"] = {"runs": walls, "median_s": statistics.median(walls), "max_s": max(walls),
                            "peak_rss_mb": _mb(max(rss)), "cases": body.get("cases")}
    sample = read_sample(load.events, baseline_sample)
    with fresh_database(backend, workdir, "baseline") as db:
        result["baseline"] = run_baseline(db, sample)
    imp_rate, base_rate = result["import"]["events_per_s"], result["baseline"]["events_per_s"]
    result["ratio_import_to_baseline"] = imp_rate / base_rate
    result["targets"] = {
        "import_events_per_s": {"target": TARGETS[backend], "measured": imp_rate,
                                "met": imp_rate >= TARGETS[backend]},
        "import_peak_rss_mb": {"target": RSS_TARGET_MB, "measured": result["import"]["peak_rss_mb"],
                               "met": result["import"]["peak_rss_mb"] < RSS_TARGET_MB},
        "report_max_s": {"target": REPORT_TARGET_S, "measured": result["report"]["max_s"],
                         "met": result["report"]["max_s"] < REPORT_TARGET_S}}
    return result


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_total_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def run(events: int, backend: str, workdir: Path, baseline_sample: int) -> dict[str, Any]:
    """Generate (or reuse) the workload and measure `backend` ("sqlite", "postgres" or "both")."""
    backends = BACKENDS if backend == "both" else (backend,)
    if any(b not in BACKENDS for b in backends):
        raise ValueError(f"unknown backend {backend!r}")
    workdir.mkdir(parents=True, exist_ok=True)
    load = make_workload(events, workdir)
    results: dict[str, Any] = {
        "command": f"python -m tests.benchmarks.bench_import --events {events} --backend {backend} "
                   f"--baseline-sample {baseline_sample}",
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "workload": {**asdict(load), "network": str(load.network), "events": str(load.events),
                     "requested": events, "seed": SEED, "start": START, "days": DAYS},
        "baseline_sample": min(baseline_sample, load.count),
        "backends": {}}
    for name in backends:
        results["backends"][name] = run_backend(name, load, workdir, baseline_sample)
    return results


HEADER = ("| backend | events | import s | import ev/s | import peak RSS MB | catch-up s | catch-up ev/s "
          "| report median s | report max s | baseline ev/s | import/baseline |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def table_row(r: dict[str, Any]) -> str:
    i, c, p, b = r["import"], r["catch_up"], r["report"], r["baseline"]
    return (f"| {r['backend']} | {i['rows_in_store']:,} | {i['wall_s']:.1f} | {i['events_per_s']:,.0f} "
            f"| {i['peak_rss_mb']:.1f} | {c['wall_s']:.1f} | {c['events_per_s']:,.0f} "
            f"| {p['median_s']:.2f} | {p['max_s']:.2f} | {b['events_per_s']:,.0f} "
            f"| {r['ratio_import_to_baseline']:.1f}× |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS,
                        help=f"about how many events to generate (default {DEFAULT_EVENTS}: seconds)")
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="sqlite")
    parser.add_argument("--baseline-sample", type=int, default=50_000,
                        help="events saved one transaction each by the stock baseline")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "sixhours-bench",
                        help="workload files (reused), SQLite databases (deleted after), results")
    parser.add_argument("--json-out", type=Path, default=None,
                        help="where to write the results (default WORKDIR/bench_import.json)")
    args = parser.parse_args(argv)
    results = run(args.events, args.backend, args.workdir, args.baseline_sample)
    out = args.json_out or args.workdir / "bench_import.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(HEADER)
    for r in results["backends"].values():
        print(table_row(r))
    for name, r in results["backends"].items():
        for target, t in r["targets"].items():
            print(f"{name}: {target} {t['measured']:,.2f} vs {t['target']:,} -> "
                  f"{'met' if t['met'] else 'MISSED'}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
