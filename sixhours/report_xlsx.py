"""`report --format xlsx`: the leadership report as a workbook with Chinese (or English) headings.

Sheets: compliance by group and clock, satisfaction, volume, the year's trend, and where the
figures came from. Rates are stored unrounded (shown as percentages), so a cell holds exactly the
JSON report's number; a rate with nothing to rate shows "—".
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sixhours.report_sheets import (
    Column,
    LeadershipReport,
    compliance_columns,
    flat_provenance,
    heading,
    rederive_command,
    satisfaction_columns,
    trend_columns,
    volume_columns,
)

RATE_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
NO_RATE = "—"
HEADER_ROWS = 2
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTRED = Alignment(horizontal="center", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right")


def write_xlsx(report: LeadershipReport, stream: BinaryIO, lang: str) -> None:
    book = Workbook()
    book.remove(book.worksheets[0])  # a new book comes with an empty sheet
    for sheet, columns in (("sheet_compliance", compliance_columns(report.clocks)),
                           ("sheet_satisfaction", satisfaction_columns()),
                           ("sheet_volume", volume_columns())):
        _group_sheet(book.create_sheet(heading(sheet, lang)), report, columns, lang)
    _trend_sheet(book.create_sheet(heading("sheet_trend", lang)), report, lang)
    _about_sheet(book.create_sheet(heading("sheet_about", lang)), report, lang)
    book.properties.title = f"{heading('title', lang)} {report.body['from']} — {report.body['to']}"
    book.properties.creator = "sixhours"
    buffer = io.BytesIO()  # a zip file is written with seeks; standard output may be a pipe
    book.save(buffer)
    stream.write(buffer.getvalue())


def _group_sheet(sheet: Worksheet, report: LeadershipReport, columns: Sequence[Column],
                 lang: str) -> None:
    """One row per group (a county, ...) and the total, under a two-row heading."""
    _header(sheet, [heading(report.by, lang), heading("name", lang)], columns, lang)
    for key, name, block in report.rows():
        total = key == ""
        cells = [heading("total", lang) if total else key, name]
        _write_row(sheet, cells, [(c, c.value(block)) for c in columns], bold=total)
    _finish(sheet, fixed=2)


def _trend_sheet(sheet: Worksheet, report: LeadershipReport, lang: str) -> None:
    columns = trend_columns(report.clocks)
    fixed = [heading("trend_period", lang), heading("from", lang), heading("to", lang)]
    _header(sheet, fixed, columns, lang, after=[heading("rederive", lang)])
    for body in report.trend:
        cells = [_period_name(body["from"], body["to"]), body["from"], body["to"]]
        _write_row(sheet, cells, [(c, c.value(body)) for c in columns],
                   bold=body is report.body, after=[rederive_command(body, None)])
    _finish(sheet, fixed=1)


def _about_sheet(sheet: Worksheet, report: LeadershipReport, lang: str) -> None:
    """What the figures are and where they came from, so an auditor can re-derive them."""
    body = report.body
    rows: list[tuple[str, Any]] = [
        (heading("title", lang), ""),
        (heading("policy", lang), body["policy"]),
        (heading("period", lang), f"{body['from']} — {body['to']}"),
        (heading("as_of", lang), body["as_of"]),
        (heading("timezone", lang), body["timezone"]),
        (heading("grouping", lang), heading(report.by, lang)),
        (heading("rederive", lang), rederive_command(body, report.by)),
        (heading("sheet_trend", lang), heading("trend_note", lang)),
        (NO_RATE, heading("no_rate", lang)),
        *flat_provenance(body.get("provenance", {})),
    ]
    for key, value in rows:
        sheet.append([key, "" if value is None else value])
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet["A"]:
        cell.font = BOLD
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 100


def _header(sheet: Worksheet, fixed: Sequence[str], columns: Sequence[Column], lang: str,
            after: Sequence[str] = ()) -> None:
    """Row 1: fixed headings (over both rows) and group headings merged over their columns;
    row 2: each column's own heading."""
    for index, text in enumerate([*fixed], start=1):
        _heading_cell(sheet, 1, index, text)
        sheet.merge_cells(start_row=1, start_column=index, end_row=HEADER_ROWS, end_column=index)
    start = len(fixed) + 1
    spans: list[tuple[str, int, int]] = []
    for offset, column in enumerate(columns):
        group, own = column.headings(lang)
        _heading_cell(sheet, 2, start + offset, own)
        if spans and spans[-1][0] == group:
            spans[-1] = (group, spans[-1][1], start + offset)
        else:
            spans.append((group, start + offset, start + offset))
    for group, first, last in spans:
        _heading_cell(sheet, 1, first, group)
        if last > first:
            sheet.merge_cells(start_row=1, start_column=first, end_row=1, end_column=last)
    for index, text in enumerate(after, start=start + len(columns)):
        _heading_cell(sheet, 1, index, text)
        sheet.merge_cells(start_row=1, start_column=index, end_row=HEADER_ROWS, end_column=index)


def _heading_cell(sheet: Worksheet, row: int, column: int, text: str) -> None:
    cell = sheet.cell(row=row, column=column, value=text)
    cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, CENTRED


def _write_row(sheet: Worksheet, fixed: Sequence[Any], figures: Sequence[tuple[Column, Any]],
               *, bold: bool, after: Sequence[Any] = ()) -> None:
    row = sheet.max_row + 1
    values = [*fixed, *(NO_RATE if value is None else value for _, value in figures), *after]
    for index, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=index, value=value)
        if bold:
            cell.font, cell.fill = BOLD, TOTAL_FILL
    for index, (column, value) in enumerate(figures, start=len(fixed) + 1):
        cell = sheet.cell(row=row, column=index)
        if value is None:
            cell.alignment = RIGHT
        else:
            cell.number_format = RATE_FORMAT if column.is_rate else COUNT_FORMAT


def _finish(sheet: Worksheet, fixed: int) -> None:
    """Freeze the heading rows and the row names; size the columns to their text."""
    sheet.freeze_panes = sheet.cell(row=HEADER_ROWS + 1, column=fixed + 1)
    spans = {(r.min_row, r.min_col): r.max_col - r.min_col + 1 for r in sheet.merged_cells.ranges}
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is not None:
                shown = "100.0%" if cell.number_format == RATE_FORMAT else str(cell.value)
                # a heading merged over several columns shares its width among them
                width = _display_width(shown) // spans.get((cell.row, cell.column), 1)
                widths[cell.column] = max(widths.get(cell.column, 0), width)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, 60)


def _display_width(text: str) -> int:
    # Chinese characters take two columns in a spreadsheet's default font.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _period_name(start: str, end: str) -> str:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    whole_month = first.day == 1 and (last.month != date.fromordinal(last.toordinal() + 1).month)
    if whole_month and (first.year, first.month) == (last.year, last.month):
        return first.strftime("%Y-%m")
    return f"{start} — {end}"
