"""Business hours on the calendar, read the way AWS reads the generated cron expressions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from components.schedule import database_hours, service_hours, upcoming_closed_weekdays
from components.settings import ScheduleSettings, SettingsError, parse_settings
from tests.aws_cron import Cron

# A December run, so the horizon crosses into next year.
NOW = datetime(2026, 12, 2, 10, 30)
# Every input the expected times below follow from is written here, not taken from the defaults.
STAGING = ScheduleSettings(
    start="09:00", stop="20:00", warm_up_minutes=15, database_warm_up_minutes=20, holiday_country="JP"
)
COMMERCIAL = ScheduleSettings(mode="scale-down", start="08:00", stop="23:00", off_hours_min_count=2)
# Labels for the floor in force: the commercial preset's day and night task counts.
DAY, NIGHT = 3, 2
YEAR_END = ["12-29", "12-30", "12-31", "01-02", "01-03"]

# Japan's public holidays in the twelve-month horizon from December 2026 that fall on a weekday,
# written out from the Cabinet Office's list for 2027 (内閣府「国民の祝日について」,
# https://www8.cao.go.jp/chosei/shukujitsu/gaiyou.html, published 2026-02-02 once the National
# Astronomical Observatory fixed the equinoxes): 1/1 元日 (Fri), 1/11 成人の日, 2/11 建国記念の日,
# 2/23 天皇誕生日, 3/22 振替休日 (3/21 春分の日 is a Sunday), 4/29 昭和の日, 5/3-5/5, 7/19 海の日,
# 8/11 山の日, 9/20 敬老の日, 9/23 秋分の日, 10/11 スポーツの日, 11/3 文化の日, 11/23 勤労感謝の日.
# December 2026 has none.
HOLIDAYS = [
    date(2027, 1, 1),
    date(2027, 1, 11),
    date(2027, 2, 11),
    date(2027, 2, 23),
    date(2027, 3, 22),
    date(2027, 4, 29),
    date(2027, 5, 3),
    date(2027, 5, 4),
    date(2027, 5, 5),
    date(2027, 7, 19),
    date(2027, 8, 11),
    date(2027, 9, 20),
    date(2027, 9, 23),
    date(2027, 10, 11),
    date(2027, 11, 3),
    date(2027, 11, 23),
]


def _fires(crons: dict[str, str] | list[str], day: date) -> list[datetime]:
    expressions = crons.values() if isinstance(crons, dict) else crons
    return sorted(moment for expression in expressions for moment in Cron(expression).on(day))


def _floor(hours, moment: datetime) -> int:
    """The min capacity in force at ``moment``: the last action that fired before it decides."""
    events = []
    for offset in range(-3, 1):
        day = moment.date() + timedelta(days=offset)
        events += [(t, DAY) for t in _fires(hours.starts, day)]
        events += [(t, NIGHT) for t in Cron(hours.stop).on(day)]
    return max(event for event in events if event[0] <= moment)[1]


def test_the_calendar_closes_exactly_the_cabinet_office_weekday_holidays() -> None:
    listed = upcoming_closed_weekdays(STAGING, NOW.date(), 50)
    assert [day for day, _ in listed] == HOLIDAYS


@pytest.mark.parametrize("holiday", HOLIDAYS, ids=str)
def test_nothing_starts_in_staging_on_a_weekday_holiday(holiday: date) -> None:
    ecs, database = service_hours(STAGING, NOW), database_hours(STAGING, NOW)
    assert _fires(ecs.starts, holiday) == []
    assert _fires(database.starts, holiday) == []
    # The database is already stopped; a stop would fail (InvalidDBInstanceState) and alarm.
    assert _fires(database.stops, holiday) == []


@pytest.mark.parametrize("holiday", HOLIDAYS, ids=str)
def test_commercial_keeps_its_off_hours_floor_all_day_on_a_weekday_holiday(holiday: date) -> None:
    hours = service_hours(COMMERCIAL, NOW)
    for hour in range(24):
        moment = datetime.combine(holiday, datetime.min.time()) + timedelta(hours=hour, minutes=30)
        assert _floor(hours, moment) == NIGHT, moment


def test_open_weekdays_start_once_each_warm_up_before_the_day() -> None:
    ecs, database = service_hours(STAGING, NOW), database_hours(STAGING, NOW)
    day = date(2026, 12, 3)  # a Thursday, no holiday
    assert _fires(ecs.starts, day) == [datetime(2026, 12, 3, 8, 45)]
    # The database starts its own 20 minutes earlier and stops after the tasks have gone.
    assert _fires(database.starts, day) == [datetime(2026, 12, 3, 8, 25)]
    assert Cron(ecs.stop).on(day) == [datetime(2026, 12, 3, 20, 0)]
    assert _fires(database.stops, day) == [datetime(2026, 12, 3, 20, 15)]
    assert _fires(ecs.starts, date(2026, 12, 5)) == []  # Saturday
    # The evening stop fires every day, weekends and holidays included.
    assert Cron(ecs.stop).on(date(2027, 1, 1)) == [datetime(2027, 1, 1, 20, 0)]


def test_commercial_raises_its_floor_on_working_days() -> None:
    hours = service_hours(COMMERCIAL, NOW)
    # 08:00 less the 15-minute default warm-up; the floor drops at 23:00.
    assert _fires(hours.starts, date(2026, 12, 3)) == [datetime(2026, 12, 3, 7, 45)]
    assert Cron(hours.stop).on(date(2026, 12, 3)) == [datetime(2026, 12, 3, 23, 0)]
    assert _floor(hours, datetime(2026, 12, 3, 7, 40)) == NIGHT
    assert _floor(hours, datetime(2026, 12, 3, 12, 0)) == DAY
    assert _floor(hours, datetime(2026, 12, 3, 23, 30)) == NIGHT
    assert _floor(hours, datetime(2026, 12, 5, 12, 0)) == NIGHT  # Saturday


def test_year_end_closed_days_close_the_break() -> None:
    settings = ScheduleSettings(closed_days=YEAR_END)
    hours = service_hours(settings, NOW)
    for day in (
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4) - timedelta(days=1),
    ):
        assert _fires(hours.starts, day) == []
    assert _fires(hours.starts, date(2027, 1, 4)) == [datetime(2027, 1, 4, 8, 45)]
    # Without the opt-in list, 12/29-12/31 are working days.
    assert _fires(service_hours(STAGING, NOW).starts, date(2026, 12, 29)) != []


def test_a_warm_up_across_midnight_fires_the_evening_before_open_days_only() -> None:
    settings = ScheduleSettings(start="00:10", stop="08:00", warm_up_minutes=30)
    hours = service_hours(settings, NOW)
    # Monday 2027-01-04 starts on Sunday evening; New Year's Day (Friday) gets no start on Thursday.
    assert _fires(hours.starts, date(2027, 1, 3)) == [datetime(2027, 1, 3, 23, 40)]
    assert _fires(hours.starts, date(2026, 12, 31)) == []


def test_a_closed_stretch_over_a_week_stops_the_database_after_rds_restarts_it() -> None:
    # RDS starts a database stopped for seven days by itself:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_StopInstance.html
    closed = [f"2027-02-{d:02d}" for d in range(1, 13)]  # Mon 1 Feb - Fri 12 Feb
    settings = ScheduleSettings(closed_days=closed)
    stops = database_hours(settings, NOW).stops
    last_stop = date(2027, 1, 29)  # Friday before the stretch
    assert _fires(stops, last_stop) != []
    assert _fires(stops, last_stop + timedelta(days=8)) == [datetime(2027, 2, 6, 20, 15)]
    restops = [d for d in (last_stop + timedelta(days=n) for n in range(1, 18)) if _fires(stops, d)]
    assert restops == [date(2027, 2, 6), date(2027, 2, 14), date(2027, 2, 15)]  # 15th: open Monday


def test_every_expression_is_valid_aws_cron_with_explicit_days() -> None:
    every_day = ScheduleSettings(horizon_months=24, weekdays="SUN-SAT", holiday_country=None)
    for settings in (
        STAGING,
        COMMERCIAL,
        ScheduleSettings(horizon_months=24, closed_days=YEAR_END),
        every_day,
    ):
        ecs, database = service_hours(settings, NOW), database_hours(settings, NOW)
        for expression in [
            *ecs.starts.values(),
            ecs.stop,
            *database.starts.values(),
            *database.stops.values(),
        ]:
            Cron(expression)  # raises on anything AWS would reject
            # EventBridge Scheduler takes at most 256 characters (hashicorp/terraform-provider-aws
            # internal/service/scheduler/schedule.go, schedule_expression); a 31-day month is ~115.
            assert len(expression) <= 256, expression
            if expression != ecs.stop:
                fields = expression.removeprefix("cron(").removesuffix(")").split(" ")
                assert fields[4] == "?" and fields[5].isdigit(), expression


def test_actions_per_scalable_target_stay_under_the_quota() -> None:
    # "Scheduled actions per scalable target: 200, not adjustable":
    # https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html
    longest = ScheduleSettings(horizon_months=24, weekdays="SUN-SAT", start="00:10", warm_up_minutes=30)
    for now in (NOW, datetime(2027, 1, 1, 0, 0), datetime(2027, 6, 30, 23, 59)):
        assert service_hours(longest, now).action_count <= 200
        assert service_hours(longest, now).action_count <= 24 + 1


def test_a_month_later_only_the_horizon_moves() -> None:
    before = service_hours(STAGING, NOW).starts
    after = service_hours(STAGING, datetime(2027, 1, 5, 9, 0)).starts
    assert set(before) - set(after) == {"2026-12"}
    assert set(after) - set(before) == {"2027-12"}
    assert all(before[month] == after[month] for month in set(before) & set(after))
    # A December run already holds next year's January to November.
    assert {f"2027-{m:02d}" for m in range(1, 12)} <= set(before)


def test_a_month_whose_days_are_all_past_is_left_out() -> None:
    late = datetime(2026, 12, 31, 21, 0)  # after the last December start
    assert "2026-12" in service_hours(STAGING, late).starts  # 12-31 itself fired this morning
    assert "2026-12" not in service_hours(STAGING, datetime(2027, 1, 1, 0, 0)).starts


@pytest.mark.parametrize(
    ("now", "ecs", "database"),
    [
        (datetime(2026, 12, 3, 8, 30), False, True),  # database warming up, tasks not yet
        (datetime(2026, 12, 3, 12, 0), True, True),
        (datetime(2026, 12, 3, 20, 5), False, True),  # tasks gone, database stops at 20:15
        (datetime(2026, 12, 3, 23, 0), False, False),
        (datetime(2027, 1, 1, 12, 0), False, False),  # New Year's Day
    ],
)
def test_the_current_period(now: datetime, ecs: bool, database: bool) -> None:
    assert service_hours(STAGING, now).in_hours is ecs
    assert database_hours(STAGING, now).in_hours is database


def test_upcoming_closed_weekdays_list_holidays_and_extra_days() -> None:
    listed = upcoming_closed_weekdays(ScheduleSettings(closed_days=YEAR_END), NOW.date(), 4)
    assert [day for day, _ in listed] == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]


# -- settings --------------------------------------------------------------------------------------


def _problems(schedule: dict) -> list[str]:
    with pytest.raises(SettingsError) as error:
        parse_settings({"topology": "staging", "schedule": schedule}, region="ap-northeast-1")
    return error.value.problems


def test_an_unknown_holiday_country_names_the_key_and_the_choices() -> None:
    [problem] = _problems({"holidayCountry": "XX"})
    assert problem.startswith("platform:schedule.holidayCountry:") and "'XX'" in problem
    assert "'JP'" in problem and "'GB'" in problem


@pytest.mark.parametrize("entry", ["12/29", "2027-5-6", "02-30", "2027-13-01", "december"])
def test_a_malformed_closed_day_is_refused(entry: str) -> None:
    [problem] = _problems({"closedDays": ["12-29", entry]})
    assert problem.startswith("platform:schedule.closedDays.1:") and repr(entry) in problem


def test_a_night_too_short_for_the_warm_ups_is_refused() -> None:
    [problem] = _problems(
        {"start": "01:00", "stop": "23:50", "warmUpMinutes": 30, "databaseWarmUpMinutes": 30}
    )
    assert problem.startswith("platform:schedule:") and "databaseWarmUpMinutes" in problem


def test_holidays_can_be_switched_off() -> None:
    settings = ScheduleSettings(holiday_country=None)
    assert _fires(service_hours(settings, NOW).starts, date(2027, 1, 1)) == [datetime(2027, 1, 1, 8, 45)]
