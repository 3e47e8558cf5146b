"""Bearer-token auth: short-lived signed JWTs (EdDSA, a `kid` header) verified by every service;
roles and scopes per route.

Keys:
- the registry signs with `JWT_PRIVATE_KEY` (PEM files or directories of them, comma-separated;
  the first key found signs, all are published at `/.well-known/jwks.json`);
- the other services verify with `JWT_JWKS_URL` (fetched over HTTP, cached `JWT_JWKS_CACHE_SECONDS`,
  fetched again at once, at most every `JWT_JWKS_REFETCH_SECONDS`, when a token names a key not
  in the cache: a new key is accepted without restart, a withdrawn one is refused once the cache
  is renewed) and/or `JWT_PUBLIC_KEY` (PEM files given directly);
- in development, when nothing is configured, a key pair is generated once under `.data/jwt/`
  and shared by the services started from this checkout, the tests and `barometer token`.

A token must carry `iss`, `aud`, `sub`, `iat`, `exp` and a `role`; one whose `exp - iat`
exceeds `JWT_MAX_LIFETIME_SECONDS` is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.algorithms import OKPAlgorithm

from shared.errors import Forbidden, NotFound, Unauthorized
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"


class Role(StrEnum):
    OPERATOR = "operator"
    AUDITOR = "auditor"
    STRUCTURE = "structure"
    PARTNER = "partner"


@dataclass(frozen=True)
class Principal:
    """The caller: `subject` is the auditor id, the structure id, the partner's client id or
    the operator's name, depending on `role`."""

    subject: str
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset)


# --- keys -------------------------------------------------------------------------------------


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


def public_jwk(key: Ed25519PublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(key))
    return jwk


def key_id(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of the public key: the same key has the same `kid` everywhere."""
    jwk = public_jwk(key)
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":")
    )
    return jwt.utils.base64url_encode(hashlib.sha256(canonical.encode()).digest()).decode()


def _pem_files(entries: str) -> list[Path]:
    """Comma-separated PEM files or directories (every `*.pem` inside, newest name first)."""
    found: list[Path] = []
    for entry in (e.strip() for e in entries.split(",")):
        if not entry:
            continue
        path = Path(entry)
        if path.is_dir():
            found.extend(sorted(path.glob("*.pem"), reverse=True))
        else:
            found.append(path)
    return found


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path}: not an Ed25519 private key")
    return key


def _load_public(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise RuntimeError(f"{path}: not an Ed25519 public key")
    return key


def _uses_dev_keys(settings: ServiceSettings) -> bool:
    return not (settings.jwt_private_key or settings.jwt_public_key or settings.jwt_jwks_url)


def signing_keys(settings: ServiceSettings) -> list[SigningKey]:
    """The keys this process signs with, the first one signing (none: verify only)."""
    if _uses_dev_keys(settings):
        private_path, _ = ensure_dev_keys(settings.data_dir)
        paths = [private_path]
    else:
        paths = _pem_files(settings.jwt_private_key)
    keys = []
    for path in paths:
        private = _load_private(path)
        keys.append(SigningKey(kid=key_id(private.public_key()), private=private))
    return keys


class SigningKeyRing:
    """The signing keys, read again when their files change (a key added to or removed from a
    JWT_PRIVATE_KEY directory), checked at most every `JWT_KEYS_RELOAD_SECONDS`: the registry
    rotates keys without a restart."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._every = settings.jwt_keys_reload_seconds
        self._checked = float("-inf")
        self._stamp: tuple[tuple[str, int], ...] | None = None
        self._keys: list[SigningKey] = []

    def _files_stamp(self) -> tuple[tuple[str, int], ...]:
        if _uses_dev_keys(self._settings):
            return ()
        stamp = []
        for path in _pem_files(self._settings.jwt_private_key):
            try:
                stamp.append((str(path), path.stat().st_mtime_ns))
            except FileNotFoundError:
                stamp.append((str(path), -1))
        return tuple(stamp)

    def current(self) -> list[SigningKey]:
        now = time.monotonic()
        if now - self._checked >= self._every:
            self._checked = now
            stamp = self._files_stamp()
            if stamp != self._stamp:
                self._keys = signing_keys(self._settings)
                self._stamp = stamp
        return self._keys


def configured_public_keys(settings: ServiceSettings) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for path in _pem_files(settings.jwt_public_key):
        public = _load_public(path)
        keys[key_id(public)] = public
    return keys


def issue_token(
    settings: ServiceSettings,
    *,
    role: Role,
    subject: str,
    scopes: Iterable[str] | None = None,
    ttl: timedelta = timedelta(hours=12),
    key: SigningKey | None = None,
) -> str:
    """A signed token (the registry's token endpoint, the dev CLI and the tests)."""
    if key is None:
        keys = signing_keys(settings)
        if not keys:
            raise RuntimeError("no private key configured to sign tokens (JWT_PRIVATE_KEY)")
        key = keys[0]
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "role": role.value,
        "scope": " ".join(scopes or []),
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})


def jwks_document(keys: Iterable[SigningKey]) -> dict[str, Any]:
    """The public halves of the signing keys, as RFC 7517 JWKS."""
    return {
        "keys": [
            {**public_jwk(k.public), "kid": k.kid, "use": "sig", "alg": ALGORITHM} for k in keys
        ]
    }


# --- verification -----------------------------------------------------------------------------


class InvalidToken(Unauthorized):
    """A token was given but is not acceptable (RFC 6750 `invalid_token`)."""

    challenge = 'Bearer realm="barometre", error="invalid_token"'


class KeySet:
    """The keys tokens may be signed with: local ones, plus the JWKS fetched from the registry
    (renewed every `cache_seconds`, or at once, at most every `refetch_seconds`, when a token
    names an unknown key)."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.ring = SigningKeyRing(settings)
        self._configured = configured_public_keys(settings)
        self._url = settings.jwt_jwks_url
        self._cache_seconds = settings.jwt_jwks_cache_seconds
        self._refetch_seconds = settings.jwt_jwks_refetch_seconds
        self.http = http
        self._remote: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")  # last successful fetch
        self._tried_at = float("-inf")  # last attempt
        self._lock = asyncio.Lock()

    def known(self, kid: str) -> Ed25519PublicKey | None:
        for key in self.ring.current():
            if key.kid == kid:
                return key.public
        return self._configured.get(kid) or self._remote.get(kid)

    async def get(self, kid: str) -> Ed25519PublicKey | None:
        if self._url:
            now = time.monotonic()
            stale = now - self._fetched_at > self._cache_seconds
            unknown = self.known(kid) is None
            if (stale or unknown) and now - self._tried_at >= self._refetch_seconds:
                await self._fetch()
        return self.known(kid)

    async def _fetch(self) -> None:
        async with self._lock:
            if time.monotonic() - self._tried_at < self._refetch_seconds:
                return  # another request fetched meanwhile
            self._tried_at = time.monotonic()
            try:
                client = self.http or httpx.AsyncClient(timeout=5)
                try:
                    response = await client.get(self._url)
                finally:
                    if self.http is None:
                        await client.aclose()
                response.raise_for_status()
                keys: dict[str, Ed25519PublicKey] = {}
                for jwk in response.json().get("keys", []):
                    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                        public = OKPAlgorithm.from_jwk(json.dumps(jwk))
                        if isinstance(public, Ed25519PublicKey):
                            keys[str(jwk.get("kid") or key_id(public))] = public
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                # Keep the keys we have: a registry restart must not log every caller out.
                log.warning("JWKS fetch failed", extra={"url": self._url, "error": str(exc)})
                return
            self._remote = keys
            self._fetched_at = time.monotonic()


class TokenVerifier:
    """Checks bearer tokens; a token whose signature was checked is kept until its expiry (at
    most `cache_size` of them) as long as its key is still known, so a client polling with one
    token is not verified again on every request."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        cache_size: int = 10_000,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.keys = KeySet(settings, http=http)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._max_lifetime = settings.jwt_max_lifetime_seconds
        self._cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float, str]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        held = self._verified.get(token)
        # A key withdrawn from the JWKS (seen when the cache is renewed) ends its tokens too.
        if held is not None and held[1] > time.time() and await self.keys.get(held[2]):
            return held[0]
        principal, expires, kid = await self._check(token)
        self._verified[token] = (principal, expires, kid)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    async def _check(self, token: str) -> tuple[Principal, float, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid bearer token: {exc}") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("invalid bearer token: no key id (kid) in its header")
        key = await self.keys.get(kid)
        if key is None:
            raise InvalidToken(f"invalid bearer token: unknown signing key {kid!r}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid bearer token: {exc}") from exc
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self._max_lifetime:
            raise InvalidToken(
                f"invalid bearer token: valid for {lifetime:.0f} s, more than the "
                f"{self._max_lifetime} s this service accepts"
            )
        try:
            role = Role(claims.get("role", ""))
        except ValueError as exc:
            raise InvalidToken(f"token carries an unknown role: {claims.get('role')!r}") from exc
        principal = Principal(
            subject=str(claims["sub"]),
            role=role,
            scopes=frozenset(str(claims.get("scope", "")).split()),
        )
        return principal, float(claims["exp"]), kid


# --- authorisation ----------------------------------------------------------------------------


def ensure_acts_for_structure(principal: Principal, structure_id: uuid.UUID) -> None:
    """A structure's data: the operator sees every structure, a structure only itself. Another
    structure's object is a 404, so its existence does not leak."""
    if principal.role is Role.OPERATOR:
        return
    if principal.role is Role.STRUCTURE and principal.subject == str(structure_id):
        return
    raise NotFound(f"no structure {structure_id} for this caller")


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    checked = getattr(request.state, "principal", None)  # verified before the body was read
    if isinstance(checked, Principal):
        return checked
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(credentials.credentials)


def require(*roles: Role, scope: str | None = None) -> Any:
    """Dependency: the caller holds one of `roles`, or is a partner holding `scope` (the route
    then checks the partner's opt-ins on the object it reaches). A caller with the wrong role
    or without the scope gets a 403."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role in roles:
            return principal
        if scope is not None and principal.role is Role.PARTNER and scope in principal.scopes:
            return principal
        wanted = ", ".join(r.value for r in roles)
        if scope:
            wanted += f" or a partner with scope {scope}"
        raise Forbidden(f"this operation needs the role {wanted}; the token has {principal.role}")

    return Depends(check)
