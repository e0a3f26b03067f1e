"""Reading event files (JSON Lines, CSV) and YAML/CSV network, policy and calendar files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from domain.errors import RuleViolation

CSV_COLUMNS = ("event_id", "case_id", "type", "occurred_at", "recorded_at", "actor", "data")


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    text: str
    raw: Any = None  # the decoded object, when it decoded
    error: RuleViolation | None = None


def read_events(path: Path) -> Iterator[Line]:
    """Stream an event file line by line; CSV when its name ends in .csv."""
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[Line]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            try:
                yield Line(number, text, orjson.loads(text))
            except orjson.JSONDecodeError as error:
                yield Line(number, text, error=RuleViolation("invalid_json", detail=str(error)))


def _read_csv(path: Path) -> Iterator[Line]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        if tuple(h.strip() for h in header) != CSV_COLUMNS:
            raise ValueError(f"{path}: CSV columns must be {', '.join(CSV_COLUMNS)}")
        for row in reader:
            number = reader.line_num
            text = _csv_text(row)
            if not any(cell.strip() for cell in row):
                continue
            yield _csv_line(number, text, row)


def _csv_text(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


def _csv_line(number: int, text: str, row: list[str]) -> Line:
    if len(row) != len(CSV_COLUMNS):
        return Line(number, text, error=RuleViolation(
            "invalid_json", detail=f"expected {len(CSV_COLUMNS)} columns, found {len(row)}"))
    raw: dict[str, Any] = {}
    for key, cell in zip(CSV_COLUMNS, row, strict=True):
        if key == "data":
            try:
                raw["data"] = json.loads(cell) if cell.strip() else {}
            except json.JSONDecodeError as error:
                return Line(number, text, error=RuleViolation("invalid_json",
                                                              detail=f"data: {error}"))
        elif cell != "" or key in ("event_id", "case_id", "type", "occurred_at"):
            raw[key] = cell
    return Line(number, text, raw)


def read_yaml(path: Path) -> Any:
    with path.open("r", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def read_network(path: Path) -> list[dict[str, Any]]:
    """A network as YAML (a list of points) or CSV (supervisors as a JSON column)."""
    if path.suffix.lower() != ".csv":
        loaded = read_yaml(path)
        return loaded if isinstance(loaded, list) else loaded
    points = []
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            point: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items()}
            point["supervisors"] = json.loads(point["supervisors"]) if point.get(
                "supervisors") else []
            point["retired"] = str(point.get("retired") or "").lower() in ("true", "1", "yes")
            points.append({k: v for k, v in point.items() if v is not None})
    return points
