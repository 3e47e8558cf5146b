"""Pure rules of OAuth2 clients: scopes, credentials, the token request (RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

# What a partner's token may carry, and what each scope opens (docs/partners.md).
SCOPES: dict[str, str] = {
    "surveys:write": "post citizen-voice answers (fieldwork) for structures that opted in",
    "results:read": "read the scorecards and reports (reporting) of structures that opted in",
    "barometer:read": "read the national barometer before it is published",
    "webhooks:manage": "subscribe to events by webhook and manage those deliveries (registry)",
}

CLIENT_ID_PREFIX = "cl_"


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `{"error": code, "error_description": ...}`."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str
    scopes: frozenset[str] | None  # None: every scope the client holds
    basic: bool  # the client authenticated with HTTP Basic


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", 401) from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", 401)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def parse_token_request(form: Mapping[str, list[str]], authorization: str) -> TokenRequest:
    """The client-credentials request from its form fields (each listed with all its values) and
    its Authorization header; an OAuthError says what is wrong."""
    for name, values in form.items():
        if len(values) > 1:
            raise OAuthError("invalid_request", f"parameter {name} is repeated")
    fields = {name: values[0] for name, values in form.items()}
    grant = fields.get("grant_type")
    if not grant:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant != "client_credentials":
        raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")
    basic = _basic(authorization) if authorization else None
    in_form = "client_id" in fields or "client_secret" in fields
    if basic is not None and in_form:
        raise OAuthError(
            "invalid_request", "use HTTP Basic or form fields for the client, not both"
        )
    if basic is not None:
        client_id, secret = basic
    else:
        client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
    if not client_id or not secret:
        raise OAuthError("invalid_client", "client authentication is required", 401)
    scope = fields.get("scope")
    scopes = None
    if scope is not None:
        scopes = frozenset(scope.split())
        if not scopes:
            raise OAuthError("invalid_scope", "scope is empty")
    return TokenRequest(client_id, secret, scopes, basic is not None)


def granted_scopes(requested: frozenset[str] | None, held: frozenset[str]) -> frozenset[str]:
    """What the token carries: what was asked for, if the client holds all of it."""
    if requested is None:
        return held
    missing = requested - held
    if missing:
        raise OAuthError("invalid_scope", f"the client does not hold {sorted(missing)}")
    return requested
