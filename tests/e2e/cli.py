"""Run the `sixhours` command line in-process, as a clerk would type it."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from sixhours.cli import app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def run_json(*args: str) -> Any:
    code, out = run(*args)
    assert code == 0, out
    return json.loads(out)


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without the parts that name when it ran."""
    return {k: v for k, v in report.items() if k not in ("as_of",)}
