import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.schedule import business_hours
from components.settings import ScheduleSettings

CRON = re.compile(r"^cron\((\d{1,2}) (\d{1,2}) \? \* ([A-Z*-]+) \*\)$")


def fields(expression: str) -> tuple[int, int, str]:
    match = CRON.match(expression)
    assert match, expression
    return int(match[1]), int(match[2]), match[3]


def test_default_staging_hours_in_tokyo() -> None:
    hours = business_hours(ScheduleSettings())
    assert hours.timezone == "Asia/Tokyo"
    assert fields(hours.start_cron) == (45, 8, "MON-FRI")  # up 15 minutes before 09:00
    assert fields(hours.stop_cron) == (0, 20, "MON-FRI")


def test_warm_up_across_midnight_starts_the_day_before() -> None:
    hours = business_hours(ScheduleSettings(start="00:10", stop="08:00", warm_up_minutes=30))
    assert fields(hours.start_cron) == (40, 23, "SUN-THU")
    assert fields(hours.stop_cron) == (0, 8, "MON-FRI")


@pytest.mark.parametrize(("weekdays", "days"), [("MON-SAT", "MON-SAT"), ("SUN-SAT", "*")])
def test_working_days(weekdays: str, days: str) -> None:
    hours = business_hours(ScheduleSettings(weekdays=weekdays))
    assert fields(hours.stop_cron)[2] == days


times = st.times().map(lambda t: t.strftime("%H:%M"))


@given(times, times, st.integers(min_value=0, max_value=120))
def test_the_service_is_up_warm_up_minutes_before_start(start: str, stop: str, warm_up: int) -> None:
    if start >= stop:
        return
    hours = business_hours(ScheduleSettings(start=start, stop=stop, warm_up_minutes=warm_up))
    minute, hour, _ = fields(hours.start_cron)
    expected = datetime.strptime(start, "%H:%M") - timedelta(minutes=warm_up)
    assert (hour, minute) == (expected.hour, expected.minute)
    assert fields(hours.stop_cron)[:2] == (int(stop[3:]), int(stop[:2]))
