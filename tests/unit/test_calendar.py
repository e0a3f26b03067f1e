"""Scenarios for the working-day calendar and PRC procedural day counting (SPEC §4, statutory)."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from domain.calendar import (
    CalendarYearUnknown,
    WorkCalendar,
    YearDays,
    day_limit_deadline,
    parse_year_days,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def end_of(day: date) -> datetime:
    """24:00 local of `day`, i.e. 00:00 of the next day."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)


def holiday_days(year: int, holiday: chinese_calendar.Holiday) -> list[date]:
    """The days off of `holiday` in `year`, as the chinese_calendar package knows them."""
    day, result = date(year, 1, 1), []
    while day.year == year:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if on_holiday and name == holiday.value:
            result.append(day)
        day += timedelta(days=1)
    return result


def makeup_weekend_days(year: int) -> list[date]:
    day, result = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() >= 5 and chinese_calendar.is_workday(day):
            result.append(day)
        day += timedelta(days=1)
    return result


@pytest.fixture
def calendar() -> WorkCalendar:
    return WorkCalendar()


# --- ordinary weeks ------------------------------------------------------------------------------


def test_monday_start_with_7_days_ends_at_24h_of_the_following_monday(
    calendar: WorkCalendar,
) -> None:
    start = local(2026, 3, 2, 10, 30)  # Monday, no holidays around
    assert start.weekday() == 0
    deadline = day_limit_deadline(start, 7, calendar, SHANGHAI)
    assert deadline == local(2026, 3, 10, 0, 0)  # 24:00 of Monday 2026-03-09
    assert deadline == end_of(date(2026, 3, 9))
    assert deadline.tzinfo is SHANGHAI
    assert deadline.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("days", [5, 6])  # last day Saturday 03-07, Sunday 03-08
def test_deadline_landing_on_a_weekend_moves_to_monday(calendar: WorkCalendar, days: int) -> None:
    start = local(2026, 3, 2, 9, 0)
    assert (date(2026, 3, 2) + timedelta(days=days)).weekday() >= 5
    assert day_limit_deadline(start, days, calendar, SHANGHAI) == end_of(date(2026, 3, 9))


def test_three_day_clock_from_a_wednesday_ends_saturday_so_moves_to_monday(
    calendar: WorkCalendar,
) -> None:
    start = local(2026, 3, 4, 16, 0)  # Wednesday; +3 = Saturday 03-07
    assert day_limit_deadline(start, 3, calendar, SHANGHAI) == end_of(date(2026, 3, 9))


def test_start_day_on_a_rest_day_is_simply_not_counted(calendar: WorkCalendar) -> None:
    start = local(2026, 3, 8, 12, 0)  # Sunday; +3 = Wednesday 03-11
    assert day_limit_deadline(start, 3, calendar, SHANGHAI) == end_of(date(2026, 3, 11))


# --- public holidays and make-up working days (2026, from chinese_calendar itself) ---------------


def test_deadline_in_the_2026_spring_festival_moves_past_it(calendar: WorkCalendar) -> None:
    festival = holiday_days(2026, chinese_calendar.Holiday.spring_festival)
    assert len(festival) >= 7
    first_working_after = festival[-1] + timedelta(days=1)
    while not chinese_calendar.is_workday(first_working_after):
        first_working_after += timedelta(days=1)

    for last_day in festival:  # every day off of the festival as the would-be last day
        start = local(2026, 2, 1, 11, 0)
        days = (last_day - date(2026, 2, 1)).days
        deadline = day_limit_deadline(start, days, calendar, SHANGHAI)
        assert deadline == end_of(first_working_after), last_day
        assert deadline.date() > festival[-1] + timedelta(days=1)

    # As published: off 2026-02-15..23, back at work Tuesday 2026-02-24.
    assert first_working_after == date(2026, 2, 24)


def test_deadline_in_the_2026_national_day_holiday_moves_past_it(calendar: WorkCalendar) -> None:
    national_day = holiday_days(2026, chinese_calendar.Holiday.national_day)
    assert date(2026, 10, 1) in national_day
    first_working_after = national_day[-1] + timedelta(days=1)
    while not chinese_calendar.is_workday(first_working_after):
        first_working_after += timedelta(days=1)

    start = local(2026, 9, 30, 17, 45)  # Wednesday; 3 days -> Saturday 10-03, inside the holiday
    deadline = day_limit_deadline(start, 3, calendar, SHANGHAI)
    assert deadline == end_of(first_working_after)
    assert first_working_after == date(2026, 10, 8)
    # A 5-day clock assigned on the eve of the holiday also ends after it.
    assert day_limit_deadline(start, 5, calendar, SHANGHAI) == end_of(first_working_after)


def test_weekday_holiday_is_a_rest_day(calendar: WorkCalendar) -> None:
    labour_day = holiday_days(2026, chinese_calendar.Holiday.labour_day)
    weekday_holidays = [d for d in labour_day if d.weekday() < 5]
    assert weekday_holidays
    for day in weekday_holidays:
        assert not calendar.is_working_day(day)
        assert calendar.next_working_day(day) > labour_day[-1]


@pytest.mark.parametrize("makeup_day", makeup_weekend_days(2026), ids=str)
def test_makeup_working_weekend_day_counts_as_working_last_day(
    calendar: WorkCalendar, makeup_day: date
) -> None:
    assert makeup_day.weekday() >= 5
    assert calendar.is_working_day(makeup_day)
    assert calendar.next_working_day(makeup_day) == makeup_day
    start_day = makeup_day - timedelta(days=7)
    start = datetime(start_day.year, start_day.month, start_day.day, 15, 0, tzinfo=SHANGHAI)
    assert day_limit_deadline(start, 7, calendar, SHANGHAI) == end_of(makeup_day)


def test_2026_has_makeup_saturdays_and_sundays() -> None:
    weekdays = {d.weekday() for d in makeup_weekend_days(2026)}
    assert weekdays == {5, 6}


# --- local date of the start ---------------------------------------------------------------------


def test_start_at_23_59_and_at_00_00_of_the_same_local_date_give_the_same_deadline(
    calendar: WorkCalendar,
) -> None:
    late = local(2026, 3, 4, 23, 59, 59)
    early = local(2026, 3, 4, 0, 0)
    assert day_limit_deadline(late, 7, calendar, SHANGHAI) == day_limit_deadline(
        early, 7, calendar, SHANGHAI
    )
    assert day_limit_deadline(late, 7, calendar, SHANGHAI) == end_of(date(2026, 3, 11))


def test_utc_start_on_the_next_local_day_counts_from_the_local_date(
    calendar: WorkCalendar,
) -> None:
    # 2026-03-02 17:00 UTC is Tuesday 2026-03-03 01:00 in Shanghai.
    start = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    assert start.astimezone(SHANGHAI).date() == date(2026, 3, 3)
    deadline = day_limit_deadline(start, 7, calendar, SHANGHAI)
    assert deadline == end_of(date(2026, 3, 10))  # Tuesday + 7, not Monday + 7
    assert deadline.tzinfo is SHANGHAI


def test_naive_start_is_rejected(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        day_limit_deadline(datetime(2026, 3, 2, 10, 0), 7, calendar, SHANGHAI)


@pytest.mark.parametrize("days", [0, -1])
def test_non_positive_day_counts_are_rejected(calendar: WorkCalendar, days: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        day_limit_deadline(local(2026, 3, 2, 10, 0), days, calendar, SHANGHAI)


# --- unknown years and bureau-supplied years -----------------------------------------------------


def test_deadline_in_2027_raises_calendar_year_unknown_naming_2027(calendar: WorkCalendar) -> None:
    start = local(2026, 12, 28, 10, 0)  # Monday; 7 days -> Monday 2027-01-04
    with pytest.raises(CalendarYearUnknown) as caught:
        day_limit_deadline(start, 7, calendar, SHANGHAI)
    assert caught.value.year == 2027
    assert "2027" in str(caught.value)
    assert "calendar file" in str(caught.value)


def test_is_working_day_in_an_unknown_year_raises(calendar: WorkCalendar) -> None:
    with pytest.raises(CalendarYearUnknown, match="2027"):
        calendar.is_working_day(date(2027, 3, 1))
    with pytest.raises(CalendarYearUnknown, match="2003"):
        calendar.is_working_day(date(2003, 3, 3))


def test_calendar_year_unknown_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(CalendarYearUnknown(2027)))
    assert isinstance(error, CalendarYearUnknown)
    assert error.year == 2027
    assert str(error) == str(CalendarYearUnknown(2027))


SUPPLIED_2027 = {
    2027: {
        "holidays": ["2027-01-01", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09"],
        "working_days": ["2027-01-02"],  # a make-up Saturday
    }
}


def test_supplied_2027_days_make_a_2027_deadline_work() -> None:
    calendar = WorkCalendar(supplied=parse_year_days(SUPPLIED_2027))
    # Monday 2026-12-28 + 7 -> Monday 2027-01-04, an ordinary working day.
    assert day_limit_deadline(local(2026, 12, 28, 10, 0), 7, calendar, SHANGHAI) == end_of(
        date(2027, 1, 4)
    )
    # Friday 2026-12-25 + 7 -> Friday 2027-01-01, a holiday -> make-up Saturday 2027-01-02.
    assert day_limit_deadline(local(2026, 12, 25, 10, 0), 7, calendar, SHANGHAI) == end_of(
        date(2027, 1, 2)
    )
    # Into the supplied Spring Festival: Monday 02-08 holiday -> Wednesday 02-10.
    assert day_limit_deadline(local(2027, 2, 5, 10, 0), 3, calendar, SHANGHAI) == end_of(
        date(2027, 2, 10)
    )
    # 2026 still comes from the package.
    assert not calendar.is_working_day(date(2026, 10, 1))


def test_supplied_year_without_makeup_days_uses_plain_weekends() -> None:
    calendar = WorkCalendar(supplied={2027: YearDays(frozenset({date(2027, 1, 1)}), frozenset())})
    # Friday 2027-01-01 holiday, then the weekend -> Monday 2027-01-04.
    assert day_limit_deadline(local(2026, 12, 25, 10, 0), 7, calendar, SHANGHAI) == end_of(
        date(2027, 1, 4)
    )
    with pytest.raises(CalendarYearUnknown, match="2028"):
        calendar.is_working_day(date(2028, 1, 3))


def test_supplied_days_override_the_package() -> None:
    # A bureau's 2026 file with no National Day holiday and an extra holiday on Monday 03-09.
    calendar = WorkCalendar(
        supplied={2026: YearDays(holidays=frozenset({date(2026, 3, 9)}), working_days=frozenset())}
    )
    assert WorkCalendar().is_working_day(date(2026, 10, 1)) is False
    assert calendar.is_working_day(date(2026, 10, 1)) is True
    assert calendar.is_working_day(date(2026, 3, 9)) is False
    # A package make-up Saturday is an ordinary Saturday under the supplied year.
    assert WorkCalendar().is_working_day(date(2026, 2, 28)) is True
    assert calendar.is_working_day(date(2026, 2, 28)) is False
    # Monday 2026-03-02 + 7 -> supplied holiday Monday 03-09 -> Tuesday 03-10.
    assert day_limit_deadline(local(2026, 3, 2, 10, 0), 7, calendar, SHANGHAI) == end_of(
        date(2026, 3, 10)
    )


def test_without_the_package_only_supplied_years_are_known() -> None:
    calendar = WorkCalendar(supplied=parse_year_days(SUPPLIED_2027), use_package=False)
    assert calendar.is_working_day(date(2027, 1, 4))
    with pytest.raises(CalendarYearUnknown, match="2026"):
        calendar.is_working_day(date(2026, 3, 2))


def test_supplied_year_days_must_belong_to_their_year() -> None:
    with pytest.raises(ValueError, match="2027"):
        WorkCalendar(supplied={2027: YearDays(frozenset({date(2026, 12, 31)}), frozenset())})


def test_repeated_lookups_are_consistent(calendar: WorkCalendar) -> None:
    start = local(2026, 9, 30, 9, 0)
    first = day_limit_deadline(start, 3, calendar, SHANGHAI)
    for _ in range(1000):
        assert day_limit_deadline(start, 3, calendar, SHANGHAI) == first
    assert calendar.is_working_day(date(2026, 10, 1)) is False


# --- parse_year_days -----------------------------------------------------------------------------


def test_parse_year_days_accepts_strings_dates_and_string_years() -> None:
    parsed = parse_year_days(
        {
            "2027": {"holidays": ["2027-01-01", date(2027, 2, 8)], "working_days": []},
            2028: {"holidays": ["2028-01-01"]},
        }
    )
    assert parsed[2027] == YearDays(
        holidays=frozenset({date(2027, 1, 1), date(2027, 2, 8)}), working_days=frozenset()
    )
    assert parsed[2028].holidays == frozenset({date(2028, 1, 1)})
    assert parsed[2028].working_days == frozenset()


def test_parse_year_days_rejects_a_date_outside_its_year() -> None:
    with pytest.raises(ValueError, match=r"2027.*2026-12-31") as caught:
        parse_year_days({2027: {"holidays": ["2026-12-31"], "working_days": []}})
    assert "does not belong" in str(caught.value)
    with pytest.raises(ValueError, match=r"2027.*2028-01-02"):
        parse_year_days({2027: {"holidays": [], "working_days": [date(2028, 1, 2)]}})


@pytest.mark.parametrize("bad", ["next friday", "2027-02-30", "20270101", "2027/01/01", 20270101])
def test_parse_year_days_rejects_a_non_date_value(bad: object) -> None:
    with pytest.raises(ValueError, match="2027") as caught:
        parse_year_days({2027: {"holidays": [bad]}})
    assert repr(bad) in str(caught.value)
    assert "not a date" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"twenty": {"holidays": []}}, "not a year"),
        ({2027: ["2027-01-01"]}, "expected a mapping"),
        ({2027: {"holiday": ["2027-01-01"]}}, "unknown key"),
        ({2027: {"holidays": "2027-01-01"}}, "must be a list"),
        ({2027: {"holidays": [datetime(2027, 1, 1, 9, 0)]}}, "not a date"),
        (
            {2027: {"holidays": ["2027-01-02"], "working_days": ["2027-01-02"]}},
            "both in holidays and in working_days",
        ),
        ({2027: {}, "2027": {}}, "more than once"),
    ],
)
def test_parse_year_days_rejects_malformed_entries(raw: dict[object, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_year_days(raw)
