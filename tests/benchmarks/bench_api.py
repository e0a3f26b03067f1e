"""HTTP API load benchmark (issue 4): recorded steps/s through `POST /steps` on PostgreSQL.

    python -m tests.benchmarks.bench_api --seconds 20 --connections 32 --baseline-sample 5000

In one run, on fresh PostgreSQL databases at 127.0.0.1:
1. `sixhours serve` (one uvicorn process, group commit) on the Baoshan-like network of
   `sixhours.workload`, loaded by `wrk` on loopback with `record_steps.lua`: every request is a
   valid, new step (cases walk the happy path; each thread rotates through its own cases, so a
   case's next step goes out only after its previous one was answered). Bounded by `--seconds`
   and `--max-requests`. Sustained rate = acknowledged steps / wall time; p50/p90/p99 from wrk.
   Afterwards the stored event count must equal the acknowledged count.
2. the stock baseline of `bench_import` (eventsourcing, one `save()` — one transaction — per
   event) on the same kind of steps, in the same run: once before the load and once after it,
   each on a fresh database. The target compares with the faster of the two, so that a busy
   moment during one of them cannot flatter the API.

Targets: rate >= baseline rate, p99 <= 100 ms. Load generator, server and database share the
machine's cores, as the figures in docs/BENCHMARKS.md say. Other work on the machine changes
every figure, so the results also record the load average and, during the load, how many cores
the server, PostgreSQL, wrk and everything else kept busy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from api.auth import Principal, Role
from sixhours import workload
from tests.benchmarks.bench_import import (
    REPO,
    Database,
    child_env,
    count_rows,
    fresh_database,
    machine,
    run_baseline,
    stored_events_table,
)

LUA = Path(__file__).with_name("record_steps.lua")
SEED = 1
P99_TARGET_MS = 100.0
STEPS = (("application_received", 0), ("reviewed", 10), ("accepted", 20), ("assigned", 30),
         ("first_meeting", 40), ("closed", 50), ("documents_reviewed", 55), ("follow_up_call", 58))


class CpuMeter:
    """Cores kept busy from now until `cores()`: the server, PostgreSQL, wrk (this process's
    children) and everything else on the machine. Linux only (/proc); elsewhere `cores()` is
    None."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.start = self._sample()

    def _sample(self) -> dict[str, float] | None:
        try:
            ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
            postgres = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True,
                                      text=True).stdout.split()
            server = [str(self.server_pid)] if self.server_pid else []
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        children = os.times()
        return {"machine": (sum(ticks) - ticks[3] - ticks[4]) / hz,  # all but idle and iowait
                "server": _process_seconds(server, hz), "postgres": _process_seconds(postgres, hz),
                "wrk": children.children_user + children.children_system,
                "wall": time.monotonic()}

    def cores(self) -> dict[str, float] | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall = end["wall"] - self.start["wall"]
        used = {k: (end[k] - self.start[k]) / wall for k in ("machine", "server", "postgres", "wrk")}
        used["others"] = used["machine"] - used["server"] - used["postgres"] - used["wrk"]
        return {k: round(v, 2) for k, v in used.items()}


def _process_seconds(pids: list[str], hz: int) -> float:
    total = 0
    for pid in pids:
        try:  # utime and stime: fields 14 and 15, counted after the parenthesised name
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return total / hz


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(db: Database, workdir: Path) -> Iterator[tuple[str, str, str, int]]:
    """Network imported, `sixhours serve` up: yields (base url, clerk token, a service point,
    the server's process id)."""
    network = workload.baoshan_network(SEED)
    network_file = workdir / "bench-api-network.yaml"
    workload.write_network(network_file, network)
    env = child_env(db.url)
    subprocess.run([sys.executable, "-m", "sixhours.cli", "network", "import", str(network_file)],
                   env=env, cwd=REPO, check=True, capture_output=True)
    point = next(p["id"] for p in network if p.get("level") == "township" and not p.get("retired"))
    from sixhours.serve import keyring
    from sixhours.settings import Settings
    # A township clerk recording its own cases: every step's scope is checked.
    token = keyring(Settings(dev_mode=True)).issue(Principal("bench", Role.clerk, point), 3600)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sixhours.cli", "serve", "--port", str(port), "--no-access-log"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start: " + (server.stderr.read().decode()
                                                                   if server.poll() is not None else ""))
            time.sleep(0.2)
        yield base, token, point, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_wrk(base: str, token: str, point: str, seconds: int, connections: int, threads: int,
            max_requests: int, server_pid: int | None = None) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    rotation = max(4 * connections // threads, 8)
    per_thread = max(1, max_requests // threads)
    meter = CpuMeter(server_pid)
    started = time.perf_counter()
    proc = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(LUA), f"{base}/steps", "--", token, f"W{int(time.time())}", point,
         str(rotation), str(per_thread)],
        capture_output=True, text=True, timeout=seconds + 60)
    wall = time.perf_counter() - started
    cores = meter.cores()
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK-JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    figures = json.loads(line.removeprefix("WRK-JSON "))
    seconds_run = figures["duration_us"] / 1e6
    return {**figures, "seconds": seconds_run, "wrk_wall_s": wall,
            "steps_per_s": figures["acknowledged"] / seconds_run,
            "p50_ms": figures["p50_us"] / 1000, "p90_ms": figures["p90_us"] / 1000,
            "p99_ms": figures["p99_us"] / 1000, "max_ms": figures["max_us"] / 1000,
            "connections": connections, "threads": threads, "cores_busy": cores}


def baseline_sample(count: int) -> list[dict[str, Any]]:
    """The same kind of steps as the load, as payload dicts for the stock baseline."""
    sample = []
    for i in range(count):
        kind, minute = STEPS[(i // 64) % len(STEPS)]
        case = f"B-{i // (64 * len(STEPS))}-{i % 64}"
        sample.append({"event_id": f"{case}-{kind}", "case_id": case, "type": kind,
                       "occurred_at": f"2026-03-02T09:{minute:02d}:00+08:00", "data": {}})
    return sample


def run(seconds: int, connections: int, threads: int, max_requests: int, baseline_events: int,
        workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "command": f"python -m tests.benchmarks.bench_api --seconds {seconds} --connections "
                   f"{connections} --threads {threads} --max-requests {max_requests} "
                   f"--baseline-sample {baseline_events}",
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine()}
    result["baseline_before"] = _baseline(baseline_events, workdir)
    with fresh_database("postgres", workdir, "api") as db:
        with running_server(db, workdir) as (base, token, point, pid):
            result["load_average_before"] = os.getloadavg()
            load = run_wrk(base, token, point, seconds, connections, threads, max_requests, pid)
            result["load_average_after"] = os.getloadavg()
        load["stored"] = count_rows(db, stored_events_table("postgres"))
        result["api"] = load
    result["baseline_after"] = _baseline(baseline_events, workdir)
    result["baseline"] = max(result["baseline_before"], result["baseline_after"],
                             key=lambda b: b["events_per_s"])
    rate, base_rate = result["api"]["steps_per_s"], result["baseline"]["events_per_s"]
    result["ratio_api_to_baseline"] = rate / base_rate
    result["targets"] = {
        "steps_per_s_vs_baseline": {"target": base_rate, "measured": rate, "met": rate >= base_rate},
        "p99_ms": {"target": P99_TARGET_MS, "measured": result["api"]["p99_ms"],
                   "met": result["api"]["p99_ms"] <= P99_TARGET_MS}}
    return result


def _baseline(events: int, workdir: Path) -> dict[str, Any]:
    with fresh_database("postgres", workdir, "baseline") as db:
        return run_baseline(db, baseline_sample(events))


HEADER = ("| connections | steps acknowledged | seconds | steps/s | p50 ms | p90 ms | p99 ms "
          "| baseline ev/s | API/baseline |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def table_row(r: dict[str, Any]) -> str:
    a, b = r["api"], r["baseline"]
    return (f"| {a['connections']} | {a['acknowledged']:,} | {a['seconds']:.1f} "
            f"| {a['steps_per_s']:,.0f} | {a['p50_ms']:.1f} | {a['p90_ms']:.1f} | {a['p99_ms']:.1f} "
            f"| {b['events_per_s']:,.0f} | {r['ratio_api_to_baseline']:.1f}× |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="wrk duration (default 20)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--max-requests", type=int, default=200_000, help="upper bound on requests")
    parser.add_argument("--baseline-sample", type=int, default=5000,
                        help="events saved one transaction each by the stock baseline")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "sixhours-bench")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("SIXHOURS_DEV_MODE", "1")
    results = run(args.seconds, args.connections, args.threads, args.max_requests,
                  args.baseline_sample, args.workdir)
    out = args.json_out or args.workdir / "bench_api.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(HEADER)
    print(table_row(results))
    before, after = results["baseline_before"], results["baseline_after"]
    print(f"baseline before/after the load: {before['events_per_s']:,.0f} / "
          f"{after['events_per_s']:,.0f} ev/s; load average before/after: "
          f"{results['load_average_before'][0]:.2f} / {results['load_average_after'][0]:.2f}")
    if results["api"]["cores_busy"]:
        print("cores busy during the load: " + ", ".join(
            f"{k} {v:.2f}" for k, v in results["api"]["cores_busy"].items()))
    for name, t in results["targets"].items():
        print(f"{name}: {t['measured']:,.2f} vs {t['target']:,.2f} -> {'met' if t['met'] else 'MISSED'}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
