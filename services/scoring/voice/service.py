"""Perceived quality: each accepted voice counted once, per (structure, site) sums, figures
derived for the structures and sites a batch touched."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates import repository as aggregates
from services.scoring.aggregates.rules import ScoringSettings
from services.scoring.voice import repository as repo
from services.scoring.voice.rules import VoiceContribution, contribution, perceived
from shared.contracts.fieldwork import CitizenVoiceReceivedV1
from shared.contracts.scoring import PerceivedQualityV1

NO_SITE = uuid.UUID(int=0)
SUMMED = tuple(f.name for f in fields(VoiceContribution))


def _add(a: VoiceContribution, b: VoiceContribution) -> VoiceContribution:
    values: dict[str, Any] = {n: getattr(a, n) + getattr(b, n) for n in SUMMED}
    return VoiceContribution(**values)


def figures(
    structure_id: uuid.UUID, site_id: uuid.UUID | None, sums: VoiceContribution, minimum: int
) -> PerceivedQualityV1:
    return PerceivedQualityV1(
        structure_id=structure_id, site_id=site_id, **asdict(perceived(sums, minimum))
    )


def sums_from_row(row: Any) -> VoiceContribution:
    values: dict[str, Any] = {n: getattr(row, n) or 0 for n in SUMMED}
    return VoiceContribution(**values)


async def apply(
    session: AsyncSession, voices: Sequence[CitizenVoiceReceivedV1], settings: ScoringSettings
) -> list[PerceivedQualityV1]:
    edition_id = voices[0].edition_id
    new = await repo.insert_new_voices(
        session,
        [
            {"voice_id": v.voice_id, "edition_id": v.edition_id, "structure_id": v.structure_id,
             "site_id": v.site_id, "kind": v.kind}
            for v in {v.voice_id: v for v in voices}.values()
        ],
    )  # fmt: skip
    deltas: dict[tuple[uuid.UUID, uuid.UUID], VoiceContribution] = defaultdict(VoiceContribution)
    for v in voices:
        if v.voice_id not in new:
            continue
        new.discard(v.voice_id)
        key = (v.structure_id, v.site_id or NO_SITE)
        deltas[key] = _add(
            deltas[key],
            contribution(
                v.kind, satisfied=v.satisfied, satisfaction=v.satisfaction,
                participants=v.participants, population_reached=v.population_reached,
            ),
        )  # fmt: skip
    await repo.add_to_sums(
        session,
        [
            {"edition_id": edition_id, "structure_id": s, "site_id": site, **asdict(d)}
            for (s, site), d in sorted(deltas.items())
        ],
    )
    structures = sorted({s for s, _ in deltas})
    if not structures:
        return []
    totals: dict[uuid.UUID, VoiceContribution] = defaultdict(VoiceContribution)
    out: list[PerceivedQualityV1] = []
    minimum = settings.min_voice_responses
    for row in await repo.sums_of(session, edition_id, structures):
        sums = sums_from_row(row[0])
        totals[row[0].structure_id] = _add(totals[row[0].structure_id], sums)
        if row[0].site_id != NO_SITE and (row[0].structure_id, row[0].site_id) in deltas:
            out.append(figures(row[0].structure_id, row[0].site_id, sums, minimum))
    out.extend(figures(s, None, totals[s], minimum) for s in structures)
    return out


async def page(
    session: AsyncSession, edition_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[PerceivedQualityV1]:
    """Structures' perceived quality (with the minimum count of the settings in force)."""
    states = await aggregates.edition_states(session, [edition_id])
    settings = ScoringSettings.from_json(states[0].settings) if states else ScoringSettings()
    return [
        figures(row.structure_id, None, sums_from_row(row), settings.min_voice_responses)
        for row in await repo.sums_page(session, edition_id, after=after, limit=limit)
    ]
