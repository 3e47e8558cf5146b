"""Audit plans: which dated tasks a site gets in an edition (pure, deterministic for a seed).

Each channel's audits fall on distinct working days inside the channel's windows (French public
holidays excluded, Alsace-Moselle's too where the site is), spread over them: the free days
are cut into as many equal stretches as there are audits and one day is drawn in each.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from services.fieldwork.calendar.rules import working_days
from services.fieldwork.scenarios.rules import Scenario, choose_scenarios, spread_scenarios

VISITS_OPTION = "visits"


@dataclass(frozen=True)
class Window:
    channel: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Quota:
    channel: str
    audits_per_site: int
    requires_option: str | None = None


@dataclass(frozen=True)
class PlannedTask:
    channel: str
    sequence: int  # 1..n within the site and channel, in date order
    planned_on: date
    scenario_code: str | None = None


class PlanningError(ValueError):
    """A site's plan cannot be made (e.g. a channel has no window, or too few working days)."""


# The 2017 edition (seed): 4 e-mails, 4 calls, 1 answering machine, 3 letters, 1 website:
# 13 remote audits; 2 visits with the option.
DEFAULT_QUOTAS: tuple[Quota, ...] = (
    Quota("email", 4),
    Quota("phone", 4),
    Quota("answering_machine", 1),
    Quota("letter", 3),
    Quota("website", 1),
    Quota("visit", 2, VISITS_OPTION),
)


def default_windows(year: int) -> tuple[Window, ...]:
    """The 2017 calendar (seed) in the given year, for an event that carries no calendar:
    website 17-21 July, answering machine 24 July-4 August, the others 4 September-27 October."""
    autumn = (date(year, 9, 4), date(year, 10, 27))
    return (
        Window("website", date(year, 7, 17), date(year, 7, 21)),
        Window("answering_machine", date(year, 7, 24), date(year, 8, 4)),
        *(Window(c, *autumn) for c in ("email", "letter", "phone", "social_network", "visit")),
    )


def options_of_offer(offer: str) -> frozenset[str]:
    """Options a v1 registration implies: the personalised offer brought the 2 visits."""
    return frozenset({VISITS_OPTION}) if offer == "personalised" else frozenset()


def site_counts(quotas: Sequence[Quota], options: Collection[str]) -> dict[str, int]:
    """Audits per channel for a site with these options (a channel listed twice adds up)."""
    counts: dict[str, int] = {}
    for quota in quotas:
        if quota.requires_option is None or quota.requires_option in options:
            counts[quota.channel] = counts.get(quota.channel, 0) + quota.audits_per_site
    return {c: n for c, n in counts.items() if n > 0}


@lru_cache(maxsize=1024)
def _free_days(spans: tuple[tuple[date, date], ...], calendar_key: str | None) -> tuple[date, ...]:
    days: set[date] = set()
    for first, last in spans:
        days.update(working_days(first, last, calendar_key))
    return tuple(sorted(days))


def channel_days(
    windows: Sequence[Window], channel: str, departement: str | None
) -> tuple[date, ...]:
    """The working days inside the channel's windows for a site of this département."""
    spans = tuple(sorted((w.starts_on, w.ends_on) for w in windows if w.channel == channel))
    # Départements sharing a calendar share the cached days (57, 67 and 68 have their own).
    key = {"57": "57", "67": "67", "68": "67"}.get(departement or "")
    return _free_days(spans, key)


def plan_site(
    *,
    site_key: str,
    departement_code: str | None,
    counts: Mapping[str, int],
    windows: Sequence[Window],
    seed: int,
    taken: Mapping[str, Collection[date]] | None = None,
    first_sequence: Mapping[str, int] | None = None,
) -> list[PlannedTask]:
    """The dated tasks of one site; `taken` are days already used per channel (kept tasks)."""
    planned: list[PlannedTask] = []
    rng = random.Random(f"{seed}:{site_key}")  # one draw sequence per site, channels in order
    for channel in sorted(counts):
        count = counts[channel]
        busy = (taken or {}).get(channel)
        free = channel_days(windows, channel, departement_code)
        days = [d for d in free if d not in busy] if busy else free
        if not days and not any(w.channel == channel for w in windows):
            raise PlanningError(f"channel {channel}: the edition has no window for it")
        if len(days) < count:
            raise PlanningError(
                f"channel {channel}: {len(days)} free working day(s) in its window(s) "
                f"for {count} audit(s)"
            )
        total = len(days)
        first = (first_sequence or {}).get(channel, 1)
        for n in range(count):
            stretch = days[n * total // count : (n + 1) * total // count]
            planned.append(PlannedTask(channel, first + n, rng.choice(stretch)))
    return planned


def with_scenarios(
    tasks: Sequence[PlannedTask],
    *,
    site_key: str,
    structure_type: str,
    catalogue: Sequence[Scenario],
    seed: int,
) -> tuple[list[PlannedTask], list[str]]:
    """The tasks with their scenario, and the site's chosen scenario codes."""
    rng = random.Random(f"{seed}:{site_key}:scenarios")
    chosen = choose_scenarios(catalogue, structure_type, rng)
    ordered = sorted(tasks, key=lambda t: (t.planned_on, t.channel, t.sequence))
    codes = spread_scenarios([t.channel for t in ordered], chosen, catalogue)
    return (
        [
            PlannedTask(t.channel, t.sequence, t.planned_on, code)
            for t, code in zip(ordered, codes, strict=True)
        ],
        [s.code for s in chosen],
    )
