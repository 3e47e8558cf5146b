"""Pure rules of editions: the status machine and the consistency of a calendar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from services.registry.vocabulary import EditionStatus

S = EditionStatus

# The only legal moves: one step forward along the edition's life.
TRANSITIONS: dict[EditionStatus, frozenset[EditionStatus]] = {
    S.DRAFT: frozenset({S.REGISTRATION_OPEN}),
    S.REGISTRATION_OPEN: frozenset({S.REGISTRATION_CLOSED}),
    S.REGISTRATION_CLOSED: frozenset({S.FIELDWORK}),
    S.FIELDWORK: frozenset({S.SCORING}),
    S.SCORING: frozenset({S.PUBLISHED}),
    S.PUBLISHED: frozenset({S.ARCHIVED}),
    S.ARCHIVED: frozenset(),
}

# Statuses in which the edition's configuration (calendar, eligibility, quotas, offers) may
# change; strata rules may still change until fieldwork starts (structures are re-derived).
EDITABLE = frozenset({S.DRAFT})
STRATA_EDITABLE = frozenset({S.DRAFT, S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED})


def transition_problem(current: EditionStatus, to: EditionStatus) -> str | None:
    """Why `current → to` is not allowed, or None when it is."""
    if to in TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final status)"
    return f"an edition cannot go from {current} to {to}; allowed from {current}: {allowed}"


@dataclass(frozen=True)
class Window:
    """Inclusive dates during which a channel's audits take place."""

    channel: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Calendar:
    registration_deadline: date | None = None
    selection_notice_on: date | None = None
    windows: Sequence[Window] = field(default_factory=tuple)
    results_dispatch_on: date | None = None
    ceremony_on: date | None = None


@dataclass(frozen=True)
class CalendarProblem:
    field: str  # the path of the offending field, e.g. "calendar.windows[1].ends_on"
    message: str


def calendar_problems(calendar: Calendar) -> list[CalendarProblem]:
    """Every inconsistency of a calendar, in field order (empty when consistent).

    The phases overlap in real editions (2017: website audits ran before the selection notice),
    so only what must hold is checked: each window is ordered; a channel's windows do not
    overlap; fieldwork starts after the registration deadline; the selection notice does not
    precede the deadline; results are dispatched after fieldwork, and the ceremony comes after
    fieldwork and not before the results.
    """
    problems: list[CalendarProblem] = []
    prefix = "calendar"
    windows = list(calendar.windows)
    for i, w in enumerate(windows):
        if w.ends_on < w.starts_on:
            problems.append(
                CalendarProblem(
                    f"{prefix}.windows[{i}].ends_on",
                    f"the {w.channel} window ends ({w.ends_on}) before it starts ({w.starts_on})",
                )
            )
    for i, w in enumerate(windows):
        for j in range(i):
            other = windows[j]
            if (
                other.channel == w.channel
                and w.starts_on <= other.ends_on
                and other.starts_on <= w.ends_on
            ):
                problems.append(
                    CalendarProblem(
                        f"{prefix}.windows[{i}]",
                        f"the {w.channel} window {w.starts_on}-{w.ends_on} overlaps window "
                        f"{j} of the same channel ({other.starts_on}-{other.ends_on})",
                    )
                )
    deadline = calendar.registration_deadline
    first = min((w.starts_on for w in windows), default=None)
    last = max((w.ends_on for w in windows), default=None)
    if deadline is not None and first is not None and first <= deadline:
        problems.append(
            CalendarProblem(
                f"{prefix}.registration_deadline",
                f"registrations close on {deadline}, not before fieldwork starts ({first})",
            )
        )
    notice = calendar.selection_notice_on
    if deadline is not None and notice is not None and notice < deadline:
        problems.append(
            CalendarProblem(
                f"{prefix}.selection_notice_on",
                f"candidates are told on {notice}, before registrations close ({deadline})",
            )
        )
    results = calendar.results_dispatch_on
    if results is not None and last is not None and results <= last:
        problems.append(
            CalendarProblem(
                f"{prefix}.results_dispatch_on",
                f"results are sent on {results}, not after fieldwork ends ({last})",
            )
        )
    ceremony = calendar.ceremony_on
    if ceremony is not None and last is not None and ceremony <= last:
        problems.append(
            CalendarProblem(
                f"{prefix}.ceremony_on",
                f"the ceremony ({ceremony}) is not after fieldwork ends ({last})",
            )
        )
    if ceremony is not None and results is not None and ceremony < results:
        problems.append(
            CalendarProblem(
                f"{prefix}.ceremony_on",
                f"the ceremony ({ceremony}) comes before the results are sent ({results})",
            )
        )
    return problems


def shift_years(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def shift_calendar(calendar: Calendar, years: int) -> Calendar:
    """A calendar moved by whole years: a preset or a previous edition reused for another year."""

    def move(day: date | None) -> date | None:
        return None if day is None else shift_years(day, years)

    return Calendar(
        registration_deadline=move(calendar.registration_deadline),
        selection_notice_on=move(calendar.selection_notice_on),
        windows=tuple(
            Window(w.channel, shift_years(w.starts_on, years), shift_years(w.ends_on, years))
            for w in calendar.windows
        ),
        results_dispatch_on=move(calendar.results_dispatch_on),
        ceremony_on=move(calendar.ceremony_on),
    )
