"""Working days in France: weekends and public holidays excluded, with the two extra days of
Alsace-Moselle (Good Friday, 26 December) for départements 57, 67 and 68 (`holidays` library)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

# The `holidays` library's French subdivisions with local holidays: Moselle, and Alsace
# (the Collectivité européenne d'Alsace, départements 67 and 68).
_LOCAL_CALENDARS = {"57": "57", "67": "6AE", "68": "6AE"}


def calendar_of(departement_code: str | None) -> str | None:
    """The holiday calendar a département follows (None: the national one)."""
    return _LOCAL_CALENDARS.get(departement_code or "")


@lru_cache(maxsize=256)
def _holidays(calendar: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year, subdiv=calendar).keys())


def is_working_day(day: date, departement_code: str | None) -> bool:
    return day.weekday() < 5 and day not in _holidays(calendar_of(departement_code), day.year)


@lru_cache(maxsize=4096)
def _working_days(first: date, last: date, calendar: str | None) -> tuple[date, ...]:
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in _holidays(calendar, day.year):
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def working_days(first: date, last: date, departement_code: str | None) -> tuple[date, ...]:
    """The working days from `first` to `last`, both included, in order."""
    return _working_days(first, last, calendar_of(departement_code))


def working_days_after(contact_day: date, reply_day: date, departement_code: str | None) -> int:
    """Working days after the contact day up to and including the reply day (0 the same day).

    An e-mail sent on Friday and answered on Monday took 1 working day.
    """
    if reply_day <= contact_day:
        return 0
    return len(working_days(contact_day + timedelta(days=1), reply_day, departement_code))
