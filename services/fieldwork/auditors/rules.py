"""Auditors: pseudonyms compared without case or accents, and the automatic assignment of
tasks under every constraint (pure)."""

from __future__ import annotations

import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date


def pseudonym_key(pseudonym: str) -> str:
    """ "Éloïse  Martin" and "eloise martin" are the same name."""
    decomposed = unicodedata.normalize("NFKD", pseudonym)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def week_of(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


@dataclass(frozen=True)
class AuditorProfile:
    id: uuid.UUID
    departement_code: str
    channels: frozenset[str]
    weekly_capacity: int
    linked_structures: frozenset[uuid.UUID]
    active: bool = True


@dataclass(frozen=True)
class OpenTask:
    id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    planned_on: date
    departement_code: str | None


@dataclass
class Workload:
    """What auditors already carry: tasks per ISO week, in total, and (site, channel) pairs."""

    per_week: dict[tuple[uuid.UUID, tuple[int, int]], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    total: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    visited: set[tuple[uuid.UUID, uuid.UUID, str]] = field(default_factory=set)

    def add(self, auditor_id: uuid.UUID, site_id: uuid.UUID, channel: str, day: date) -> None:
        self.per_week[(auditor_id, week_of(day))] += 1
        self.total[auditor_id] += 1
        self.visited.add((auditor_id, site_id, channel))


@dataclass(frozen=True)
class Unassigned:
    task_id: uuid.UUID
    reason: str


def _why_not(
    task: OpenTask, candidates: list[AuditorProfile], workload: Workload
) -> tuple[list[AuditorProfile], str | None]:
    """The auditors who may take the task, or the first constraint that leaves none."""
    steps = (
        (lambda a: a.active, "no active auditor"),
        (
            lambda a: task.channel in a.channels,
            f"no active auditor does the {task.channel} channel",
        ),
        (
            lambda a: task.channel != "visit" or a.departement_code == task.departement_code,
            f"no auditor of this channel lives in département {task.departement_code}"
            " (a visit is made by a resident)",
        ),
        (
            lambda a: task.structure_id not in a.linked_structures,
            "every eligible auditor is linked to the structure (conflict of interest)",
        ),
        (
            lambda a: (a.id, task.site_id, task.channel) not in workload.visited,
            "every eligible auditor has already audited this site on this channel",
        ),
        (
            lambda a: workload.per_week[(a.id, week_of(task.planned_on))] < a.weekly_capacity,
            "every eligible auditor is at full capacity in week {}-W{:02d}".format(
                *week_of(task.planned_on)
            ),
        ),
    )
    for keep, reason in steps:
        candidates = [a for a in candidates if keep(a)]
        if not candidates:
            return [], reason
    return candidates, None


def assign_automatically(
    tasks: Iterable[OpenTask], auditors: Sequence[AuditorProfile], workload: Workload
) -> tuple[dict[uuid.UUID, uuid.UUID], list[Unassigned]]:
    """Assign tasks in date order, each to the eligible auditor with the lightest load (then
    the lightest week), so load stays balanced; `workload` is updated as tasks are given."""
    assigned: dict[uuid.UUID, uuid.UUID] = {}
    refused: list[Unassigned] = []
    pool = sorted(auditors, key=lambda a: a.id)
    for task in sorted(tasks, key=lambda t: (t.planned_on, t.channel, t.id)):
        candidates, reason = _why_not(task, pool, workload)
        if reason is not None:
            refused.append(Unassigned(task.id, reason))
            continue
        week = week_of(task.planned_on)
        best = min(
            candidates, key=lambda a: (workload.total[a.id], workload.per_week[(a.id, week)])
        )
        assigned[task.id] = best.id
        workload.add(best.id, task.site_id, task.channel, task.planned_on)
    return assigned, refused


def manual_assignment_problem(
    task: OpenTask, auditor: AuditorProfile, workload: Workload
) -> str | None:
    """Why this auditor may not take this task by hand (None when they may)."""
    _, reason = _why_not(task, [auditor], workload)
    return reason
