"""OAuth2 clients (created, rotated, revoked by the operator; secrets kept as argon2 hashes),
the client-credentials token, and partners' opt-ins (given or withdrawn by the structure or the
operator, announced as `registry.partner_opt_in.changed.v1`). Every change of access rights is
written to the access log in its transaction."""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.clients import repository as repo
from services.registry.clients.rules import (
    OAuthError,
    TokenRequest,
    granted_scopes,
    new_client_id,
    new_secret,
)
from services.registry.clients.schemas import (
    ClientIn,
    ClientOut,
    ClientSecretOut,
    OptInOut,
    TokenOut,
)
from services.registry.models import Client
from services.registry.settings import RegistrySettings
from shared import access_log
from shared.auth import Principal, Role, SigningKey, ensure_acts_for_structure, issue_token
from shared.contracts.registry import PartnerOptInChangedV1
from shared.errors import Conflict, NotFound
from shared.outbox import Outbox
from shared.pagination import Page, PageParams, paginate

# argon2id with OWASP's minimum parameters (19 MiB, 2 passes): secrets are 256 random bits, so
# the hash guards a leaked table, not a guessable password; a token request costs one check.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _decoy() -> str:
    """Verified against when the client id is unknown, so that a wrong id costs the same as a
    wrong secret (made on first use, not at import)."""
    return _hasher.hash("decoy")


class RevokedClient(Conflict):
    slug = "client-revoked"
    title = "The client is revoked"


def _out(client: Client) -> ClientOut:
    return ClientOut(
        client_id=client.client_id,
        name=client.name,
        scopes=list(client.scopes),
        created_by=client.created_by,
        created_at=client.created_at,
        rotated_at=client.rotated_at,
        revoked_at=client.revoked_at,
    )


def _with_secret(client: Client, secret: str) -> ClientSecretOut:
    return ClientSecretOut(**_out(client).model_dump(), client_secret=secret)


async def _hash(secret: str) -> str:
    return await asyncio.to_thread(_hasher.hash, secret)


async def _verify(hashed: str, secret: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(hashed, secret)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def _client(session: AsyncSession, client_id: str, *, lock: bool = False) -> Client:
    client = await repo.get_client(session, client_id, lock=lock)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


# --- clients (operator) -----------------------------------------------------------------------


async def create_client(
    session: AsyncSession, body: ClientIn, principal: Principal
) -> ClientSecretOut:
    secret = new_secret()
    client = Client(
        client_id=new_client_id(),
        name=body.name,
        scopes=sorted(set(body.scopes)),
        secret_hash=await _hash(secret),
        created_by=principal.subject,
    )
    await repo.add_client(session, client)
    await repo.record_access(
        session, principal, access_log.CLIENT_CREATED, f"client/{client.client_id}"
    )
    return _with_secret(client, secret)


async def list_clients(session: AsyncSession, page: PageParams) -> Page[ClientOut]:
    key = page.key(1)
    rows = await repo.list_clients(session, None if key is None else str(key[0]), page.limit + 1)
    found, cursor = paginate(rows, page.limit, lambda c: [c.client_id])
    return Page[ClientOut](items=[_out(c) for c in found], next_cursor=cursor)


async def get_client(session: AsyncSession, client_id: str) -> ClientOut:
    return _out(await _client(session, client_id))


async def rotate_secret(
    session: AsyncSession, client_id: str, principal: Principal
) -> ClientSecretOut:
    """A new secret replaces the old one at once (tokens already issued run to their expiry)."""
    client = await _client(session, client_id, lock=True)
    if client.revoked_at is not None:
        raise RevokedClient(f"client {client_id} is revoked; create a new one")
    secret = new_secret()
    client.secret_hash = await _hash(secret)
    client.rotated_at = await repo.now(session)
    await repo.record_access(session, principal, access_log.CLIENT_ROTATED, f"client/{client_id}")
    return _with_secret(client, secret)


async def revoke_client(session: AsyncSession, client_id: str, principal: Principal) -> ClientOut:
    """No token is issued to it any more (idempotent: a second call changes nothing)."""
    client = await _client(session, client_id, lock=True)
    if client.revoked_at is None:
        client.revoked_at = await repo.now(session)
        await repo.record_access(
            session, principal, access_log.CLIENT_REVOKED, f"client/{client_id}"
        )
    return _out(client)


# --- token (RFC 6749 §4.4) --------------------------------------------------------------------


async def token_for(
    session: AsyncSession, request: TokenRequest, settings: RegistrySettings, key: SigningKey
) -> TokenOut:
    client = await repo.get_client(session, request.client_id)
    hashed = client.secret_hash if client is not None else _decoy()
    valid = await _verify(hashed, request.client_secret)
    if client is None or not valid or client.revoked_at is not None:
        raise OAuthError("invalid_client", "unknown client, wrong secret or revoked client", 401)
    scopes = granted_scopes(request.scopes, frozenset(client.scopes))
    ttl = min(settings.oauth_token_ttl_seconds, settings.jwt_max_lifetime_seconds)
    token = issue_token(
        settings,
        role=Role.PARTNER,
        subject=client.client_id,
        scopes=sorted(scopes),
        ttl=timedelta(seconds=ttl),
        key=key,
    )
    return TokenOut(access_token=token, expires_in=ttl, scope=" ".join(sorted(scopes)))


# --- opt-ins (the structure or the operator) --------------------------------------------------


async def _structure_for(
    session: AsyncSession, principal: Principal, structure_id: uuid.UUID
) -> None:
    ensure_acts_for_structure(principal, structure_id)
    if not await repo.structure_exists(session, structure_id):
        raise NotFound(f"no structure {structure_id}")


async def opt_ins(
    session: AsyncSession, principal: Principal, structure_id: uuid.UUID, page: PageParams
) -> Page[OptInOut]:
    """By client id."""
    await _structure_for(session, principal, structure_id)
    key = page.key(1)
    rows = await repo.opt_ins_of(
        session, structure_id, None if key is None else str(key[0]), page.limit + 1
    )
    found, cursor = paginate(rows, page.limit, lambda row: [row[0].client_id])
    items = [
        OptInOut(
            structure_id=o.structure_id,
            client_id=o.client_id,
            client_name=name,
            granted_by=o.granted_by,
            granted_at=o.granted_at,
        )
        for o, name in found
    ]
    return Page[OptInOut](items=items, next_cursor=cursor)


async def give_opt_in(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    structure_id: uuid.UUID,
    client_id: str,
) -> OptInOut:
    """Idempotent: an opt-in given twice is recorded and announced once."""
    await _structure_for(session, principal, structure_id)
    client = await _client(session, client_id)
    if client.revoked_at is not None:
        raise RevokedClient(f"client {client_id} is revoked")
    added = await repo.add_opt_in(session, structure_id, client_id, principal.subject)
    if added is not None:
        await outbox.add(
            session,
            PartnerOptInChangedV1(
                structure_id=structure_id,
                client_id=client_id,
                opted_in=True,
                changed_by=principal.subject,
                changed_at=added.granted_at,
            ),
            edition=None,
        )
        await repo.record_access(
            session, principal, access_log.OPT_IN_GIVEN,
            f"structure/{structure_id}/partners/{client_id}", structure_id=structure_id,
        )  # fmt: skip
    found = added or await repo.get_opt_in(session, structure_id, client_id)
    assert found is not None
    return OptInOut(
        structure_id=structure_id,
        client_id=client_id,
        client_name=client.name,
        granted_by=found.granted_by,
        granted_at=found.granted_at,
    )


async def withdraw_opt_in(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    structure_id: uuid.UUID,
    client_id: str,
) -> None:
    """404 when there is no such opt-in."""
    await _structure_for(session, principal, structure_id)
    if not await repo.remove_opt_in(session, structure_id, client_id):
        raise NotFound(f"structure {structure_id} has no opt-in for client {client_id}")
    await outbox.add(
        session,
        PartnerOptInChangedV1(
            structure_id=structure_id,
            client_id=client_id,
            opted_in=False,
            changed_by=principal.subject,
            changed_at=await repo.now(session),
        ),
        edition=None,
    )
    await repo.record_access(
        session, principal, access_log.OPT_IN_WITHDRAWN,
        f"structure/{structure_id}/partners/{client_id}", structure_id=structure_id,
    )  # fmt: skip
