"""HTTP: exports of every structure's figures (the operator only; each export is written to
the access log); columns documented in docs/exports.md."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from services.reporting.exports import service
from services.reporting.web import OperatorDep
from shared.app import SessionDep, runtime_of

router = APIRouter(tags=["exports"])


@router.get("/editions/{edition_id}/exports/scorecards.csv", summary="Every figure, CSV (streamed)")
async def export_csv(
    edition_id: uuid.UUID, request: Request, session: SessionDep, principal: OperatorDep
) -> StreamingResponse:
    await service.ensure_edition(session, edition_id)
    await service.log_export(session, principal, edition_id, "csv")
    return StreamingResponse(
        service.csv_lines(runtime_of(request).session_factory, edition_id),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="scorecards-{edition_id}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/editions/{edition_id}/exports/scorecards.xlsx", summary="Every figure, XLSX")
async def export_xlsx(
    edition_id: uuid.UUID, session: SessionDep, principal: OperatorDep
) -> Response:
    await service.ensure_edition(session, edition_id)
    await service.log_export(session, principal, edition_id, "xlsx")
    return Response(
        await service.xlsx(session, edition_id),
        media_type=service.XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="scorecards-{edition_id}.xlsx"',
            "Cache-Control": "private, no-store",
        },
    )
