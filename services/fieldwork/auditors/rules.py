"""Auditors: pseudonyms compared without case or accents, and the automatic assignment of
tasks under every constraint (pure)."""

from __future__ import annotations

import heapq
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


@dataclass(frozen=True, slots=True)
class AuditorProfile:
    id: uuid.UUID
    departement_code: str
    channels: frozenset[str]
    weekly_capacity: int
    linked_structures: frozenset[uuid.UUID]
    active: bool = True


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
    the lightest week, then the smallest id), so load stays balanced; `workload` is updated as
    tasks are given.

    Each kind of task (channel, and département for a visit) has a heap of the auditors who do
    it, keyed by (load, load this week, id): a task takes the first auditor of its heap that
    is not linked to the structure, has not audited the site on the channel and has room this
    week, so a national edition costs O(tasks x log(auditors)), not tasks x auditors. Keys
    only grow, so a stale entry (its auditor took a task of another kind) is pushed back with
    its current key when met; the heaps are rebuilt when the week changes."""
    assigned: dict[uuid.UUID, uuid.UUID] = {}
    refused: list[Unassigned] = []
    pool = sorted(auditors, key=lambda a: a.id)
    by_id = {a.id: a for a in pool}
    heaps: dict[tuple[str, str | None], list[tuple[int, int, uuid.UUID]]] = {}
    current_week: tuple[int, int] | None = None
    for task in sorted(tasks, key=lambda t: (t.planned_on, t.channel, t.id)):
        week = week_of(task.planned_on)
        if week != current_week:
            heaps.clear()
            current_week = week
        kind = (task.channel, task.departement_code if task.channel == "visit" else None)
        heap = heaps.get(kind)
        if heap is None:
            heap = heaps[kind] = [
                (workload.total[a.id], workload.per_week[(a.id, week)], a.id)
                for a in pool
                if a.active
                and task.channel in a.channels
                and (task.channel != "visit" or a.departement_code == task.departement_code)
                and workload.per_week[(a.id, week)] < a.weekly_capacity
            ]
            heapq.heapify(heap)
        chosen = _first_free(heap, task, by_id, workload, week)
        if chosen is None:
            _, reason = _why_not(task, pool, workload)
            refused.append(Unassigned(task.id, reason or "no auditor is free"))
            continue
        assigned[task.id] = chosen
        workload.add(chosen, task.site_id, task.channel, task.planned_on)
        heapq.heappush(heap, (workload.total[chosen], workload.per_week[(chosen, week)], chosen))
    return assigned, refused


def _first_free(
    heap: list[tuple[int, int, uuid.UUID]],
    task: OpenTask,
    by_id: dict[uuid.UUID, AuditorProfile],
    workload: Workload,
    week: tuple[int, int],
) -> uuid.UUID | None:
    """Pop the lightest auditor who may take the task; the ones passed over for this task
    only (linked, already on the site) go back, the full ones stay out for the week."""
    passed: list[tuple[int, int, uuid.UUID]] = []
    chosen = None
    while heap:
        total, this_week, auditor_id = heapq.heappop(heap)
        now = (workload.total[auditor_id], workload.per_week[(auditor_id, week)])
        if (total, this_week) != now:  # stale: it took a task of another kind meanwhile
            heapq.heappush(heap, (*now, auditor_id))
            continue
        auditor = by_id[auditor_id]
        if this_week >= auditor.weekly_capacity:
            continue  # full until the week changes (the heaps are rebuilt then)
        if (
            task.structure_id in auditor.linked_structures
            or (auditor_id, task.site_id, task.channel) in workload.visited
        ):
            passed.append((total, this_week, auditor_id))
            continue
        chosen = auditor_id
        break
    for entry in passed:
        heapq.heappush(heap, entry)
    return chosen


def manual_assignment_problem(
    task: OpenTask, auditor: AuditorProfile, workload: Workload
) -> str | None:
    """Why this auditor may not take this task by hand (None when they may)."""
    _, reason = _why_not(task, [auditor], workload)
    return reason
