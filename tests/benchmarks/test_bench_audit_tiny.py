"""A tiny run of the audit benchmark on each backend: every figure exists and is positive, the
edited event is named, and what-if re-scores every case of both policies.

No timing assertions: speeds are measured by the full run and recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.bench_audit import run
from tests.conftest import require_postgres


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_tiny_audit_benchmark_measures_everything(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        require_postgres()

    results = run(events=2000, cases=700, distinct=300, backend=backend, workdir=tmp_path)

    r = results["backends"][backend]
    v = r["verify"]
    assert v["ok"] and v["events"] > 1500
    assert v["wall_s"] > 0 and v["events_per_s"] > 0 and v["scan_events_per_s"] > 0
    assert v["chain_events_per_s"] > 0
    assert v["tamper"]["detected"] and v["tamper"]["named"] == v["tamper"]["expected"]
    w = r["what_if"]
    assert w["build"]["distinct"] == 300 and w["build"]["cases"] == 700
    for policy in ("statutory", "six-hours-urban30"):
        assert w[policy]["status"] == "done" and w[policy]["cases"] == 700
        assert w[policy]["cases_per_s"] > 0 and 0 < w[policy]["changed"] <= 700
    assert set(r["targets"]) == {"verify_events_per_s", "what_if_s_per_million",
                                 "what_if_cpu_s_per_million_over_cores"}
    assert v["cpu_s"] > 0 and all(w[p]["cpu_s"] > 0 for p in ("statutory", "six-hours-urban30"))
