"""HTTP: laureates of an edition (embargoed until published) and their publication."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from services.reporting.access.rules import may_read_laureates
from services.reporting.barometer.service import NIL
from services.reporting.laureates import service
from services.reporting.readmodel.service import edition_view
from services.reporting.scorecards.service import cached, edition_access
from services.reporting.web import (
    PRIVATE,
    PUBLIC,
    MaybeCallerDep,
    ReaderDep,
    answer,
    etag_of,
    not_modified,
)
from shared.app import RuntimeDep, SessionDep
from shared.auth import Role, require
from shared.errors import NotFound

router = APIRouter(tags=["laureates"])


class PublicationOut(BaseModel):
    edition_id: uuid.UUID
    laureates_published_at: datetime


@router.get(
    "/editions/{edition_id}/laureates",
    summary="Laureates per trophy category and mentions, each with the rule that decided it",
    description="Operator only until the operator publishes them; then public (no token).",
)
async def get_laureates(
    edition_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    principal: MaybeCallerDep,
    reader: ReaderDep,
) -> Response:
    view = await reader.edition_view(edition_id, NIL, "laureates")
    if view is None or not may_read_laureates(principal, edition_access(view)):
        raise NotFound(f"no published laureates for edition {edition_id}")
    cache = PUBLIC if view.laureates_published else PRIVATE
    etag = etag_of("laureates", view.version)
    if not_modified(request, etag):
        return answer(request, None, etag=etag, cache_control=cache)
    body = await cached(
        runtime.session_factory,
        view,
        NIL,
        "laureates",
        lambda session: service.laureates_document(session, view),
    )
    return answer(request, body, etag=etag, cache_control=cache)


@router.post(
    "/editions/{edition_id}/laureates/publish",
    response_model=PublicationOut,
    summary="Confirm and publish the laureates the rules propose (operator)",
    dependencies=[require(Role.OPERATOR)],
)
async def publish_laureates(edition_id: uuid.UUID, session: SessionDep) -> PublicationOut:
    if await edition_view(session, edition_id, NIL, "laureates") is None:
        raise NotFound(f"edition {edition_id} is unknown to reporting")
    at = await service.publish(session, edition_id)
    return PublicationOut(edition_id=edition_id, laureates_published_at=at)
