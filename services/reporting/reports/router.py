"""HTTP: a structure's personalised report as JSON, a self-contained HTML page, and PDF."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from fastapi import APIRouter, Request, Response

from services.reporting.reports import pdf, service
from services.reporting.reports.rendering import render_report
from services.reporting.scorecards.service import cached, not_found, readable_view
from services.reporting.web import (
    PRIVATE,
    ResultsReaderDep,
    answer,
    etag_of,
    not_modified,
    reader_of,
    today,
)
from shared.app import runtime_of
from shared.auth import Role

router = APIRouter(tags=["reports"])

PATH = "/editions/{edition_id}/structures/{structure_id}/report"


async def _report(
    request: Request,
    principal: ResultsReaderDep,
    edition_id: uuid.UUID,
    structure_id: uuid.UUID,
    kind: str,
) -> tuple[str, bytes | None]:
    view = await readable_view(
        reader_of(request), principal, edition_id, structure_id, "report", today()
    )
    etag = etag_of(kind, view.version)
    if not_modified(request, etag):
        return etag, None
    operator = principal.role is Role.OPERATOR
    body = await cached(
        runtime_of(request).session_factory, view, structure_id, "report",
        lambda session: service.report_document(session, view, structure_id, operator=operator),
    )  # fmt: skip
    if body is None:
        raise not_found(edition_id, structure_id)
    return etag, body


@router.get(PATH, summary="Personalised report (JSON)")
async def get_report(
    edition_id: uuid.UUID, structure_id: uuid.UUID, request: Request,
    principal: ResultsReaderDep,
) -> Response:  # fmt: skip
    """Structures on the personalised offer, from the results dispatch date; the operator."""
    etag, body = await _report(request, principal, edition_id, structure_id, "report")
    return answer(request, body, etag=etag, cache_control=PRIVATE)


@router.get(PATH + ".html", summary="Personalised report: a self-contained page with charts")
async def get_report_html(
    edition_id: uuid.UUID, structure_id: uuid.UUID, request: Request,
    principal: ResultsReaderDep,
) -> Response:  # fmt: skip
    etag, body = await _report(request, principal, edition_id, structure_id, "report-html")
    page = None if body is None else render_report(json.loads(body)).encode()
    return answer(
        request, page, etag=etag, cache_control=PRIVATE, media_type="text/html; charset=utf-8"
    )


@router.get(PATH + ".pdf", summary="Personalised report as PDF")
async def get_report_pdf(
    edition_id: uuid.UUID, structure_id: uuid.UUID, request: Request,
    principal: ResultsReaderDep,
) -> Response:  # fmt: skip
    etag, body = await _report(request, principal, edition_id, structure_id, "report-pdf")
    document = None
    if body is not None:
        chromium = Path(getattr(runtime_of(request).settings, "chromium_path", "/usr/bin/chromium"))
        document = await pdf.html_to_pdf(render_report(json.loads(body)), chromium)
    return answer(request, document, etag=etag, cache_control=PRIVATE, media_type="application/pdf")
