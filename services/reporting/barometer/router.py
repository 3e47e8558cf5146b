"""HTTP: the anonymous national barometer (public once the edition is published)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from services.reporting.access.rules import barometer_is_public, may_read_barometer
from services.reporting.barometer import service
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
from shared.app import RuntimeDep
from shared.errors import NotFound

router = APIRouter(tags=["barometer"])


@router.get(
    "/editions/{edition_id}/barometer",
    summary="The anonymous national barometer of an edition",
    description=(
        "Overall, per channel, journey step and criterion; per stratum, structure type and "
        "certified vs not: structures, audits, mean, median, quartiles, p10/p90 and the "
        "share performing; the evolution over published earlier editions. Groups under the "
        "edition's minimum size are withheld. Public (no token) once the edition is "
        "published; before that, the operator only (404 for anyone else)."
    ),
)
async def get_barometer(
    edition_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    principal: MaybeCallerDep,
    reader: ReaderDep,
) -> Response:
    view = await reader.edition_view(edition_id, service.NIL, "barometer")
    if view is None or not may_read_barometer(principal, edition_access(view)):
        raise NotFound(f"no published barometer for edition {edition_id}")
    cache = PUBLIC if barometer_is_public(edition_access(view)) else PRIVATE
    etag = etag_of("barometer", view.version)
    if not_modified(request, etag):
        return answer(request, None, etag=etag, cache_control=cache)
    body = await cached(
        runtime.session_factory, view, service.NIL, "barometer",
        lambda session: service.barometer_document(session, view),
    )  # fmt: skip
    return answer(request, body, etag=etag, cache_control=cache)
