"""Business hours on a calendar: which days are open, and the AWS cron expressions that follow them.

A pure module shared by the ECS scheduled actions (components/service.py) and the database's
EventBridge Scheduler schedules (components/database.py).

A weekday cron (``MON-FRI``) cannot skip public holidays, but AWS cron expressions take a
day-of-month list, a month and a year (``cron(Minutes Hours Day-of-month Month Day-of-week
Year)``, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html; the
same six fields in Application Auto Scaling's PutScheduledAction). So every start is one
expression per calendar month, naming that month's open days explicitly
(``cron(45 8 1,2,4,7 12 ? 2026)``; day-of-week is ``?``, as AWS requires when day-of-month is
set). The months cover a horizon from the first day of the current month
(``platform:schedule.horizonMonths``): the output depends on the date only through which months
are in the horizon, so a run a month later drops the month that ended and adds the one that
entered, and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

from components.settings import DATABASE_STOP_DELAY_MINUTES, ScheduleSettings

# Days of the week (Monday is 0) each ``weekdays`` setting opens.
_OPEN_WEEKDAYS = {"MON-FRI": range(5), "MON-SAT": range(6), "SUN-SAT": range(7)}
# After seven days stopped, RDS starts a stopped instance or cluster by itself
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_StopInstance.html). On the eighth
# day of a closed stretch the database is certainly running again, so a stop then succeeds.
RDS_AUTO_START_DAYS = 7


def local_now(settings: ScheduleSettings) -> datetime:
    """The current time in the schedule's zone (naive), the only clock the program reads."""
    return datetime.now(ZoneInfo(settings.timezone)).replace(tzinfo=None)


def horizon(settings: ScheduleSettings, today: date) -> tuple[date, date]:
    """``[first, end)``: the first day of today's month to the first day ``horizonMonths`` later."""
    first = today.replace(day=1)
    months = first.month - 1 + settings.horizon_months
    return first, date(first.year + months // 12, months % 12 + 1, 1)


def closed_days(settings: ScheduleSettings, first: date, end: date) -> dict[date, str]:
    """Public holidays of ``holidayCountry`` and the ``closedDays`` in ``[first, end)``, with names."""
    years = range(first.year, end.year + 1)
    closed: dict[date, str] = {}
    if settings.holiday_country is not None:
        calendar = holidays.country_holidays(settings.holiday_country, years=years)
        closed |= {day: name for day, name in calendar.items() if first <= day < end}
    for entry in settings.closed_days:
        parts = [int(part) for part in entry.split("-")]
        candidates = [date(*parts)] if len(parts) == 3 else _every_year(years, *parts)
        closed |= {day: "closed (platform:schedule.closedDays)" for day in candidates if first <= day < end}
    return dict(sorted(closed.items()))


def _every_year(years: Iterable[int], month: int, day: int) -> list[date]:
    # A recurring 02-29 exists only in leap years.
    return [date(year, month, day) for year in years if month != 2 or day != 29 or _is_leap(year)]


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def open_days(settings: ScheduleSettings, first: date, end: date) -> list[date]:
    """Days in ``[first, end)`` on which the service runs: a ``weekdays`` day that is not closed."""
    closed = closed_days(settings, first, end)
    weekdays = _OPEN_WEEKDAYS[settings.weekdays]
    days = (first + timedelta(days=n) for n in range((end - first).days))
    return [day for day in days if day.weekday() in weekdays and day not in closed]


def _at(day: date, clock: str, offset_minutes: int) -> datetime:
    return datetime.combine(day, datetime.strptime(clock, "%H:%M").time()) + timedelta(minutes=offset_minutes)


def monthly_crons(times: Sequence[datetime], today: date) -> dict[str, str]:
    """One cron per calendar month: ``"YYYY-MM"`` -> ``cron(M H d1,d2,... MM ? YYYY)``.

    ``times`` share one clock time (one offset from the open days). A month whose every time lies
    before ``today`` is left out: it would never fire again.
    """
    by_month: dict[tuple[int, int], list[datetime]] = {}
    for moment in sorted(times):
        by_month.setdefault((moment.year, moment.month), []).append(moment)
    crons: dict[str, str] = {}
    for (year, month), moments in by_month.items():
        if moments[-1].date() < today:
            continue
        clocks = {(m.hour, m.minute) for m in moments}
        if len(clocks) != 1:
            raise ValueError(f"{year}-{month:02d}: one cron per month needs one clock time, got {clocks}")
        ((hour, minute),) = clocks
        days = ",".join(str(m.day) for m in moments)
        crons[f"{year}-{month:02d}"] = f"cron({minute} {hour} {days} {month} ? {year})"
    return crons


def _current(events: Iterable[tuple[datetime, bool]], now: datetime) -> bool:
    """Whether the last event (time, is_start) at or before ``now`` was a start."""
    past = [event for event in events if event[0] <= now]
    return max(past)[1] if past else False


@dataclass(frozen=True)
class ServiceHours:
    """When the ECS service is scaled up and down (Application Auto Scaling scheduled actions)."""

    timezone: str
    starts: dict[str, str]
    """``"YYYY-MM"`` -> cron firing ``warmUpMinutes`` before ``start`` on that month's open days."""
    stop: str
    """Every day at ``stop``: harmless on a closed day (the floor is already down), and it undoes
    a manual scale-up made on one."""
    in_hours: bool
    """True when ``now`` lies between a start and the next stop: the scalable target's min/max
    are then the daytime ones (see components/service.py)."""

    @property
    def action_count(self) -> int:
        return len(self.starts) + 1


@dataclass(frozen=True)
class DatabaseHours:
    """When the database is started and stopped (EventBridge Scheduler schedules)."""

    timezone: str
    starts: dict[str, str]
    """``"YYYY-MM"`` -> cron firing ``databaseWarmUpMinutes`` before the tasks' start."""
    stops: dict[str, str]
    """``"YYYY-MM"`` -> cron firing ``DATABASE_STOP_DELAY_MINUTES`` after the tasks' stop on open
    days, and on the eighth day of a closed stretch (after RDS's own restart on the seventh)."""
    in_hours: bool
    """True when ``now`` lies between a database start and the next database stop."""


def service_hours(settings: ScheduleSettings, now: datetime) -> ServiceHours:
    """The ECS scheduled actions over the horizon that contains ``now`` (local, naive)."""
    first, end = horizon(settings, now.date())
    days = open_days(settings, first, end)
    starts = [_at(day, settings.start, -settings.warm_up_minutes) for day in days]
    around = [now.date() + timedelta(days=n) for n in (-2, -1, 0, 1)]
    events = [(moment, True) for moment in starts] + [(_at(day, settings.stop, 0), False) for day in around]
    stop = datetime.strptime(settings.stop, "%H:%M")
    return ServiceHours(
        timezone=settings.timezone,
        starts=monthly_crons(starts, now.date()),
        stop=f"cron({stop.minute} {stop.hour} * * ? *)",
        in_hours=_current(events, now),
    )


def database_hours(settings: ScheduleSettings, now: datetime) -> DatabaseHours:
    """The database's start and stop schedules over the horizon that contains ``now``."""
    first, end = horizon(settings, now.date())
    days = open_days(settings, first, end)
    lead = settings.warm_up_minutes + settings.database_warm_up_minutes
    starts = [_at(day, settings.start, -lead) for day in days]
    stop_days = list(days)
    for previous, following in pairwise(days):
        stop_days += [
            previous + timedelta(days=n)
            for n in range(RDS_AUTO_START_DAYS + 1, (following - previous).days, RDS_AUTO_START_DAYS + 1)
        ]
    stops = [_at(day, settings.stop, DATABASE_STOP_DELAY_MINUTES) for day in stop_days]
    events = [(moment, True) for moment in starts] + [(moment, False) for moment in stops]
    return DatabaseHours(
        timezone=settings.timezone,
        starts=monthly_crons(starts, now.date()),
        stops=monthly_crons(stops, now.date()),
        in_hours=_current(events, now),
    )


def upcoming_closed_weekdays(settings: ScheduleSettings, today: date, count: int) -> list[tuple[date, str]]:
    """The next ``count`` closed days from ``today`` on which the service would otherwise run."""
    end = horizon(settings, today)[1]
    weekdays = _OPEN_WEEKDAYS[settings.weekdays]
    closed = closed_days(settings, today, end)
    return [(day, name) for day, name in closed.items() if day.weekday() in weekdays][:count]
