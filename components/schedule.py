"""Business hours as AWS cron expressions: a pure function shared by the ECS and database schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from components.settings import ScheduleSettings

# AWS day-of-week ranges for the ``weekdays`` setting.
_DAYS = {"MON-FRI": "MON-FRI", "MON-SAT": "MON-SAT", "SUN-SAT": "*"}
# The same ranges shifted back one day, for a start time that falls before midnight.
_DAYS_BEFORE = {"MON-FRI": "SUN-THU", "MON-SAT": "SUN-FRI", "SUN-SAT": "*"}


@dataclass(frozen=True)
class BusinessHours:
    """When the service starts and stops, in the settings' time zone.

    Both crons are six-field AWS expressions (``cron(M H ? * DAYS *)``) that Application Auto
    Scaling scheduled actions (with ``timezone``) and EventBridge Scheduler (with
    ``schedule_expression_timezone``) accept alike.
    """

    timezone: str
    start_cron: str
    """Fires ``warm_up_minutes`` before the working day starts, so it is ready on time."""
    stop_cron: str
    """Fires when the working day ends."""


def business_hours(settings: ScheduleSettings) -> BusinessHours:
    """The start and stop crons for ``settings`` (a validated schedule: start before stop)."""
    start = datetime.strptime(settings.start, "%H:%M")
    warm = start - timedelta(minutes=settings.warm_up_minutes)
    # A warm-up that crosses midnight starts on the previous day of the week.
    start_days = _DAYS_BEFORE if warm.day != start.day else _DAYS
    stop = datetime.strptime(settings.stop, "%H:%M")
    return BusinessHours(
        timezone=settings.timezone,
        start_cron=f"cron({warm.minute} {warm.hour} ? * {start_days[settings.weekdays]} *)",
        stop_cron=f"cron({stop.minute} {stop.hour} ? * {_DAYS[settings.weekdays]} *)",
    )
