"""A tiny run of the monitor benchmark on each backend: every figure is measured, and every
deadline reaches the real Alertmanager. No timing assertions: docs/BENCHMARKS.md has the figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.bench_monitors import run
from tests.conftest import require_postgres
from tests.monitors.servers import require_binary


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_tiny_monitor_benchmark_measures_everything(backend: str, tmp_path: Path) -> None:
    require_binary("prometheus-alertmanager")
    if backend == "postgres":
        require_postgres()
    results = run(backend=backend, workdir=tmp_path, open_clocks=3000, alerting=60,
                  history_cases=60, passes=2, busy_cases=3, scrapes=2, deadlines=2,
                  repost_seconds=4.0)
    r = results["backends"][backend]
    assert r["setup"]["open_clocks"] == 3000 and r["setup"]["history_events"] > 0
    p = r["pass"]
    assert p["first_full_read"] >= 60 and p["first_full_sent"] >= 60
    assert p["idle_s"]["n"] == 2 and p["busy_s"]["n"] == 2 and p["busy_read_p50"] >= 3
    assert p["full_s"] > 0 and p["full_read"] >= 60
    assert p["repost_sent"] >= 60  # every firing alert, re-posted together
    assert len(p["load_before"]) == len(p["load_after"]) == 3
    s = r["scrape"]
    assert s["scrape_s"]["n"] == 2 and s["series"] > 100
    d = r["deadline"]
    assert d["arrived"] == d["deadlines"] == 2
    assert d["deadline_to_alertmanager_s"]["max"] > 0
