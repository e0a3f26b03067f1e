"""`report --format csv`: the leadership report as one flat table.

One row per period and group: each earlier month's total, then the period's total and its
groups. UTF-8 with a byte-order mark, so that Excel shows the Chinese headings; a rate is the
JSON report's unrounded number, and empty where the JSON has null. The provenance columns repeat
on every row, so any row can be re-derived on its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, BinaryIO

from sixhours.report_sheets import (
    LeadershipReport,
    compliance_columns,
    heading,
    satisfaction_columns,
    volume_columns,
)

# The parts of a report's provenance that re-derive it: events (and their chain head), policy, code.
PROVENANCE = (("policy",), ("events", "through_notification"), ("events", "chain_head"),
              ("code", "version"), ("code", "source_sha256"))


def write_csv(report: LeadershipReport, stream: BinaryIO, lang: str) -> None:
    columns = (compliance_columns(report.clocks) + satisfaction_columns() + volume_columns())
    text = io.StringIO(newline="")
    table = csv.writer(text)
    table.writerow([heading("from", lang), heading("to", lang), heading("as_of", lang),
                    heading("grouping", lang), heading("key", lang), heading("name", lang),
                    *(" ".join(c.headings(lang)) for c in columns),
                    *(f"provenance.{'.'.join(path)}" for path in PROVENANCE)])

    def write(body: Mapping[str, Any], by: str, key: str, name: str,
              block: Mapping[str, Any]) -> None:
        figures = [c.value(block) for c in columns]
        table.writerow([body["from"], body["to"], body["as_of"], by, key, name,
                        *("" if value is None else value for value in figures),
                        *(_provenance(body, path) for path in PROVENANCE)])

    for body in report.earlier:
        write(body, "", "", heading("total", lang), body)
    for key, name, block in report.rows():
        total = key == ""
        write(report.body, "" if total else report.by, key, heading("total", lang) if total
              else name, block)
    stream.write(text.getvalue().encode("utf-8-sig"))


def _provenance(body: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body.get("provenance", {})
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return "" if value is None else value
