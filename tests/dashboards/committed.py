"""The committed dashboards and their parts, as the tests read them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "dashboards" / "generated"
CONFIG = ROOT / "dashboards" / "config.yaml"
PROVISIONING = ROOT / "docker" / "grafana" / "provisioning"


def committed() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(GENERATED.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that shows data (rows only group them)."""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def targets() -> Iterator[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(file name, dashboard, panel, target) of every query of every committed dashboard."""
    for name, text in committed().items():
        dashboard = json.loads(text)
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                yield name, dashboard, panel, target
