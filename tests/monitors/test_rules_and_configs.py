"""The generated Prometheus rules and Alertmanager config: committed, valid, and doing their job.

The committed files equal what the generators make from their one config (the objective file,
the network), `promtool` accepts the rules and passes their unit tests, and `amtool` accepts the
Alertmanager config and routes a case's alerts to its supervisors by county and severity, with
overdue alerts escalated and Prometheus's alerts sent to leadership.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.monitors.servers import require_binary

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
RULES = DOCKER / "prometheus" / "rules" / "sixhours.rules.yml"
AM_CONFIG = DOCKER / "alertmanager" / "alertmanager.yml"


def _tool(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout  # amtool warns on stderr that --config.file overrides a URL


def test_committed_rules_are_the_generated_ones(tmp_path: Path) -> None:
    out = tmp_path / "rules.yml"
    assert run("alerts", "rules", "--config", "docker/prometheus/slo.yaml", "--out", str(out))[0] == 0
    assert out.read_text(encoding="utf-8") == RULES.read_text(encoding="utf-8"), (
        "regenerate: sixhours alerts rules --config docker/prometheus/slo.yaml "
        "--out docker/prometheus/rules/sixhours.rules.yml")


def test_committed_alertmanager_config_is_the_generated_one(tmp_path: Path) -> None:
    out = tmp_path / "am.yml"
    assert run("alerts", "alertmanager-config", "--network",
               "docker/alertmanager/network.example.yaml", "--out", str(out))[0] == 0
    assert out.read_text(encoding="utf-8") == AM_CONFIG.read_text(encoding="utf-8"), (
        "regenerate: sixhours alerts alertmanager-config --network "
        "docker/alertmanager/network.example.yaml --out docker/alertmanager/alertmanager.yml")


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = require_binary("promtool")
    assert "SUCCESS: 14 rules found" in _tool(promtool, "check", "rules", str(RULES))
    assert "SUCCESS" in _tool(promtool, "test", "rules", "tests/monitors/rules_test.yml")
    assert "SUCCESS" in _tool(promtool, "check", "config", "docker/prometheus/prometheus.yml")


@pytest.mark.parametrize(("labels", "receivers"), [
    # a 隆阳区 workstation without supervisors of its own: the county centre's two
    (["severity=warning", "county=ly", "supervisors=sup-ly-01,sup-ly-02"],
     ["sup-ly-01", "sup-ly-02"]),
    (["severity=overdue", "county=ly", "supervisors=sup-ly-01,sup-ly-02"],
     ["sup-ly-01", "sup-ly-02", "escalation-ly", "leadership"]),
    # the women's federation workstation has its own supervisor
    (["severity=warning", "county=ly", "supervisors=sup-ly-women-01"], ["sup-ly-women-01"]),
    (["severity=overdue", "county=tc", "supervisors=sup-tc-court-01"],
     ["sup-tc-court-01", "escalation-tc", "leadership"]),
])
def test_amtool_routes_a_case_alert_to_its_supervisors(labels: list[str],
                                                      receivers: list[str]) -> None:
    amtool = require_binary("amtool")
    routed = _tool(amtool, "config", "routes", "test", f"--config.file={AM_CONFIG}",
                   "source=sixhours", "alertname=SixHoursClockOverdue", "case_id=BS-1",
                   "clock=review", *labels)
    assert routed.strip().split(",") == receivers


def test_amtool_accepts_the_config_and_sends_prometheus_alerts_to_leadership() -> None:
    amtool = require_binary("amtool")
    assert "SUCCESS" in _tool(amtool, "check-config", str(AM_CONFIG))
    routed = _tool(amtool, "config", "routes", "test", f"--config.file={AM_CONFIG}",
                   "source=prometheus", "alertname=SixHoursWorkerDown", "severity=page")
    assert routed.strip() == "leadership"
