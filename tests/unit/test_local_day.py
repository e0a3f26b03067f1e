"""Rollups file items under their local day, looked up once per quarter hour of UTC: the answer
must be the day of that very second, in zones whose days or offsets change off the quarter hour."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from projections.rollups import QUARTER_HOUR, day_number, local_day

ZONES = [
    "Asia/Shanghai",  # the default; before 1901 its offset was +08:05:43 (local mean time)
    "Asia/Kathmandu",  # +05:45, and +05:30 before 1986
    "Pacific/Chatham",  # +12:45 / +13:45 with daylight saving
    "America/Sao_Paulo",  # daylight saving ended at local midnight, back into the day before
    "America/Havana",  # daylight saving starts at local midnight
    "Africa/Monrovia",  # -00:44:30 until 1972
]


def _truth(seconds: int, zone: ZoneInfo) -> int:
    return day_number(datetime.fromtimestamp(seconds, zone))


def _seconds_around_changes(zone: ZoneInfo, start: int, end: int) -> list[int]:
    """Every second of each quarter hour in which the zone's offset or day changes, and the
    seconds either side of each quarter hour that starts a day or an offset."""
    found = []
    for quarter in range(start // QUARTER_HOUR, end // QUARTER_HOUR):
        begin = quarter * QUARTER_HOUR
        before, first, last = (datetime.fromtimestamp(s, zone)
                               for s in (begin - 1, begin, begin + QUARTER_HOUR - 1))
        if first.utcoffset() != last.utcoffset() or first.date() != last.date():
            found.extend(range(begin, begin + QUARTER_HOUR))
        elif before.utcoffset() != first.utcoffset() or before.date() != first.date():
            found.extend(range(begin - 2, begin + 2))
    return found


@pytest.mark.parametrize("name", ZONES)
def test_seconds_where_the_day_or_the_offset_changes_get_their_own_day(name: str) -> None:
    zone = ZoneInfo(name)
    windows = [(datetime(1890, 1, 1, tzinfo=UTC), datetime(1891, 1, 1, tzinfo=UTC)),
               (datetime(1969, 6, 1, tzinfo=UTC), datetime(1973, 6, 1, tzinfo=UTC)),
               (datetime(1985, 6, 1, tzinfo=UTC), datetime(1986, 6, 1, tzinfo=UTC)),
               (datetime(2017, 1, 1, tzinfo=UTC), datetime(2019, 1, 1, tzinfo=UTC))]
    checked = 0
    for begin, end in windows:
        for seconds in _seconds_around_changes(zone, int(begin.timestamp()),
                                                   int(end.timestamp())):
            assert local_day(seconds * 1_000_000 + 999_999, zone) == _truth(seconds, zone), (
                name, seconds)
            checked += 1
    assert checked > 4 * 365 * 4  # at least every midnight of the windows was looked at


@pytest.mark.parametrize("name", ZONES)
def test_random_moments_get_the_day_of_their_second(name: str) -> None:
    zone = ZoneInfo(name)
    rng = random.Random(name)
    low, high = int(datetime(1880, 1, 1, tzinfo=UTC).timestamp()), int(
        datetime(2040, 1, 1, tzinfo=UTC).timestamp())
    for _ in range(20_000):
        us = rng.randrange(low, high) * 1_000_000 + rng.randrange(1_000_000)
        assert local_day(us, zone) == _truth(us // 1_000_000, zone), (name, us)
