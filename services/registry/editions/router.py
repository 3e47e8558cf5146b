"""HTTP routes of editions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.registry.editions import service
from services.registry.editions.schemas import (
    EditionIn,
    EditionOut,
    EditionPatch,
    TransitionIn,
    TransitionOut,
)
from services.registry.vocabulary import EditionStatus
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role
from shared.auth import require as require_role
from shared.idempotency import IdempotencyDep
from shared.pagination import Page, PageDep

router = APIRouter(tags=["editions"])
Operator = Annotated[Principal, require_role(Role.OPERATOR)]


@router.post("/editions", status_code=201, summary="Create an edition (draft)")
async def create_edition(
    body: EditionIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> EditionOut:
    """From a preset (`"preset": "2017"` or `"2020"`), a previous edition (`copy_from`), or
    from scratch; the fields given override the preset's or the copied edition's."""
    return await idem.once(
        service.create_edition(session, runtime.outbox, principal, body), status_code=201
    )


@router.get("/editions", summary="List editions, newest year first")
async def list_editions(
    session: SessionDep,
    page: PageDep,
    principal: Operator,
    year: Annotated[int | None, Query(ge=2012, le=2100, description="Only this year.")] = None,
    status: Annotated[EditionStatus | None, Query(description="Only this status.")] = None,
) -> Page[EditionOut]:
    return await service.list_editions(session, page, year=year, status=status)


@router.get("/editions/{edition_id}", summary="Read an edition and its whole configuration")
async def get_edition(
    edition_id: uuid.UUID, session: SessionDep, principal: Operator
) -> EditionOut:
    return await service.read_edition(session, edition_id)


@router.patch("/editions/{edition_id}", summary="Edit a draft edition's configuration")
async def patch_edition(
    edition_id: uuid.UUID,
    body: EditionPatch,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> EditionOut:
    """Only the fields given change; `calendar`, `quotas` and `offers`, when given, replace the
    old ones whole. Checked like a creation (422 naming the field)."""
    return await service.patch_edition(session, runtime.outbox, edition_id, body)


@router.post("/editions/{edition_id}/transitions", summary="Move an edition to its next status")
async def transition(
    edition_id: uuid.UUID,
    body: TransitionIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> EditionOut:
    """draft → registration_open → registration_closed → fieldwork → scoring → published →
    archived; anything else is a 409. Each move is recorded and announced."""
    return await idem.once(service.transition(session, runtime.outbox, principal, edition_id, body))


@router.get("/editions/{edition_id}/transitions", summary="The status history of an edition")
async def list_transitions(
    edition_id: uuid.UUID, session: SessionDep, page: PageDep, principal: Operator
) -> Page[TransitionOut]:
    return await service.list_transitions(session, edition_id, page)
