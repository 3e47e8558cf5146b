"""HTTP: a structure's confidential scorecard."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from services.reporting.scorecards import service
from services.reporting.web import (
    PRIVATE,
    ReaderDep,
    ResultsReaderDep,
    answer,
    etag_of,
    not_modified,
    today,
)
from shared.app import RuntimeDep

router = APIRouter(tags=["scorecards"])


@router.get(
    "/editions/{edition_id}/structures/{structure_id}/scorecard",
    summary="A structure's figures beside its stratum's and the whole sample's",
    description=(
        "Overall, per channel, journey step, criterion and item: the structure's score and "
        "audit count, a 95% confidence interval, the stratum's and the sample's mean and "
        "median, the gaps to them, rank and percentile rank, quartile in the stratum, and the "
        "change since the previous edition (or why it is not comparable). Groups under the "
        f"edition's minimum size are withheld with a reason. Precision: {service.PRECISION}. "
        "Roles: operator; the structure itself (or a partner with scope `results:read` that "
        "the structure opted in to) from the results dispatch date; 404 otherwise (403 for "
        "another role or a partner without the scope). Each read is written to the access log."
    ),
)
async def get_scorecard(
    edition_id: uuid.UUID,
    structure_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    principal: ResultsReaderDep,
    reader: ReaderDep,
) -> Response:
    view = await service.readable_view(
        reader, principal, edition_id, structure_id, "scorecard", today()
    )
    etag = etag_of("scorecard", view.version)
    if not_modified(request, etag):
        return answer(request, None, etag=etag, cache_control=PRIVATE)
    body = await service.cached(
        runtime.session_factory,
        view,
        structure_id,
        "scorecard",
        lambda session: service.scorecard_document(session, view, structure_id),
    )
    if body is None:
        raise service.not_found(edition_id, structure_id)
    return answer(request, body, etag=etag, cache_control=PRIVATE)
