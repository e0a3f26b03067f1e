"""A published month keeps its figures; a later run shows what changed and why."""

from __future__ import annotations

from pathlib import Path

from tests.audit.store import write_jsonl
from tests.audit.test_replay import _late_review
from tests.e2e.cli import run, run_json
from tests.unit.factory import CaseBuilder


def test_a_correction_after_publication_is_shown_as_the_reason(
        env: dict[str, str], examples: Path, tmp_path: Path) -> None:
    first, correction = _late_review()
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(write_jsonl(tmp_path / "first.jsonl", first)))[0] == 0
    published = run_json("audit", "publish", "--month", "2026-03")
    assert published["provenance"]["events"]["chain_head"]
    other = CaseBuilder("LATE-2", service_point="ly")
    late = [other.raw("application_received", 60)]  # happened in March, recorded only now
    assert run("import", str(write_jsonl(tmp_path / "fix.jsonl", correction + late)))[0] == 0

    body = run_json("audit", "changes", "--month", "2026-03")

    changes = {c["figure"]: (c["published"], c["now"]) for c in body["changes"]}
    assert changes["cases.achieved"] == (0, 1) and changes["cases.missed"] == (1, 0)
    assert changes["clocks.review.met"] == (0, 1)
    assert changes["volume.received"] == (1, 2)
    assert body["why"]["corrections"] == {"events": 1, "cases": ["LATE-1"]}
    assert body["why"]["late_recorded"] == {"events": 1, "cases": ["LATE-2"]}
    assert body["published_provenance"]["events"]["chain_head"] != \
        body["provenance"]["events"]["chain_head"]
    assert run("audit", "verify")[0] == 0  # the publication's head is an anchor the chain meets
