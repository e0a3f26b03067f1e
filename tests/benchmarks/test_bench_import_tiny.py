"""A tiny run of the import benchmark on each backend: the figures exist and every event is stored.

No timing assertions: speeds are measured by the full run and recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.benchmarks.bench_import import _tree_rss_kib, _tree_rss_kib_by_scan, run
from tests.conftest import require_postgres


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_tiny_import_benchmark_measures_everything(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        require_postgres()

    results = run(events=2000, backend=backend, workdir=tmp_path, baseline_sample=500)

    load = results["workload"]
    assert load["count"] > 0
    r = results["backends"][backend]
    imp = r["import"]
    assert imp["refused"] == 0
    assert imp["stored"] == load["count"] == imp["lines"]
    assert imp["rows_in_store"] == load["count"]
    assert imp["wall_s"] > 0 and imp["events_per_s"] > 0 and imp["peak_rss_kib"] > 0
    assert r["network_import_s"] > 0
    assert r["catch_up"]["processed"] == load["count"]
    assert r["catch_up"]["wall_s"] > 0 and r["catch_up"]["events_per_s"] > 0
    assert len(r["report"]["runs"]) == 3 and all(s > 0 for s in r["report"]["runs"])
    assert 0 < r["report"]["median_s"] <= r["report"]["max_s"]
    assert r["baseline"]["events"] == r["baseline"]["stored"] == min(500, load["count"])
    assert r["baseline"]["events_per_s"] > 0
    assert r["ratio_import_to_baseline"] > 0
    assert set(r["targets"]) == {"import_events_per_s", "import_peak_rss_mb", "report_max_s"}


def test_the_rss_sampler_counts_a_process_and_its_descendants() -> None:
    """The walk down the tree gives what a scan of every process gives, grandchildren included."""
    script = ("import subprocess, sys, time; memory = bytearray(30_000_000); "
              "child = subprocess.Popen([sys.executable, '-c', "
              "'import time; memory = bytearray(60_000_000); time.sleep(30)']); "
              "time.sleep(30)")
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        walked = 0
        for _ in range(100):  # until the grandchild has its memory
            walked = _tree_rss_kib(parent.pid)
            if walked > 90_000:
                break
            time.sleep(0.1)
        assert walked > 90_000
        assert abs(walked - _tree_rss_kib_by_scan(parent.pid)) < 2_000
    finally:
        for pid in _descendants(parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found
