"""HTTP helpers of reporting's routers: anonymous-or-bearer callers, conditional answers
(ETag, Cache-Control, 304) and the calendar day results are released on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.reporting.access.rules import RESULTS_SCOPE
from services.reporting.readmodel.reader import Reader
from shared.auth import Principal, Role, current_principal, require

PRIVATE = "private, no-cache"  # a structure's results: revalidate each time, never shared
PUBLIC = "public, max-age=60"  # the published barometer and laureates
PARIS = ZoneInfo("Europe/Paris")

_bearer = HTTPBearer(auto_error=False)


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller, or None for an anonymous one (only public routes take this dependency)."""
    if credentials is None:
        return None
    return await current_principal(request, credentials)


def reader_of(request: Request) -> Reader:
    reader: Reader = request.app.state.reader
    return reader


CallerDep = Annotated[Principal, Depends(current_principal)]
# A structure's results: the operator, a structure (its own, checked by the route), or a partner
# with the results scope (for structures that opted in to it); anyone else 403.
ResultsReaderDep = Annotated[Principal, require(Role.OPERATOR, Role.STRUCTURE, scope=RESULTS_SCOPE)]
OperatorDep = Annotated[Principal, require(Role.OPERATOR)]
ReaderDep = Annotated[Reader, Depends(reader_of)]

MaybeCallerDep = Annotated[Principal | None, Depends(optional_principal)]


def today() -> date:
    """Dispatch dates are French calendar days."""
    return datetime.now(PARIS).date()


def etag_of(kind: str, version: int) -> str:
    return f'"{kind}-{version}"'


def not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    return wanted.strip() == "*" or etag in (tag.strip() for tag in wanted.split(","))


def answer(
    request: Request,
    body: bytes | None,
    *,
    etag: str,
    cache_control: str,
    media_type: str = "application/json",
) -> Response:
    """200 with the body, or 304 when the client holds this version already."""
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if cache_control != PUBLIC:
        headers["Vary"] = "Authorization"
    if body is None or not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)
