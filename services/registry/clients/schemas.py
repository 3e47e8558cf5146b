"""API models of OAuth2 clients and partners' opt-ins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.registry.clients.rules import SCOPES
from services.registry.common import Documented, Input, Name

Scope = Literal["surveys:write", "results:read", "barometer:read", "webhooks:manage"]
assert set(Scope.__args__) == set(SCOPES)  # type: ignore[attr-defined]

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ClientIn(Input):
    name: Name = Field(description="Who the client is (the partner's or the machine's name).")
    scopes: list[Scope] = Field(
        min_length=1, max_length=len(SCOPES), description="Scopes its tokens may carry."
    )


class ClientOut(Documented):
    client_id: str = Field(description="The client's id (its tokens' subject).")
    name: str
    scopes: list[str] = Field(description="Scopes its tokens may carry.")
    created_by: str = Field(description="Subject of the operator who created it.")
    created_at: datetime
    rotated_at: datetime | None = Field(description="When its secret was last replaced.")
    revoked_at: datetime | None = Field(description="When it was revoked; null: active.")


class ClientSecretOut(ClientOut):
    client_secret: str = Field(
        description="The secret, shown this once: only its hash is kept. Store it safely."
    )


class TokenOut(Documented):
    access_token: str = Field(description="A signed JWT to send as `Authorization: Bearer`.")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    scope: str = Field(description="Scopes the token carries, space-separated.")


class OAuthErrorOut(Documented):
    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ] = Field(description="RFC 6749 §5.2 error code.")
    error_description: str = Field(description="What is wrong, for a human.")


class OptInOut(Documented):
    structure_id: uuid.UUID
    client_id: str = Field(description="The partner's client id.")
    client_name: str = Field(description="The partner's name.")
    granted_by: str = Field(description="Subject of the token that gave the opt-in.")
    granted_at: datetime = Field(description="When the opt-in was given (UTC).")
