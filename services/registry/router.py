"""HTTP routes of the registry: editions, structures and registrations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.registry import service
from services.registry.schemas import (
    EditionIn,
    EditionOut,
    RefusalIn,
    RegistrationIn,
    RegistrationOut,
    RegistrationStatus,
    StructureIn,
    StructureOut,
)
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role, ensure_acts_for_structure
from shared.auth import require as require_role

router = APIRouter()

ANY_ROLE = require_role(*Role)
OPERATOR = require_role(Role.OPERATOR)
OPERATOR_OR_STRUCTURE = require_role(Role.OPERATOR, Role.STRUCTURE)
Caller = Annotated[Principal, OPERATOR_OR_STRUCTURE]


# --- editions -------------------------------------------------------------------------------


@router.post("/editions", status_code=201, tags=["editions"], dependencies=[OPERATOR])
async def create_edition(body: EditionIn, session: SessionDep, runtime: RuntimeDep) -> EditionOut:
    return await service.create_edition(session, runtime.outbox, body)


@router.get("/editions", tags=["editions"], dependencies=[OPERATOR])
async def list_editions(
    session: SessionDep, year: Annotated[int | None, Query(ge=2012, le=2100)] = None
) -> list[EditionOut]:
    return await service.list_editions(session, year)


@router.get("/editions/{edition_id}", tags=["editions"], dependencies=[OPERATOR])
async def get_edition(edition_id: uuid.UUID, session: SessionDep) -> EditionOut:
    return await service.read_edition(session, edition_id)


# --- structures -----------------------------------------------------------------------------


@router.post("/structures", status_code=201, tags=["structures"], dependencies=[OPERATOR])
async def create_structure(body: StructureIn, session: SessionDep) -> StructureOut:
    return await service.create_structure(session, body)


@router.get("/structures/{structure_id}", tags=["structures"])
async def get_structure(
    structure_id: uuid.UUID, session: SessionDep, principal: Caller
) -> StructureOut:
    ensure_acts_for_structure(principal, structure_id)
    return await service.read_structure(session, structure_id)


# --- registrations --------------------------------------------------------------------------


@router.post("/editions/{edition_id}/registrations", status_code=201, tags=["registrations"])
async def register(
    edition_id: uuid.UUID, body: RegistrationIn, session: SessionDep, principal: Caller
) -> RegistrationOut:
    return await service.register(session, principal, edition_id, body)


@router.get("/editions/{edition_id}/registrations", tags=["registrations"], dependencies=[OPERATOR])
async def list_registrations(
    edition_id: uuid.UUID, session: SessionDep, status: RegistrationStatus | None = None
) -> list[RegistrationOut]:
    return await service.list_registrations(session, edition_id, status)


@router.get("/editions/{edition_id}/registrations/{registration_id}", tags=["registrations"])
async def get_registration(
    edition_id: uuid.UUID, registration_id: uuid.UUID, session: SessionDep, principal: Caller
) -> RegistrationOut:
    return await service.read_registration(session, principal, edition_id, registration_id)


@router.post(
    "/editions/{edition_id}/registrations/{registration_id}/accept",
    tags=["registrations"],
    dependencies=[OPERATOR],
)
async def accept_registration(
    edition_id: uuid.UUID, registration_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep
) -> RegistrationOut:
    return await service.accept(session, runtime.outbox, edition_id, registration_id)


@router.post(
    "/editions/{edition_id}/registrations/{registration_id}/refuse",
    tags=["registrations"],
    dependencies=[OPERATOR],
)
async def refuse_registration(
    edition_id: uuid.UUID, registration_id: uuid.UUID, body: RefusalIn, session: SessionDep
) -> RegistrationOut:
    return await service.refuse(session, edition_id, registration_id, body.reason)
