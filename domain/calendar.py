"""Working-day calendar and PRC procedural day counting for the `statutory` policy.

Day counts follow PRC procedural rules (SPEC §4, "The statutory policy"): the starting day is not
counted, a deadline is the end (24:00 local) of its last day, and a last day that falls on a public
holiday or rest day moves to the next working day.

Which days are working days comes from the maintained `chinese_calendar` package (holidays and
make-up working days published by the State Council) or, for years the package does not know yet,
from days a bureau supplies in a calendar file (see :func:`parse_year_days`). A year known to
neither is an explicit :class:`CalendarYearUnknown` error naming the year.

Pure domain code: no file or network I/O and no clock reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import chinese_calendar

__all__ = [
    "CalendarYearUnknown",
    "WorkCalendar",
    "YearDays",
    "day_limit_deadline",
    "parse_year_days",
]

_ONE_DAY = timedelta(days=1)
# Longest run of consecutive rest days tolerated before next_working_day gives up; real runs are
# at most about ten days, so hitting this means the supplied days are broken.
_MAX_REST_RUN = 366
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_KEYS = frozenset({"holidays", "working_days"})


class CalendarYearUnknown(Exception):
    """The calendar does not know the rest days of `year` yet.

    The State Council publishes each year's holidays and make-up working days late in the year
    before; until the maintained calendar includes them, a bureau can supply them in a calendar
    file.
    """

    year: int

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"the working-day calendar does not know the public holidays and make-up working days "
            f"of {year} yet (the State Council publishes them late in the year before); a bureau "
            f"can supply {year}'s days in a calendar file"
        )

    def __reduce__(self) -> tuple[type[CalendarYearUnknown], tuple[int]]:
        return (type(self), (self.year,))


@dataclass(frozen=True)
class YearDays:
    """A bureau-supplied year: its public holidays and make-up working days.

    A day of the year is a working day iff it is a weekday not in `holidays`, or it is in
    `working_days`.
    """

    holidays: frozenset[date]  # public holidays (rest days even on weekdays)
    working_days: frozenset[date]  # make-up working days (working even on weekends)

    def __post_init__(self) -> None:
        # Accept any iterable of dates (e.g. a set or list) and store frozensets.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        both = self.holidays & self.working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"days are both a holiday and a make-up working day: {listed}")

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays


class WorkCalendar:
    """Which days are working days.

    `supplied` years (bureau-supplied days) win over the `chinese_calendar` package for the whole
    year; with `use_package=False` only supplied years are known. Lookups are cached per instance.
    """

    def __init__(
        self, supplied: Mapping[int, YearDays] | None = None, use_package: bool = True
    ) -> None:
        years: dict[int, YearDays] = {}
        for year, days in (supplied or {}).items():
            if not isinstance(days, YearDays):
                raise TypeError(
                    f"calendar year {year}: expected YearDays, got {type(days).__name__}"
                )
            for day in days.holidays | days.working_days:
                if day.year != year:
                    raise ValueError(
                        f"calendar year {year}: {day.isoformat()} does not belong to {year}"
                    )
            years[year] = days
        self._supplied = years
        self._use_package = use_package
        self._working: dict[date, bool] = {}
        self._next_working: dict[date, date] = {}
        self._deadline_days: dict[tuple[date, int], date] = {}

    @property
    def supplied_years(self) -> frozenset[int]:
        return frozenset(self._supplied)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day; raises CalendarYearUnknown for an unknown year."""
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a date, not a datetime")
        cached = self._working.get(day)
        if cached is not None:
            return cached
        result = self._lookup(day)
        self._working[day] = result
        return result

    def _lookup(self, day: date) -> bool:
        year_days = self._supplied.get(day.year)
        if year_days is not None:
            return year_days.is_working_day(day)
        if self._use_package:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass
        raise CalendarYearUnknown(day.year)

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first working day after it."""
        cached = self._next_working.get(day)
        if cached is not None:
            return cached
        candidate = day
        for _ in range(_MAX_REST_RUN):
            if self.is_working_day(candidate):
                self._next_working[day] = candidate
                return candidate
            candidate += _ONE_DAY
        raise ValueError(
            f"no working day within {_MAX_REST_RUN} days from {day.isoformat()}; "
            f"check the supplied calendar days"
        )

    def last_day(self, start_day: date, days: int) -> date:
        """The last day of a period of `days` days counted from (not including) `start_day`,
        moved to the next working day if it is a public holiday or rest day."""
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {type(days).__name__}")
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        key = (start_day, days)
        cached = self._deadline_days.get(key)
        if cached is not None:
            return cached
        result = self.next_working_day(start_day + timedelta(days=days))
        self._deadline_days[key] = result
        return result


def day_limit_deadline(start: datetime, days: int, calendar: WorkCalendar, tz: tzinfo) -> datetime:
    """PRC procedural day counting.

    The day of `start` (its local date in `tz`) is not counted; the deadline is the end (24:00
    local, i.e. 00:00 of the next day) of the `days`-th day after it; if that last day is a public
    holiday or rest day it moves to the next working day (end of that day). Returns an aware
    datetime in `tz`. Raises CalendarYearUnknown when a needed year is unknown to the calendar.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime")
    start_day = start.astimezone(tz).date()
    last = calendar.last_day(start_day, days)
    return datetime.combine(last + _ONE_DAY, time(0), tzinfo=tz)


def parse_year_days(raw: Mapping[Any, object]) -> dict[int, YearDays]:
    """Validate a plain mapping, as loaded from a bureau's calendar file, into YearDays.

    Example: ``{2027: {"holidays": ["2027-01-01", ...], "working_days": ["2027-02-07", ...]}}``.
    Year keys may be ints or digit strings; dates may be ``YYYY-MM-DD`` strings or dates (YAML loads
    unquoted dates as dates). Both lists are optional; every date must belong to its year.
    Raises ValueError with a message naming the year and the bad value.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"calendar days must be a mapping of year to days, got {type(raw).__name__}"
        )
    result: dict[int, YearDays] = {}
    for key, entry in raw.items():
        year = _parse_year(key)
        if year in result:
            raise ValueError(f"calendar year {year} is given more than once")
        if entry is None:
            entry = {}
        if not isinstance(entry, Mapping):
            raise ValueError(
                f"calendar year {year}: expected a mapping with 'holidays' and 'working_days', "
                f"got {entry!r}"
            )
        unknown = [str(k) for k in entry if k not in _YEAR_KEYS]
        if unknown:
            raise ValueError(
                f"calendar year {year}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"expected 'holidays' and 'working_days'"
            )
        holidays = _parse_dates(year, "holidays", entry.get("holidays"))
        working_days = _parse_dates(year, "working_days", entry.get("working_days"))
        both = holidays & working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(
                f"calendar year {year}: {listed} listed both in holidays and in working_days"
            )
        result[year] = YearDays(holidays=holidays, working_days=working_days)
    return result


def _parse_year(key: object) -> int:
    if isinstance(key, bool):
        raise ValueError(f"calendar year {key!r} is not a year")
    if isinstance(key, int):
        year = key
    elif isinstance(key, str) and key.strip().isdigit():
        year = int(key.strip())
    else:
        raise ValueError(f"calendar year {key!r} is not a year")
    if not 1 <= year <= 9999:
        raise ValueError(f"calendar year {key!r} is out of range")
    return year


def _parse_dates(year: int, field: str, values: object) -> frozenset[date]:
    if values is None:
        return frozenset()
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValueError(f"calendar year {year}: {field} must be a list of dates, got {values!r}")
    days: set[date] = set()
    for value in values:
        day = _parse_date(year, field, value)
        if day.year != year:
            raise ValueError(
                f"calendar year {year}: {field} date {day.isoformat()} does not belong to {year}"
            )
        days.add(day)
    return frozenset(days)


def _parse_date(year: int, field: str, value: object) -> date:
    if isinstance(value, datetime):
        raise ValueError(
            f"calendar year {year}: {field} value {value!r} is a date and time, not a date"
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
    raise ValueError(
        f"calendar year {year}: {field} value {value!r} is not a date (expected YYYY-MM-DD)"
    )
