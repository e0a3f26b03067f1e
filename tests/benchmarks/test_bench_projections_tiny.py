"""A tiny run of the projection benchmark on each backend: every figure exists and is positive, and
the rebuilt read model answers the report exactly as the one before the rebuild.

No timing assertions: speeds are measured by the full run and recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.bench_projections import SECTIONS, run
from tests.conftest import require_postgres


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_tiny_projection_benchmark_measures_everything(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        require_postgres()

    results = run(events=2000, backend=backend, workdir=tmp_path, big_events=6000, stock_sample=500,
                  fresh_rate=100, fresh_seconds=3, report_runs=5)

    r = results["backends"][backend]
    assert set(r["targets"]) == {"rebuild_to_read_decode", "rss_growth", "freshness_p99_s",
                                 "report_p95_s"}
    assert set(SECTIONS) <= set(r)

    b = r["rebuild"]
    head = b["rebuild"]["head"]
    assert head == b["import"]["stored"] == results["workloads"]["n"]["events"] > 0
    assert b["catch_up"]["processed"] == head
    assert b["read_decode"]["events"] == head and b["read_decode"]["events_per_s"] > 0
    assert b["rebuild"]["wall_s"] > 0 and b["rebuild"]["events_per_s"] > 0
    assert b["rebuild"]["peak_rss_kib"] > 0
    assert b["rebuild"]["status"]["active"]["position"] == head
    assert 0 < b["stock"]["events"] <= b["stock"]["rows_up_to_sample"] == b["stock"]["sample"] == 500
    assert b["stock"]["events_per_s"] > 0
    assert b["ratio_rebuild_to_read_decode"] > 0 and b["ratio_rebuild_to_stock"] > 0
    assert b["report_figures_from"] == ["rollups", "rollups"]
    assert b["report_before"]["volume"]["received"] > 0
    assert b["report_before_equals_after"] is True

    sizes = r["rss"]["sizes"]
    assert len(sizes) == 2 and sizes[0]["events"] < sizes[1]["events"]
    assert all(s["peak_rss_kib"] > 0 and s["events_per_s"] > 0 for s in sizes)

    w = r["freshness"]["writer"]
    assert w["accepted"] > 0 and w["refused"] == 0 and w["achieved_steps_per_s"] > 0
    assert w["samples"] > 0 and w["not_visible_within_drain"] == 0
    assert w["visible_s"]["n"] == w["samples"] and w["visible_s"]["p99"] > 0

    p = r["report"]
    assert p["cases"] == results["workloads"]["m"]["cases"]
    assert p["in_process"]["figures_from"] == "rollups"
    assert len(p["in_process"]["runs_s"]) == 5 and p["in_process"]["p95"] > 0
    assert p["in_process"]["cold_s"] > 0 and p["cli_max_s"] > 0
