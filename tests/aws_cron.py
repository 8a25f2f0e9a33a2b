"""A small evaluator of AWS's six-field cron expressions, for the tests.

The format and its rules, as EventBridge Scheduler and Application Auto Scaling document them
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html,
https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
``cron(Minutes Hours Day-of-month Month Day-of-week Year)``; minutes 0-59, hours 0-23,
day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (1 is Sunday), year
1970-2199; ``,`` lists, ``-`` ranges, ``*`` all, ``/`` increments; exactly one of day-of-month
and day-of-week is ``?``. The ``L``, ``W`` and ``#`` wildcards are refused, as the program never
writes them. croniter is not in the environment, and its five-field format differs (day of week
0 is Sunday, no year, no ``?``), so it would not check AWS's rules anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_BOUNDS = {
    "minute": (0, 59),
    "hour": (0, 23),
    "dom": (1, 31),
    "month": (1, 12),
    "dow": (1, 7),
    "year": (1970, 2199),
}


class CronError(ValueError):
    """An expression AWS would reject."""


def _values(field: str, kind: str) -> set[int]:
    low, high = _BOUNDS[kind]
    names = _MONTHS if kind == "month" else _DAYS if kind == "dow" else {}
    if re.search(r"[LW#]", field):
        raise CronError(f"{kind}: L, W and # are not supported by this evaluator ({field})")
    values: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part == "*":
            first, last = low, high
        elif "-" in part:
            first_text, last_text = part.split("-")
            first, last = (int(names.get(t, t)) for t in (first_text, last_text))
        else:
            first = int(names.get(part, part))
            last = high if step != 1 else first
        if not (low <= first <= high and low <= last <= high):
            raise CronError(f"{kind}: {part} is outside {low}-{high}")
        values |= set(range(first, last + 1, step))
    return values


class Cron:
    """A parsed ``cron(...)`` expression."""

    def __init__(self, expression: str):
        match = re.fullmatch(r"cron\((.*)\)", expression)
        if match is None:
            raise CronError(f"{expression}: not cron(...)")
        fields = match[1].split(" ")
        if len(fields) != 6:
            raise CronError(f"{expression}: {len(fields)} fields, AWS needs 6 (with the year)")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise CronError(f"{expression}: exactly one of day-of-month and day-of-week must be '?'")
        self.minutes = _values(minute, "minute")
        self.hours = _values(hour, "hour")
        self.days_of_month = None if dom == "?" else _values(dom, "dom")
        self.months = _values(month, "month")
        self.days_of_week = None if dow == "?" else _values(dow, "dow")
        self.years = _values(year, "year")

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        assert self.days_of_week is not None
        return (day.isoweekday() % 7) + 1 in self.days_of_week  # AWS: SUN=1 ... SAT=7

    def on(self, day: date) -> list[datetime]:
        """Every time the expression fires on ``day`` (local time of the schedule's zone)."""
        if not self.matches_day(day):
            return []
        return sorted(datetime(day.year, day.month, day.day, h, m) for h in self.hours for m in self.minutes)

    def between(self, first: date, end: date) -> Iterator[datetime]:
        """Every firing in ``[first, end)``."""
        day = first
        while day < end:
            yield from self.on(day)
            day += timedelta(days=1)
