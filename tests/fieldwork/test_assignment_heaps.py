"""The automatic assignment (heaps per kind of task) gives exactly what the plain rule says:
each task, in date order, to the eligible auditor with the lightest load, then the lightest
week, then the smallest id; the others refused with the first constraint that leaves none."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from services.fieldwork.auditors.rules import (
    AuditorProfile,
    OpenTask,
    Unassigned,
    Workload,
    _why_not,
    assign_automatically,
    week_of,
)


def plain(
    tasks: Sequence[OpenTask], auditors: Sequence[AuditorProfile], workload: Workload
) -> tuple[dict[uuid.UUID, uuid.UUID], list[Unassigned]]:
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


def test_heaps_assign_like_the_plain_rule() -> None:
    channels = ["email", "phone", "visit", "letter"]
    for seed in range(40):
        rng = random.Random(seed)

        def new_id() -> uuid.UUID:
            return uuid.UUID(int=rng.getrandbits(128))  # noqa: B023 (called at once)

        structures = [new_id() for _ in range(30)]
        sites = {s: new_id() for s in structures}
        auditors = [
            AuditorProfile(new_id(), rng.choice(["01", "02", "03"]),
                           frozenset(rng.sample(channels, rng.randint(1, 4))), rng.randint(1, 6),
                           frozenset(rng.sample(structures, rng.randint(0, 3))), rng.random() > 0.1)
            for _ in range(rng.randint(1, 12))
        ]  # fmt: skip
        tasks = [
            OpenTask(new_id(), s, sites[s], channel,
                     date(2027, 1, 4) + timedelta(days=rng.randint(0, 40)), departement)
            for s, departement in ((s, rng.choice(["01", "02", "03"])) for s in structures)
            for channel in channels
            for _ in range(rng.randint(0, 4))
        ]  # fmt: skip
        expected = plain(tasks, auditors, Workload())
        assigned, refused = assign_automatically(tasks, auditors, Workload())
        assert assigned == expected[0], seed
        assert refused == expected[1], seed
        assert assigned or refused
