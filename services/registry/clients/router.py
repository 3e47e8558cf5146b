"""HTTP routes of OAuth2 clients, the token endpoint, the JWKS, and partners' opt-ins."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import JSONResponse

from services.registry.clients import service
from services.registry.clients.rules import SCOPES, OAuthError, parse_token_request
from services.registry.clients.schemas import (
    ClientIn,
    ClientOut,
    ClientSecretOut,
    OAuthErrorOut,
    OptInOut,
)
from services.registry.settings import RegistrySettings
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role, SigningKey, SigningKeyRing, jwks_document, require
from shared.idempotency import IdempotencyDep
from shared.pagination import Page, PageDep

router = APIRouter()
Operator = Annotated[Principal, require(Role.OPERATOR)]
OperatorOrStructure = Annotated[Principal, require(Role.OPERATOR, Role.STRUCTURE)]
ClientIdPath = Annotated[str, Path(min_length=1, max_length=100, description="The client id.")]

TOKEN_PATH = "/oauth/token"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# --- clients ----------------------------------------------------------------------------------


@router.post(
    "/clients",
    status_code=201,
    tags=["clients"],
    summary="Create an OAuth2 client (its secret is shown once)",
    description="Operator only. Scopes: "
    + "; ".join(f"`{name}`: {what}" for name, what in SCOPES.items())
    + ".",
)
async def create_client(
    body: ClientIn, session: SessionDep, principal: Operator, response: Response
) -> ClientSecretOut:
    response.headers.update(_NO_STORE)
    return await service.create_client(session, body, principal)


@router.get("/clients", tags=["clients"], summary="List OAuth2 clients by id (operator)")
async def list_clients(session: SessionDep, page: PageDep, _: Operator) -> Page[ClientOut]:
    return await service.list_clients(session, page)


@router.get("/clients/{client_id}", tags=["clients"], summary="Read a client (operator)")
async def get_client(client_id: ClientIdPath, session: SessionDep, _: Operator) -> ClientOut:
    return await service.get_client(session, client_id)


@router.post(
    "/clients/{client_id}/rotate",
    tags=["clients"],
    summary="Replace a client's secret (the new one is shown once; the old one stops at once)",
)
async def rotate_secret(
    client_id: ClientIdPath, session: SessionDep, principal: Operator, response: Response
) -> ClientSecretOut:
    response.headers.update(_NO_STORE)
    return await service.rotate_secret(session, client_id, principal)


@router.post(
    "/clients/{client_id}/revoke",
    tags=["clients"],
    summary="Revoke a client: no token is issued to it any more (idempotent)",
)
async def revoke_client(
    client_id: ClientIdPath, session: SessionDep, principal: Operator, idem: IdempotencyDep
) -> ClientOut:
    return await idem.once(service.revoke_client(session, client_id, principal))


# --- token ------------------------------------------------------------------------------------


def _oauth_error(error: OAuthError) -> JSONResponse:
    headers = dict(_NO_STORE)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="barometre"'
    return JSONResponse(
        {"error": error.code, "error_description": error.description},
        status_code=error.status,
        headers=headers,
    )


@router.post(
    TOKEN_PATH,
    tags=["oauth"],
    summary="OAuth2 client-credentials token (RFC 6749 §4.4)",
    description=(
        "Form-encoded (`application/x-www-form-urlencoded`): `grant_type=client_credentials`, "
        "optional `scope` (space-separated, a subset of the client's; all of them when "
        "omitted). The client authenticates with HTTP Basic (`client_id:client_secret`) or "
        "with the form fields `client_id` and `client_secret`. No bearer token. Errors follow "
        'RFC 6749 §5.2, **not** problem+json: `{"error": "invalid_client", '
        '"error_description": ...}` (`invalid_request`, `unsupported_grant_type`, '
        "`invalid_scope`: 400; `invalid_client`: 401 with `WWW-Authenticate: Basic`)."
    ),
    responses={
        400: {"model": OAuthErrorOut, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthErrorOut, "description": "Client authentication failed"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "scope": {"type": "string"},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request, session: SessionDep, runtime: RuntimeDep) -> Any:
    settings = runtime.settings
    assert isinstance(settings, RegistrySettings)
    try:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise OAuthError(
                "invalid_request", "the body must be application/x-www-form-urlencoded"
            )
        form = await request.form()
        fields = {name: [str(v) for v in form.getlist(name)] for name in form}
        parsed = parse_token_request(fields, request.headers.get("authorization", ""))
        answer = await service.token_for(session, parsed, settings, _signing_key(request))
    except OAuthError as error:
        return _oauth_error(error)
    return JSONResponse(answer.model_dump(), headers=_NO_STORE)


# --- opt-ins ----------------------------------------------------------------------------------

OPT_IN = "/structures/{structure_id}/partners/{client_id}"


@router.get(
    "/structures/{structure_id}/partners",
    tags=["partners"],
    summary="Partners the structure opted in to (the structure itself, or the operator)",
)
async def list_opt_ins(
    structure_id: uuid.UUID, session: SessionDep, page: PageDep, principal: OperatorOrStructure
) -> Page[OptInOut]:
    return await service.opt_ins(session, principal, structure_id, page)


@router.put(
    OPT_IN,
    tags=["partners"],
    summary="Let a partner reach the structure's data (idempotent)",
    description="The structure itself, or the operator. Announced as "
    "`registry.partner_opt_in.changed.v1`; recorded in the access log.",
)
async def give_opt_in(
    structure_id: uuid.UUID,
    client_id: ClientIdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: OperatorOrStructure,
) -> OptInOut:
    return await service.give_opt_in(session, runtime.outbox, principal, structure_id, client_id)


@router.delete(
    OPT_IN,
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["partners"],
    summary="Withdraw a partner's opt-in",
    description="The structure itself, or the operator. Announced and recorded like the opt-in.",
)
async def withdraw_opt_in(
    structure_id: uuid.UUID,
    client_id: ClientIdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: OperatorOrStructure,
) -> Response:
    await service.withdraw_opt_in(session, runtime.outbox, principal, structure_id, client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- keys (no prefix, public) -----------------------------------------------------------------

well_known = APIRouter(tags=["oauth"])


@well_known.get(
    "/.well-known/jwks.json",
    summary="The public keys tokens are signed with (RFC 7517), for the other services",
)
async def jwks(request: Request) -> JSONResponse:
    ring: SigningKeyRing = request.app.state.signing_ring
    return JSONResponse(jwks_document(ring.current()), headers={"Cache-Control": "no-cache"})


def _signing_key(request: Request) -> SigningKey:
    ring: SigningKeyRing = request.app.state.signing_ring
    keys = ring.current()
    if not keys:
        raise OAuthError("server_error", "no signing key is configured", 500)
    return keys[0]


def install_keys(app: Any, settings: RegistrySettings) -> None:
    """The signing keys (the first signs; their files read again when they change), published."""
    ring = app.state.signing_ring = SigningKeyRing(settings)
    if not ring.current():
        raise RuntimeError("the registry needs a private key to sign tokens (JWT_PRIVATE_KEY)")
    app.include_router(well_known)
