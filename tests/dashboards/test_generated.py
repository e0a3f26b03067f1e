"""Issue 8: the Grafana dashboards are generated from one config and committed.

Regenerating them reproduces the committed files byte for byte (the rules have their own golden
test in tests/monitors/test_rules_and_configs.py); each file is a dashboard the SDK's model reads
back unchanged, with a uid, a title, a schema version, and panels whose targets carry PromQL for
the provisioned Prometheus datasource and use only variables the dashboard defines. English
dashboards differ only in their words; a change to the objective config reaches every query.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards.build import DashboardConfig, build_all, render
from sixhours.dashboards_cli import load_config
from tests.dashboards.committed import CONFIG, GENERATED, PROVISIONING, ROOT, committed, panels
from tests.e2e.cli import run

BUILTINS = {"__rate_interval", "__range", "__interval"}
CJK = re.compile(r"[\u4e00-\u9fff]")
PERSONAL = ("case_id", "applicant", "name", "id_number", "phone", "handler", "actor")


def _config() -> DashboardConfig:
    return load_config(CONFIG)


def test_committed_dashboards_are_the_generated_ones(tmp_path: Path) -> None:
    code, out = run("dashboards", "build", "--config", str(CONFIG), "--out", str(tmp_path))
    assert code == 0, out
    fresh = {p.name: p.read_text(encoding="utf-8") for p in sorted(tmp_path.glob("*.json"))}
    assert fresh.keys() == committed().keys() == {"leadership.json", "supervisor.json",
                                                  "quality.json"}
    for name, body in committed().items():
        assert fresh[name] == body, f"{name}: regenerate with `sixhours dashboards build`"
    assert run("dashboards", "build", "--config", str(CONFIG), "--out", str(GENERATED),
               "--check")[0] == 0


def test_check_names_a_stale_or_missing_dashboard(tmp_path: Path) -> None:
    for path in GENERATED.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    stale = tmp_path / "supervisor.json"
    stale.write_text(stale.read_text(encoding="utf-8").replace("已超时", "超时了"), encoding="utf-8")
    (tmp_path / "quality.json").unlink()
    code, _ = run("dashboards", "build", "--config", str(CONFIG), "--out", str(tmp_path), "--check")
    assert code == 1
    assert "超时了" in stale.read_text(encoding="utf-8")  # --check writes nothing


@pytest.mark.parametrize("name", sorted(committed()))
def test_each_dashboard_is_a_complete_grafana_dashboard(name: str) -> None:
    text = committed()[name]
    data = json.loads(text)
    assert render(Dashboard.from_json(data)) == text  # the SDK's model reads it back unchanged
    assert data["uid"] == f"sixhours-{name.removesuffix('.json')}" and data["title"]
    assert isinstance(data["schemaVersion"], int) and data["schemaVersion"] >= 36
    assert data["timezone"] == "Asia/Shanghai" and data["editable"] is False
    variables = {v["name"]: v for v in data["templating"]["list"]}
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    shown = list(panels(data))
    assert shown
    for panel in shown:
        assert panel["title"] and panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["datasource"] == panel["datasource"]
            used = set(re.findall(r"\$(\w+)", target["expr"]))
            assert used <= variables.keys() | BUILTINS, (panel["title"], used)
            assert not [w for w in PERSONAL if re.search(rf"\b{w}\b", target["expr"])]
    _assert_no_overlap(data["panels"])
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "prometheus" and variable["allValue"] == ".+"


def _assert_no_overlap(items: list[dict[str, Any]]) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in items:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_english_dashboards_differ_only_in_their_words() -> None:
    zh, en = build_all(_config(), "zh-CN"), build_all(_config(), "en")
    assert zh == committed()
    for name in zh:
        zh_board, en_board = json.loads(zh[name]), json.loads(en[name])
        assert zh_board["uid"] == en_board["uid"]
        assert ([t["expr"] for p in panels(zh_board) for t in p["targets"]]
                == [t["expr"] for p in panels(en_board) for t in p["targets"]])
        zh_titles = [zh_board["title"], *(p["title"] for p in zh_board["panels"])]
        en_titles = [en_board["title"], *(p["title"] for p in en_board["panels"])]
        assert all(CJK.search(t) for t in zh_titles), zh_titles
        assert not [t for t in en_titles if CJK.search(t)]
        assert not CJK.search(json.dumps(en_board["templating"], ensure_ascii=False))


def test_the_objective_config_reaches_every_query_and_threshold(tmp_path: Path) -> None:
    objective = yaml.safe_load((ROOT / "docker/prometheus/slo.yaml").read_text(encoding="utf-8"))
    objective["job"], objective["objective"]["target"] = "bureau-worker", 0.95
    (tmp_path / "slo.yaml").write_text(yaml.safe_dump(objective), encoding="utf-8")
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8")) | {"objective": "slo.yaml"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    boards = {n: json.loads(b) for n, b in build_all(load_config(tmp_path / "config.yaml"),
                                                      "zh-CN").items()}
    exprs = [t["expr"] for b in boards.values() for p in panels(b) for t in p["targets"]]
    assert not [e for e in exprs if "sixhours-worker" in e]
    assert sum('job="bureau-worker"' in e for e in exprs) > 20
    rate = next(p for p in panels(boards["leadership.json"]) if p["id"] == 2)
    assert [s["value"] for s in rate["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 0.95]
    budget = next(p for p in panels(boards["leadership.json"]) if p["id"] == 3)
    assert budget["targets"][0]["expr"].endswith("/ 0.05")


def test_grafana_provisioning_loads_the_committed_dashboards() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    sources = yaml.safe_load((PROVISIONING / "datasources/sixhours.yaml").read_text(encoding="utf-8"))
    prometheus = next(d for d in sources["datasources"] if d["type"] == "prometheus")
    assert prometheus["uid"] == config["datasource_uid"] and prometheus["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((PROVISIONING / "dashboards/sixhours.yaml").read_text(encoding="utf-8"))
    [provider] = providers["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert provider["folderUid"] == config["folder_uid"] and provider["allowUiUpdates"] is False
