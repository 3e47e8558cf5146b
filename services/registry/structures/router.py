"""HTTP routes of structures, their sites and certifications, and the CSV import."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.registry.structures import service
from services.registry.structures.schemas import (
    CSV_DOC,
    CertificationIn,
    ImportOut,
    SiteAddIn,
    StructureIn,
    StructureOut,
)
from services.registry.vocabulary import CertificationName, StructureType
from shared.app import SessionDep
from shared.auth import Principal, Role, ensure_acts_for_structure
from shared.auth import require as require_role
from shared.errors import ProblemError
from shared.idempotency import IdempotencyDep
from shared.pagination import Page, PageDep

router = APIRouter(tags=["structures"])
Operator = Annotated[Principal, require_role(Role.OPERATOR)]
OperatorOrStructure = Annotated[Principal, require_role(Role.OPERATOR, Role.STRUCTURE)]
MAX_CSV_BYTES = 5 * 1024 * 1024


class UnsupportedMedia(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class TooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


@router.post("/structures", status_code=201, summary="Create a structure with its sites")
async def create_structure(
    body: StructureIn, session: SessionDep, principal: Operator, idem: IdempotencyDep
) -> StructureOut:
    """The territory gives the population; the same SIREN, or the same type and territory, as
    an existing structure is a 409 whose `existing` points to it."""
    return await idem.once(service.create_structure(session, body), status_code=201)


@router.post(
    "/structures/import",
    status_code=201,
    summary="Create structures from a CSV file",
    max_body_size=MAX_CSV_BYTES,  # a bulk route raises the app-wide body limit
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_DOC}},
        }
    },
)
async def import_structures(
    request: Request,
    session: SessionDep,
    principal: Operator,
    idem: IdempotencyDep,
    partial: Annotated[
        bool, Query(description="Create the good rows even when some are bad.")
    ] = False,
) -> ImportOut:
    """Columns (`,` or `;`, UTF-8): name, type, territory_code (commune INSEE code, or EPCI
    SIREN / département / région code by type), and optionally siren, email, phone, website,
    address, social_network (the principal site's contact points). Every bad row is reported
    with its line and reason in a 422, and nothing is created, unless `partial=true`."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("text/csv", "text/plain"):
        raise UnsupportedMedia(f"send the file as text/csv, not {media or 'no content type'}")
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise TooLarge(f"a CSV import holds at most {MAX_CSV_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedMedia("the CSV file is not UTF-8") from exc
    return await idem.once(service.import_csv(session, text, partial=partial), status_code=201)


@router.get("/structures", summary="List structures by name")
async def list_structures(
    session: SessionDep,
    page: PageDep,
    principal: Operator,
    departement: Annotated[str | None, Query(max_length=3, description="Département code.")] = None,
    region: Annotated[str | None, Query(max_length=3, description="Région code.")] = None,
    type: Annotated[StructureType | None, Query(description="Structure type.")] = None,
    certification: Annotated[
        CertificationName | None, Query(description="Holding this certification.")
    ] = None,
) -> Page[StructureOut]:
    return await service.list_structures(
        session,
        page,
        departement=departement,
        region=region,
        structure_type=type,
        certification=certification,
    )


@router.get("/structures/{structure_id}", summary="Read a structure (the operator, or itself)")
async def get_structure(
    structure_id: uuid.UUID, session: SessionDep, principal: OperatorOrStructure
) -> StructureOut:
    ensure_acts_for_structure(principal, structure_id)
    return await service.read_structure(session, structure_id)


@router.post(
    "/structures/{structure_id}/sites", status_code=201, summary="Add a supplementary site"
)
async def add_site(
    structure_id: uuid.UUID,
    body: SiteAddIn,
    session: SessionDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> StructureOut:
    return await idem.once(service.add_site(session, structure_id, body), status_code=201)


@router.post(
    "/structures/{structure_id}/certifications",
    summary="Record a certification (replaces the one of the same name)",
)
async def set_certification(
    structure_id: uuid.UUID,
    body: CertificationIn,
    session: SessionDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> StructureOut:
    return await idem.once(service.set_certification(session, structure_id, body))
