"""The monthly leadership report as a spreadsheet holds exactly the JSON report's figures.

Given three months of generated cases, when a clerk writes March's report as xlsx or csv, then
every figure in it equals `report --format json` for March (by county), each trend row equals the
JSON report of its own month, and the provenance names what the JSON names. SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from domain.policy import CLOCK_LABELS
from sixhours.cli import app
from tests.e2e.cli import run, run_json

AS_OF = "2026-04-02T00:00:00+08:00"
MARCH = ("--from", "2026-03-01", "--to", "2026-03-31", "--as-of", AS_OF)
NO_RATE = "—"

# The Chinese headings a bureau's leadership reads, and which JSON figure each one is.
GROUPS = {"一小时到达": ("clocks", "reach"), "一小时上门": ("clocks", "onsite"),
          "一小时审查答复": ("clocks", "review"), "一小时受理指派": ("clocks", "assignment"),
          "一小时会见": ("clocks", "first_meeting"), "一小时审卷回访": ("clocks", "follow_up"),
          "六个一小时": ("cases", None), "满意度": ("satisfaction", None),
          "案件量": ("volume", None), "进行中的时限": ("open", None)}
FIELDS = {"按时": "met", "超时": "breached", "达标率": "rate", "全部达标": "achieved",
          "未全部达标": "missed", "满意": "satisfied", "基本满意": "basically_satisfied",
          "不满意": "dissatisfied", "满意率": "rate", "收到申请": "received", "准予援助": "granted",
          "不予援助": "refused", "撤回": "withdrawn", "结案": "closed", "在办案件": "open_cases",
          "计时中": "running", "已超时": "overdue"}


@pytest.fixture
def three_months(env: dict[str, str], tmp_path: Path) -> Path:
    code, out = run("generate", "--cases", "300", "--seed", "8", "--start", "2026-01-10",
                    "--days", "80", "--out", str(tmp_path))
    assert code == 0, out
    assert run("network", "import", str(tmp_path / "network.yaml"))[0] == 0
    code, out = run("import", str(tmp_path / "events.jsonl"))
    assert code == 0, out
    return tmp_path


def _figure(block: dict[str, Any], group: str, field: str) -> Any:
    section, clock = GROUPS[group]
    return (block[section][clock] if clock else block[section])[FIELDS[field]]


def _headings(sheet: Any, fixed: int) -> list[tuple[str, str]]:
    """(group, field) per figure column; a merged group heading stands over its columns."""
    pairs, group = [], None
    for column in range(fixed + 1, sheet.max_column + 1):
        group = sheet.cell(row=1, column=column).value or group
        field = sheet.cell(row=2, column=column).value
        if field is not None:
            pairs.append((group, field))
    return pairs


def _cell_equals(cell: Any, want: Any) -> bool:
    if want is None:
        return bool(cell.value == NO_RATE)
    if isinstance(want, float) or cell.number_format == "0.0%":
        return cell.number_format == "0.0%" and cell.value == want
    return type(cell.value) is int and cell.value == want


def test_the_workbook_holds_the_json_figures_by_county_clock_satisfaction_and_trend(
        three_months: Path, tmp_path: Path) -> None:
    book_path = tmp_path / "march.xlsx"
    code, out = run("report", "--month", "2026-03", "--as-of", AS_OF, "--format", "xlsx",
                    "--out", str(book_path), "--lang", "zh")
    assert code == 0, out
    want = run_json("report", *MARCH, "--by", "county", "--format", "json")
    assert len(want["rows"]) > 2, "the generated month must span several counties"
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["时限达标", "满意度", "案件量", "趋势", "来源说明"]

    checked: set[tuple[str, str, str]] = set()
    blocks = {row["key"]: row for row in want["rows"]} | {"合计": want}
    for name in ("时限达标", "满意度", "案件量"):
        sheet = book[name]
        assert sheet.freeze_panes == "C3" and sheet["A1"].value == "县（区）"
        columns = _headings(sheet, fixed=2)
        keys = [sheet.cell(row=r, column=1).value for r in range(3, sheet.max_row + 1)]
        assert keys == [row["key"] for row in want["rows"]] + ["合计"]
        for r, key in enumerate(keys, start=3):
            for c, (group, field) in enumerate(columns, start=3):
                cell = sheet.cell(row=r, column=c)
                assert _cell_equals(cell, _figure(blocks[key], group, field)), \
                    (name, key, group, field, cell.value)
                checked.add((key, *GROUPS[group], FIELDS[field]))
    assert checked == {(key, *path) for key, block in blocks.items() for path in _paths(block)}, \
        "every figure of the JSON report is in the workbook"

    trend = book["趋势"]
    assert trend.freeze_panes == "B3"
    columns = _headings(trend, fixed=3)
    periods = [tuple(trend.cell(row=r, column=c).value for c in (1, 2, 3))
               for r in range(3, trend.max_row + 1)]
    assert periods == [("2026-01", "2026-01-01", "2026-01-31"),
                       ("2026-02", "2026-02-01", "2026-02-28"),
                       ("2026-03", "2026-03-01", "2026-03-31")]
    for r, (_, first, last) in enumerate(periods, start=3):
        month = run_json("report", "--from", first, "--to", last, "--as-of", AS_OF,
                         "--format", "json")
        for c, (group, field) in enumerate(columns, start=4):
            if group in GROUPS:  # the last column re-derives the row: a command, not a figure
                assert _cell_equals(trend.cell(row=r, column=c), _figure(month, group, field)), \
                    (first, group, field)
        assert trend.cell(row=r, column=trend.max_column).value == (
            f"sixhours report --from {first} --to {last} --as-of {AS_OF} --policy six-hours "
            "--format json")

    about = {row[0]: row[1] for row in book["来源说明"].iter_rows(values_only=True)}
    provenance = want["provenance"]
    assert about["provenance.events.chain_head"] == provenance["events"]["chain_head"]
    assert about["provenance.events.through_notification"] == \
        provenance["events"]["through_notification"]
    assert about["provenance.code.source_sha256"] == provenance["code"]["source_sha256"]
    assert about["provenance.policy"] == provenance["policy"]


def _paths(block: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """Where each figure of a JSON report block is: (section, clock or None, field)."""
    paths: list[tuple[str, str | None, str]] = [
        ("clocks", clock, field) for clock, figures in block["clocks"].items() for field in figures]
    for section in ("cases", "satisfaction", "volume", "open"):
        paths += [(section, None, field) for field in block[section]]
    return paths


def test_the_csv_is_one_flat_table_of_the_same_figures(three_months: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--month", "2026-03", "--as-of", AS_OF,
                                      "--format", "csv", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf"), "a BOM, for Excel"
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    want = run_json("report", *MARCH, "--by", "county", "--format", "json")
    months = {(r["from"], r["to"]) for r in rows if r["group"] == ""}
    assert months == {("2026-01-01", "2026-01-31"), ("2026-02-01", "2026-02-28"),
                      ("2026-03-01", "2026-03-31")}
    for row in rows:
        report = want if row["from"] == "2026-03-01" else run_json(
            "report", "--from", row["from"], "--to", row["to"], "--as-of", AS_OF,
            "--format", "json")
        block = report if row["group"] == "" else \
            next(r for r in report["rows"] if r["key"] == row["group"])
        assert row["provenance.events.chain_head"] == report["provenance"]["events"]["chain_head"]
        figures = {_english_path(heading): _number(text) for heading, text in row.items()
                   if _english_path(heading) is not None}
        assert figures == {path: _at(block, path) for path in _paths(block)}, row
    assert {r["group"] for r in rows if r["from"] == "2026-03-01"} == \
        {"", *(r["key"] for r in want["rows"])}


# The English headings (--lang en): "<group> <field>".
EN_GROUPS = {**{en: ("clocks", clock) for clock, (_, en) in CLOCK_LABELS.items()},
             "six hours": ("cases", None), "satisfaction": ("satisfaction", None),
             "volume": ("volume", None), "open clocks": ("open", None)}
EN_FIELDS = {"met": "met", "breached": "breached", "rate": "rate", "achieved": "achieved",
             "missed": "missed", "satisfied": "satisfied",
             "basically satisfied": "basically_satisfied", "dissatisfied": "dissatisfied",
             "received": "received", "granted": "granted", "refused": "refused",
             "withdrawn": "withdrawn", "closed": "closed", "open cases": "open_cases",
             "running": "running", "overdue": "overdue"}


def _english_path(heading: str) -> tuple[str, str | None, str] | None:
    for group, (section, clock) in EN_GROUPS.items():
        if heading.startswith(group + " ") and heading[len(group) + 1:] in EN_FIELDS:
            return section, clock, EN_FIELDS[heading[len(group) + 1:]]
    return None


def _at(block: dict[str, Any], path: tuple[str, str | None, str]) -> Any:
    section, clock, field = path
    return (block[section][clock] if clock else block[section])[field]


def _number(text: str) -> int | float | None:
    if text == "":
        return None
    return float(text) if any(ch in text for ch in ".e") else int(text)


def test_an_xlsx_report_is_not_written_to_a_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "SIXHOURS_DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite'}",
           "SIXHOURS_DEV_MODE": "1", "SIXHOURS_LANG": "en"}
    terminal, other_end = os.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "sixhours.cli", "report", "--format", "xlsx"],
                              stdout=other_end, stderr=subprocess.PIPE, env=env, timeout=120,
                              check=False)
    finally:
        os.close(other_end)
        os.close(terminal)
    assert done.returncode == 2
    assert b"--out FILE" in done.stderr


@pytest.mark.parametrize("args, complaint", [
    (("--month", "2026-03", "--from", "2026-03-01", "--format", "csv"), "either --month"),
    (("--month", "March", "--format", "csv"), "not a month"),
    (("--format", "json", "--out", "x.json"), "--out is for"),
    (("--format", "pdf",), "--format"),
])
def test_a_report_asked_for_wrongly_says_what_to_change(
        env: dict[str, str], args: tuple[str, ...], complaint: str) -> None:
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert complaint in result.stderr
