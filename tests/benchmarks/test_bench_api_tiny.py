"""A tiny run of the HTTP API load benchmark: wrk's steps are all acknowledged and stored.

No timing assertions: speeds are measured by the full run and recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.benchmarks.bench_api import run
from tests.conftest import require_postgres


@pytest.mark.postgres
def test_a_tiny_api_benchmark_measures_everything(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    if shutil.which("wrk") is None:
        message = "the API benchmark needs wrk (apt-get install wrk)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    monkeypatch.setenv("SIXHOURS_DEV_MODE", "1")

    results = run(seconds=2, connections=4, threads=1, max_requests=400, baseline_events=100,
                  workdir=tmp_path)

    api = results["api"]
    assert api["not_2xx"] == 0 and api["socket_errors"] == 0
    assert 0 < api["acknowledged"] <= 400
    # wrk may stop with a few steps in flight: stored, but not counted as answered
    assert api["acknowledged"] <= api["stored"] <= api["acknowledged"] + api["connections"]
    assert 0 < api["p50_ms"] <= api["p90_ms"] <= api["p99_ms"] <= api["max_ms"]
    assert api["steps_per_s"] > 0
    for run_of_baseline in ("baseline_before", "baseline_after"):
        assert results[run_of_baseline]["events"] == results[run_of_baseline]["stored"] == 100
    assert results["baseline"]["events_per_s"] == max(
        results["baseline_before"]["events_per_s"], results["baseline_after"]["events_per_s"])
    assert len(results["load_average_before"]) == len(results["load_average_after"]) == 3
    cores = api["cores_busy"]
    assert cores is not None and cores["server"] > 0
    assert set(cores) == {"machine", "server", "postgres", "wrk", "others"}
    assert results["ratio_api_to_baseline"] > 0
    assert set(results["targets"]) == {"steps_per_s_vs_baseline", "p99_ms"}
