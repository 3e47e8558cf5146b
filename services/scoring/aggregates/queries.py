"""Read side of scores and aggregates, for the operator's API (readers follow the edition's
current generation)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates import repository as repo
from services.scoring.aggregates.schemas import AuditScoreOut, GroupOut, StructureOut
from services.scoring.engine.rules import display
from services.scoring.models import Audit, access_log
from services.scoring.pagination import Page, decode_cursor, encode_cursor
from shared.access_log import record
from shared.auth import Principal
from shared.errors import NotFound


async def log_read(
    session: AsyncSession,
    principal: Principal,
    action: str,
    target: str,
    structure_id: uuid.UUID | None,
) -> None:
    """The access log's row for a read of per-structure scores, in the request's transaction."""
    await record(session, access_log, principal, action, target, structure_id=structure_id)


def audit_out(row: Audit) -> AuditScoreOut:
    return AuditScoreOut(
        audit_id=row.audit_id,
        edition_id=row.edition_id,
        structure_id=row.structure_id,
        site_id=row.site_id,
        channel=row.channel,
        revision=row.revision,
        status=row.status,
        rejection=row.rejection,
        grid_code=row.grid_code,
        grid_version=row.grid_version,
        methodology=row.methodology,
        score=None if row.score is None else display(row.score),
        score_exact=row.score,
        points_obtained=row.points_obtained,
        points_possible=row.points_possible,
        scored_at=row.scored_at,
    )


async def audit_score(
    session: AsyncSession, edition_id: uuid.UUID, audit_id: uuid.UUID
) -> AuditScoreOut:
    row = await repo.audit(session, edition_id, audit_id)
    if row is None or row.status != "scored":
        raise NotFound(f"no score for audit {audit_id} in edition {edition_id} (yet)")
    return audit_out(row)


async def structure_audit_scores(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> list[AuditScoreOut]:
    return [audit_out(r) for r in await repo.structure_audits(session, edition_id, structure_id)]


async def audits_page(
    session: AsyncSession,
    edition_id: uuid.UUID,
    *,
    structure_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> Page[AuditScoreOut]:
    key = decode_cursor(cursor, 1)
    rows = await repo.audits_page(
        session, edition_id, structure_id=structure_id,
        after=uuid.UUID(key[0]) if key else None, limit=limit + 1,
    )  # fmt: skip
    return Page(
        items=[audit_out(r) for r in rows[:limit]],
        next_cursor=encode_cursor([rows[limit - 1].audit_id]) if len(rows) > limit else None,
    )


async def _generation(session: AsyncSession, edition_id: uuid.UUID) -> int:
    states = await repo.edition_states(session, [edition_id])
    if not states:
        raise NotFound(f"edition {edition_id} has nothing scored yet")
    return states[0].generation


def _structure_out(row: object) -> StructureOut:
    score = getattr(row, "score", None)
    return StructureOut.model_validate(
        {
            **{k: getattr(row, k) for k in (
                "edition_id", "structure_id", "generation", "stratum_code", "structure_type",
                "certified", "audits", "figures")},
            "score": score,
            "score_display": None if score is None else display(score),
        }
    )  # fmt: skip


async def structures_page(
    session: AsyncSession,
    edition_id: uuid.UUID,
    *,
    stratum_code: str | None,
    cursor: str | None,
    limit: int,
) -> Page[StructureOut]:
    key = decode_cursor(cursor, 1)
    generation = await _generation(session, edition_id)
    rows = await repo.structures_page(
        session, generation, edition_id, after=uuid.UUID(key[0]) if key else None,
        limit=limit + 1, stratum_code=stratum_code,
    )  # fmt: skip
    return Page(
        items=[_structure_out(r) for r in rows[:limit]],
        next_cursor=encode_cursor([rows[limit - 1].structure_id]) if len(rows) > limit else None,
    )


async def structure(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> StructureOut:
    generation = await _generation(session, edition_id)
    rows = await repo.structure_rows(session, generation, edition_id, [structure_id])
    if not rows:
        raise NotFound(f"structure {structure_id} has no score in edition {edition_id} (yet)")
    return _structure_out(rows[0])


async def groups(session: AsyncSession, edition_id: uuid.UUID) -> Sequence[GroupOut]:
    """Every group of the edition (a few dozen at most: kinds x strata / types)."""
    generation = await _generation(session, edition_id)
    return [
        GroupOut(
            edition_id=g.edition_id,
            generation=g.generation,
            kind=g.kind,
            key=g.key,
            structures=g.structures,
            audits=g.audits,
            figures=g.figures,
            refreshed_at=g.refreshed_at,
        )
        for g in await repo.group_rows(session, generation, edition_id)
    ]
