"""Re-scoring an edition: its stored audits (scoring's own copies of the winning revisions) are
replayed chunk by chunk into a fresh generation built aside; the last step derives every
structure and group of it and swaps it in by moving the edition's `generation` (readers follow
that one row, so they never see a half-built state).

While a re-score runs, each live batch also applies its changes to the building generation
for the audits the replay has already passed (ids up to its cursor); the replay reads the
others later in their latest stored form. A chunk holds the edition's lock exclusively and
live batches hold it shared, so the cursor never moves under a batch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates import repository as repo
from services.scoring.aggregates.rules import (
    GROUP_KINDS,
    CellDelta,
    ScoringSettings,
    groups_of,
    structure_figures,
)
from services.scoring.aggregates.service import (
    _shapes,
    announce,
    cell_row,
    cell_rows,
    compute_groups,
    from_stored,
    group_payload,
    load_shapes,
    score,
    settings_from_row,
    timestamp_key,
)
from services.scoring.models import EditionState
from shared.errors import Conflict, NotFound
from shared.outbox import Outbox


async def start(session: AsyncSession, edition_id: uuid.UUID) -> EditionState:
    """Open a re-score with the edition's current settings (the operator's trigger)."""
    await repo.lock(session, exclusive=[repo.lock_key("edition", edition_id)])
    states = await repo.edition_states(session, [edition_id], for_update=True)
    if not states:
        raise NotFound(f"edition {edition_id} has nothing scored yet")
    state = states[0]
    if state.rescore_status == "running":
        raise Conflict(f"a re-score of edition {edition_id} is already running")
    settings = settings_from_row(await repo.edition_settings(session, edition_id))
    building = state.generation + 1
    await repo.delete_generation(session, edition_id, building)
    state.building_generation = building
    state.building_settings = settings.as_json()
    state.rescore_cursor = None
    state.rescore_status = "running"
    state.rescore_total = await repo.count_scored_audits(session, edition_id)
    state.rescore_done = 0
    state.rescore_started_at = datetime.now(UTC)
    state.rescore_finished_at = None
    await session.flush()
    return state


async def progress(session: AsyncSession, edition_id: uuid.UUID) -> EditionState:
    states = await repo.edition_states(session, [edition_id])
    if not states:
        raise NotFound(f"edition {edition_id} has nothing scored yet")
    return states[0]


async def step(session: AsyncSession, outbox: Outbox, edition_id: uuid.UUID, chunk: int) -> bool:
    """Replay the next chunk (or finish); returns whether the re-score is still running."""
    await repo.lock(session, exclusive=[repo.lock_key("edition", edition_id)])
    states = await repo.edition_states(session, [edition_id], for_update=True)
    if not states or states[0].rescore_status != "running":
        return False
    state = states[0]
    assert state.building_generation is not None
    rows = await repo.audits_after(session, edition_id, state.rescore_cursor, chunk)
    if not rows:
        await finish(session, outbox, state)
        return False
    audits = [from_stored(r) for r in rows]
    await load_shapes(session, [a.grid_key for a in audits])
    deltas: dict[tuple[Any, ...], CellDelta] = defaultdict(CellDelta)
    for audit in audits:
        key = (state.building_generation, edition_id, audit.structure_id, audit.payload.site_id,
               audit.payload.channel, *audit.grid_key)  # fmt: skip
        deltas[key].add(_shapes[audit.grid_key], score(audit, _shapes[audit.grid_key]), +1)
    await repo.add_to_cells(session, cell_rows(deltas))
    state.rescore_cursor = rows[-1].audit_id
    state.rescore_done += len(rows)
    await session.flush()
    return True


async def finish(session: AsyncSession, outbox: Outbox, state: EditionState) -> None:
    """Derive every structure and group of the built generation, then swap it in."""
    edition_id = state.edition_id
    generation = state.building_generation
    assert generation is not None
    assert state.building_settings is not None
    settings = ScoringSettings.from_json(state.building_settings)
    structures = await rebuild_structures(session, generation, edition_id, settings)
    wanted = sorted({g for row in structures for g in groups_of(
        row["stratum_code"], row["structure_type"], row["certified"])})  # fmt: skip
    figures = await compute_groups(session, generation, edition_id, settings, wanted)
    rows: list[dict[str, Any]] = [
        {"generation": generation, "edition_id": edition_id, "kind": kind, "key": key}
        for kind, key in wanted
    ]
    await repo.mark_groups_dirty(session, rows)
    await repo.save_groups(
        session,
        [{**r, "structures": figures[(r["kind"], r["key"])]["structures"],
          "audits": figures[(r["kind"], r["key"])]["audits"],
          "figures": figures[(r["kind"], r["key"])]} for r in rows],
    )  # fmt: skip
    previous = state.generation
    state.generation = generation
    state.settings = state.building_settings
    state.building_generation = None
    state.building_settings = None
    state.rescore_cursor = None
    state.rescore_status = "done"
    state.rescore_finished_at = datetime.now(UTC)
    await session.flush()
    await repo.delete_generation(session, edition_id, previous)
    assert all(kind in GROUP_KINDS for kind, _ in wanted)
    await announce(
        outbox, session, edition_id, generation, [(row, None) for row in structures],
        [group_payload(kind, key, figures[(kind, key)]) for kind, key in wanted], [], full=True,
    )  # fmt: skip


async def rebuild_structures(
    session: AsyncSession, generation: int, edition_id: uuid.UUID, settings: ScoringSettings
) -> list[dict[str, Any]]:
    attributes = {r.structure_id: r for r in await repo.structure_attributes(session, edition_id)}
    ids = sorted(await repo.structure_ids_with_cells(session, generation, edition_id))
    cells: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for cell in await repo.cells_of(session, generation, edition_id, ids):
        cells[cell.structure_id].append(cell_row(cell))
    await load_shapes(session, [(c.grid_code, c.grid_version) for v in cells.values() for c in v])
    out = []
    for structure_id in ids:
        attrs = attributes.get(structure_id)
        if attrs is None:
            continue
        overall, audits, figures = structure_figures(cells[structure_id], _shapes, settings)
        out.append(
            {
                "generation": generation,
                "edition_id": edition_id,
                "structure_id": structure_id,
                "stratum_code": attrs.stratum_code,
                "structure_type": attrs.structure_type,
                "certified": attrs.certified,
                "attributes_as_of": f"{timestamp_key(attrs.validated_at)}|{attrs.audit_id}",
                "audits": audits,
                "score": overall,
                "figures": figures,
            }
        )
    await repo.upsert_structures(session, out)
    return out


def as_progress(state: EditionState) -> dict[str, object]:
    return {
        "edition_id": state.edition_id,
        "generation": state.generation,
        "building_generation": state.building_generation,
        "status": state.rescore_status,
        "done": state.rescore_done,
        "total": state.rescore_total,
        "started_at": state.rescore_started_at,
        "finished_at": state.rescore_finished_at,
    }
