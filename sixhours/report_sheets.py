"""The monthly leadership report as tables: what `report --format xlsx|csv` lays out.

Every figure is read from report bodies that `ReportQueries.report` made — the very dicts that
`report --format json` prints — so a spreadsheet cannot disagree with the JSON. The trend is more
such bodies, one per earlier month of the year, each exactly the JSON report of its own period.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from domain.network import LEVELS, Network
from projections.figures import SATISFACTION, VOLUME
from projections.queries import ReportRequest
from sixhours.i18n import label

SPREADSHEET_FORMATS = ("xlsx", "csv")

# Headings that only the spreadsheets use (the shared ones come from sixhours.i18n).
HEADINGS: dict[str, tuple[str, str]] = {
    "country": ("国家", "country"), "province": ("省", "province"), "city": ("市", "city"),
    "county": ("县（区）", "county"), "township": ("乡镇（街道）", "township"),
    "village": ("村（社区）", "village"), "group": ("受援人群", "group"),
    "channel": ("申请渠道", "channel"), "category": ("案件类别", "category"),
    "name": ("名称", "name"), "total": ("合计", "total"), "from": ("起", "from"),
    "to": ("止", "to"), "trend_period": ("期间", "period"),
    "sheet_compliance": ("时限达标", "Compliance"), "sheet_satisfaction": ("满意度", "Satisfaction"),
    "sheet_volume": ("案件量", "Volume"), "sheet_trend": ("趋势", "Trend"),
    "sheet_about": ("来源说明", "About"),
    "title": ("六个一小时 月度报告", "Six hours: monthly report"),
    "grouping": ("分组方式", "grouped by"), "timezone": ("时区", "time zone"),
    "no_rate": ("“—”：分母为零，无法计算比率", "“—”: nothing to rate (zero denominator)"),
    "rederive": ("复核命令（输出的数字与本表相同）", "re-derive (prints the same figures)"),
    "trend_note": ("趋势：本年度此前各月，及本报告期间；每行即该期间的 report --format json",
                   "trend: each earlier month of the year, then this period; each row is that "
                   "period's report --format json"),
}


def heading(key: str, lang: str) -> str:
    if key in HEADINGS:
        zh, en = HEADINGS[key]
        return zh if lang.startswith("zh") else en
    return label(key, lang)


@dataclass(frozen=True)
class Column:
    """One figure: where it sits in a report block, and the headings above it."""

    group: str  # the heading over several columns: a clock, "cases", "satisfaction", ...
    field: str  # met, breached, rate, achieved, received, ...

    @property
    def is_rate(self) -> bool:
        return self.field == "rate"

    def value(self, block: Mapping[str, Any]) -> Any:
        section = "clocks" if self.group not in ("cases", "satisfaction", "volume", "open") \
            else self.group
        where = block[section][self.group] if section == "clocks" else block[section]
        return where[self.field]

    def headings(self, lang: str) -> tuple[str, str]:
        sub = "satisfaction_rate" if (self.group, self.field) == ("satisfaction", "rate") \
            else self.field
        return heading(self.group, lang), heading(sub, lang)


def compliance_columns(clocks: list[str]) -> list[Column]:
    return [Column(name, f) for name in clocks for f in ("met", "breached", "rate")] + \
        [Column("cases", f) for f in ("achieved", "missed", "rate")]


def satisfaction_columns() -> list[Column]:
    return [Column("satisfaction", f) for f in (*SATISFACTION, "rate")]


def volume_columns() -> list[Column]:
    return [Column("volume", f) for f in VOLUME] + [Column("open", f) for f in ("running", "overdue")]


def trend_columns(clocks: list[str]) -> list[Column]:
    return ([Column("cases", f) for f in ("achieved", "missed", "rate")]
            + [Column(name, "rate") for name in clocks]
            + [Column("satisfaction", "rate"), Column("volume", "received"),
               Column("volume", "closed")])


@dataclass(frozen=True)
class LeadershipReport:
    """The period's report grouped by `by`, and the year's trend up to it."""

    body: dict[str, Any]  # report --format json for the period, with rows
    earlier: list[dict[str, Any]]  # report --format json (no rows) for each earlier month
    by: str  # the grouping of the rows: a level, group, channel or category
    names: Mapping[str, str]  # row key -> a readable name (service point names)

    @property
    def clocks(self) -> list[str]:
        return list(self.body["clocks"])

    @property
    def trend(self) -> list[dict[str, Any]]:
        return [*self.earlier, self.body]

    def rows(self) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """(key, name, block) for each group, then the total (key empty)."""
        for row in self.body.get("rows", []):
            yield row["key"], self.names.get(row["key"], row["key"]), row
        yield "", "", self.body


def earlier_months(first_day: date) -> list[tuple[date, date]]:
    """The months of the year before `first_day`, the last one cut at the day before it."""
    periods = []
    start = date(first_day.year, 1, 1)
    while start < first_day:
        following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        periods.append((start, min(following, first_day) - timedelta(days=1)))
        start = following
    return periods


def month_period(text: str) -> tuple[date, date]:
    """`--month 2026-03` -> 2026-03-01 .. 2026-03-31."""
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValueError(f"--month {text!r} is not a month like 2026-03") from None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def point_names(network: Network, by: str) -> dict[str, str]:
    if by in LEVELS:
        return {point.id: point.name for point in network.points.values()}
    return {}  # enum keys (channels, groups, categories) are their own names


def leadership_report(report: Callable[[ReportRequest], dict[str, Any]], request: ReportRequest,
                      names: Callable[[str], Mapping[str, str]]) -> LeadershipReport:
    """Ask `report` (the JSON report's query) for the period, then for each earlier month."""
    if request.by is None:
        raise ValueError("a leadership report needs a grouping (--by), e.g. county")
    body = report(request)
    earlier = [report(replace(request, date_from=start, date_to=end, by=None))
               for start, end in earlier_months(date.fromisoformat(body["from"]))]
    return LeadershipReport(body, earlier, request.by, names(request.by))


def rederive_command(body: Mapping[str, Any], by: str | None) -> str:
    grouping = f" --by {by}" if by else ""
    return (f"sixhours report --from {body['from']} --to {body['to']} --as-of {body['as_of']} "
            f"--policy {body['policy']}{grouping} --format json")


def flat_provenance(value: Any, prefix: str = "provenance") -> Iterator[tuple[str, Any]]:
    """Nested provenance as dotted keys, so whatever the audit work records is shown."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from flat_provenance(inner, f"{prefix}.{key}")
    else:
        yield prefix, value


def check_destination(out: Path | None, fmt: str) -> None:
    """Refuse, before any work, to send an xlsx file to a terminal."""
    if out is None and fmt == "xlsx" and sys.stdout.isatty():
        raise ValueError("an xlsx file is binary and cannot be shown on a terminal: "
                         "give --out FILE (or redirect the output to a file)")


@contextmanager
def binary_output(out: Path | None) -> Iterator[BinaryIO]:
    """The file to write, else standard output (a pipe or a redirect for xlsx: see above)."""
    if out is not None:
        with out.open("wb") as file:
            yield file
        return
    sys.stdout.flush()
    yield sys.stdout.buffer
    sys.stdout.buffer.flush()
