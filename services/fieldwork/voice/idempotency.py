"""`Idempotency-Key` for partners' POSTs: the first answer under a key is stored and replayed
on a retry; the same key with another body is refused. Behind `idempotent`, so the shared
implementation can replace this one without touching the routes."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import IdempotentRequest
from shared.errors import Unprocessable

KEY_MAX = 200


async def idempotent(
    session: AsyncSession,
    *,
    partner: str,
    key: str | None,
    request: bytes,
    run: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> tuple[int, dict[str, Any]]:
    """(status, body) of `run()`, or of the first request made under this key."""
    if key is None:
        return await run()
    if not (1 <= len(key) <= KEY_MAX) or not key.isprintable():
        raise Unprocessable(f"Idempotency-Key: 1 to {KEY_MAX} printable characters")
    digest = hashlib.sha256(request).hexdigest()
    stored = await session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.partner == partner, IdempotentRequest.key == key
        )
    )
    if stored is not None:
        if stored.request_hash != digest:
            raise Unprocessable("Idempotency-Key was already used for a different request", key=key)
        return stored.status_code, stored.body
    status, body = await run()
    # A concurrent first use of the key makes this insert fail (409) and its work roll back.
    session.add(
        IdempotentRequest(
            partner=partner, key=key, request_hash=digest, status_code=status, body=body
        )
    )
    await session.flush()
    return status, body
