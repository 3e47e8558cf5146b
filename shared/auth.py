"""Bearer-token auth: signed JWTs (EdDSA) verified by every service; roles and scopes per route.

In development, when no key is configured, a key pair is generated once under `.data/jwt/`
and shared by the services started from this checkout and by `barometer token`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized
from shared.settings import ServiceSettings

ALGORITHM = "EdDSA"


class Role(StrEnum):
    OPERATOR = "operator"
    AUDITOR = "auditor"
    STRUCTURE = "structure"
    PARTNER = "partner"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset)


def dev_key_paths(data_dir: Path) -> tuple[Path, Path]:
    folder = data_dir / "jwt"
    return folder / "dev-private.pem", folder / "dev-public.pem"


def ensure_dev_keys(data_dir: Path) -> tuple[Path, Path]:
    """Create the development key pair once; safe when several processes race to do it."""
    private_path, public_path = dev_key_paths(data_dir)
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    suffix = f".{os.getpid()}.{uuid.uuid4().hex}.tmp"
    tmp_private = private_path.with_name(private_path.name + suffix)
    tmp_public = public_path.with_name(public_path.name + suffix)
    tmp_private.write_bytes(private_pem)
    tmp_private.chmod(0o600)
    tmp_public.write_bytes(public_pem)
    # The public key lands first: whoever sees the private key can rely on its pair existing.
    try:
        os.link(tmp_public, public_path)
        os.replace(tmp_private, private_path)
    except FileExistsError:
        tmp_private.unlink()  # another process won the race; keep its pair
    finally:
        tmp_public.unlink(missing_ok=True)
    return private_path, public_path


def key_paths(settings: ServiceSettings) -> tuple[Path | None, Path]:
    if settings.jwt_public_key:
        private = Path(settings.jwt_private_key) if settings.jwt_private_key else None
        return private, Path(settings.jwt_public_key)
    return ensure_dev_keys(settings.data_dir)


def issue_token(
    settings: ServiceSettings,
    *,
    role: Role,
    subject: str,
    scopes: list[str] | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    private_path, _ = key_paths(settings)
    if private_path is None:
        raise RuntimeError("no private key configured to sign tokens (JWT_PRIVATE_KEY)")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "role": role.value,
        "scope": " ".join(scopes or []),
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, private_path.read_bytes(), algorithm=ALGORITHM)


class TokenVerifier:
    """Checks bearer tokens; a token whose signature was checked is kept until its expiry (at
    most `cache_size` of them), so a client polling with one token is not verified again on
    every request."""

    def __init__(self, settings: ServiceSettings, *, cache_size: int = 10_000) -> None:
        _, public_path = key_paths(settings)
        self._key = public_path.read_bytes()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        held = self._verified.get(token)
        if held is not None and held[1] > time.time():
            return held[0]
        principal, expires = self._check(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid bearer token: {exc}") from exc
        try:
            role = Role(claims.get("role", ""))
        except ValueError as exc:
            raise Unauthorized(f"token carries an unknown role: {claims.get('role')!r}") from exc
        principal = Principal(
            subject=str(claims["sub"]),
            role=role,
            scopes=frozenset(str(claims.get("scope", "")).split()),
        )
        return principal, float(claims["exp"])


def ensure_acts_for_structure(principal: Principal, structure_id: uuid.UUID) -> None:
    """Results are confidential: the operator sees every structure, a structure only itself."""
    if principal.role is Role.OPERATOR:
        return
    if principal.role is Role.STRUCTURE and principal.subject == str(structure_id):
        return
    raise Forbidden(f"this token may not act for structure {structure_id}")


_bearer = HTTPBearer(auto_error=False)


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    checked = getattr(request.state, "principal", None)  # verified before the body was read
    if isinstance(checked, Principal):
        return checked
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


def require(*roles: Role, scope: str | None = None) -> Any:
    """Dependency: the caller holds one of `roles` (or, for partners, the given scope)."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role in roles:
            return principal
        if scope is not None and scope in principal.scopes:
            return principal
        wanted = ", ".join(r.value for r in roles) + (f" or scope {scope}" if scope else "")
        raise Forbidden(f"this operation needs the role {wanted}; the token has {principal.role}")

    return Depends(check)
