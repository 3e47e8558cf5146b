"""HTTP routes of the citizen-voice intake for partners (scope `surveys:write`, for the
structures that opted in to them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.fieldwork.voice import service
from services.fieldwork.voice.idempotency import idempotent
from services.fieldwork.voice.schemas import BulkOut, RowError, VoiceAccepted, VoiceIn, errors_of
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role, require
from shared.contracts.fieldwork import VoiceKind
from shared.errors import ProblemError, Unprocessable

router = APIRouter(tags=["citizen voice"])
Kind = Annotated[
    VoiceKind, Path(description="citizen_survey, agent_survey, kiosk_feedback or consultation")
]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
SURVEYS_WRITE = "surveys:write"
# A partner holding the scope (or the operator, e.g. to load a file by hand).
Caller = Annotated[Principal, require(Role.OPERATOR, scope=SURVEYS_WRITE)]


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


# The routes read their bodies themselves (idempotency hashes the raw bytes); OpenAPI still
# says what they take.
ONE_BODY = {
    "required": True,
    "content": {"application/json": {"schema": VoiceIn.model_json_schema()}},
}
TEXT = {"schema": {"type": "string"}}
BULK_BODY = {"required": True, "content": {"application/x-ndjson": TEXT, "text/csv": TEXT}}


@router.post(
    "/voice/{kind}",
    response_model=VoiceAccepted,
    status_code=201,
    responses={422: {"description": "the answer is refused (problem+json)"}},
    openapi_extra={"requestBody": ONE_BODY},
)
async def receive_one(
    kind: Kind, request: Request, caller: Caller, session: SessionDep, runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    principal = caller
    body = await request.body()

    async def run() -> tuple[int, dict[str, Any]]:
        try:
            voice = VoiceIn.model_validate_json(body)
        except ValidationError as exc:
            raise Unprocessable("the answer is invalid", errors=errors_of(exc.errors())) from exc
        accepted, rejected = await service.ingest(
            session,
            runtime.outbox,
            kind,
            principal.subject,
            [(1, voice, [])],
            opted_in_only=principal.role is Role.PARTNER,
        )
        if rejected:
            raise Unprocessable("the answer is refused", errors=rejected[0][1])
        return 201, VoiceAccepted(voice_id=accepted[0]).model_dump(mode="json")

    status, out = await idempotent(
        session, partner=principal.subject, key=idempotency_key, request=kind.encode() + body,
        run=run,
    )  # fmt: skip
    return JSONResponse(out, status_code=status)


# A bulk file may be larger than the service's default body limit (10,000 rows of a few
# hundred bytes each).
BULK_MAX_BYTES = 10 * 1024 * 1024


@router.post(
    "/voice/{kind}/bulk",
    response_model=BulkOut,
    max_body_size=BULK_MAX_BYTES,
    openapi_extra={"requestBody": BULK_BODY},
)
async def receive_bulk(
    kind: Kind, request: Request, caller: Caller, session: SessionDep, runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:  # fmt: skip
    """NDJSON (`application/x-ndjson`) or CSV (`text/csv`, a header row of `VoiceIn`'s field
    names): every good row is accepted, every bad one listed with its errors."""
    principal = caller
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in {"application/x-ndjson", "application/ndjson", "text/csv"}:
        raise UnsupportedMediaType("send application/x-ndjson or text/csv")
    body = await request.body()

    async def run() -> tuple[int, dict[str, Any]]:
        rows = service.parse_csv(body) if media == "text/csv" else service.parse_ndjson(body)
        accepted, rejected = await service.ingest(
            session,
            runtime.outbox,
            kind,
            principal.subject,
            rows,
            opted_in_only=principal.role is Role.PARTNER,
        )
        out = BulkOut(
            received=len(rows),
            accepted=len(accepted),
            voice_ids=accepted,
            rejected=[RowError(row=n, errors=e) for n, e in rejected],
        )
        return 200, out.model_dump(mode="json")

    status, out = await idempotent(
        session, partner=principal.subject, key=idempotency_key,
        request=kind.encode() + media.encode() + body, run=run,
    )  # fmt: skip
    return JSONResponse(out, status_code=status)
