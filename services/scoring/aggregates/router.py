"""HTTP routes of scores and aggregates (operator); every read of per-structure scores is
written to the access log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from services.scoring.aggregates import queries
from services.scoring.aggregates.schemas import AuditScoreOut, GroupOut, StructureOut
from services.scoring.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from shared.app import SessionDep
from shared.auth import Principal, Role, require

router = APIRouter(tags=["scores"], dependencies=[require(Role.OPERATOR)])

Caller = Annotated[Principal, require(Role.OPERATOR)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]


@router.get("/editions/{edition_id}/audits", response_model=Page[AuditScoreOut])
async def list_audits(
    edition_id: uuid.UUID,
    session: SessionDep,
    principal: Caller,
    structure_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AuditScoreOut]:
    """Every stored audit (winning revision) with its score, by audit id."""
    await queries.log_read(
        session, principal, "read.audit_scores", f"edition/{edition_id}/audits", structure_id
    )
    return await queries.audits_page(
        session, edition_id, structure_id=structure_id, cursor=cursor, limit=limit
    )


@router.get("/editions/{edition_id}/audits/{audit_id}/score", response_model=AuditScoreOut)
async def get_audit_score(
    edition_id: uuid.UUID, audit_id: uuid.UUID, session: SessionDep, principal: Caller
) -> AuditScoreOut:
    found = await queries.audit_score(session, edition_id, audit_id)
    await queries.log_read(
        session, principal, "read.audit_score",
        f"edition/{edition_id}/audits/{audit_id}", found.structure_id,
    )  # fmt: skip
    return found


@router.get(
    "/editions/{edition_id}/structures/{structure_id}/audit-scores",
    response_model=list[AuditScoreOut],
)
async def list_structure_audit_scores(
    edition_id: uuid.UUID, structure_id: uuid.UUID, session: SessionDep, principal: Caller
) -> list[AuditScoreOut]:
    """A structure's scored audits (a few dozen at most), by channel."""
    await queries.log_read(
        session, principal, "read.audit_scores",
        f"edition/{edition_id}/structures/{structure_id}/audit-scores", structure_id,
    )  # fmt: skip
    return await queries.structure_audit_scores(session, edition_id, structure_id)


@router.get("/editions/{edition_id}/structures", response_model=Page[StructureOut])
async def list_structures(
    edition_id: uuid.UUID,
    session: SessionDep,
    principal: Caller,
    stratum_code: str | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[StructureOut]:
    """Structures' figures at every level, by structure id."""
    await queries.log_read(
        session, principal, "read.structure_scores", f"edition/{edition_id}/structures", None
    )
    return await queries.structures_page(
        session, edition_id, stratum_code=stratum_code, cursor=cursor, limit=limit
    )


@router.get("/editions/{edition_id}/structures/{structure_id}", response_model=StructureOut)
async def get_structure(
    edition_id: uuid.UUID, structure_id: uuid.UUID, session: SessionDep, principal: Caller
) -> StructureOut:
    await queries.log_read(
        session, principal, "read.structure_scores",
        f"edition/{edition_id}/structures/{structure_id}", structure_id,
    )  # fmt: skip
    return await queries.structure(session, edition_id, structure_id)


@router.get("/editions/{edition_id}/groups", response_model=list[GroupOut])
async def list_groups(edition_id: uuid.UUID, session: SessionDep) -> Sequence[GroupOut]:
    """Statistics of the sample, each stratum, structure type, and certified vs not."""
    return await queries.groups(session, edition_id)
