"""工作日: Chinese official working days, with the State Council's holidays and adjusted working weekends (调休).

The calendar comes from the ``chinesecalendar`` library, which publishes each next year's data every
December (docs/decisions/0031-working-days.md). For a year it does not cover yet, a deadline falls back to
Monday to Friday and a warning is logged, so that a statutory clock never stops the platform; the result
is marked provisional by ``year_covered``.
"""

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def year_covered(day: date) -> bool:
    """Whether the library has the official calendar of ``day``'s year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """工作日: a working day in the official calendar; Monday to Friday, with a warning, for an uncovered year."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        log.warning("working_days_year_not_covered year=%s: falling back to Monday-Friday; "
                    "upgrade chinesecalendar", day.year)
        return day.weekday() < 5


def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself is not counted)."""
    while count > 0:
        day += timedelta(days=1)
        count -= is_working_day(day)
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days fall after ``start`` up to and including ``end``."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in Asia/Shanghai: a deadline "within N working days" ends there."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)


def working_deadline(moment: datetime, count: int) -> datetime:
    """The end of the ``count``-th working day after the day of ``moment`` (Asia/Shanghai)."""
    return end_of_day(add_working_days(local_date(moment), count))
