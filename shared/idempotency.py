"""`Idempotency-Key` on POSTs: a retried request gets the first answer instead of a second effect.

The key is scoped per caller (the token's role and subject). Within one request transaction a
row `(caller, key)` is claimed first, the route runs, and its answer (status and body) is
stored in the same transaction, so the effect and the stored answer commit together. A second
request with the same key and the same body (and method and path) gets the stored answer; with
another body it gets a 409 problem. A concurrent twin waits on the row's unique key until the
first commits, then replays it. Failed requests roll back and store nothing: a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import SessionDep
from shared.auth import Principal, current_principal
from shared.errors import Conflict, ProblemError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
T = TypeVar("T", bound=BaseModel)


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("caller", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("status_code", Integer),
        Column("response", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("caller", "key"),
    )


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """The same request whatever the JSON's spacing or key order."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class _Replay(Exception):
    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code = status_code
        self.body = body


class KeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "Idempotency-Key reused with another request"


class InvalidKey(ProblemError):
    status, slug, title = 400, "invalid-idempotency-key", "Invalid Idempotency-Key"


@dataclass
class Idempotency:
    """What a route holds: `once(work, status_code)` runs the work and records its answer."""

    session: AsyncSession
    table: Table | None
    caller: str
    key: str | None

    async def once(self, work: Awaitable[T], *, status_code: int = 200) -> T:
        result = await work
        if self.key is not None and self.table is not None:
            t = self.table
            await self.session.execute(
                update(t)
                .where(t.c.caller == self.caller, t.c.key == self.key)
                .values(status_code=status_code, response=result.model_dump(mode="json"))
            )
        return result


async def _idempotency(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(current_principal)],
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="Any unique string (e.g. a UUID) chosen by the client; a retry with the "
            "same key and body returns the first answer, another body gets a 409.",
        ),
    ] = None,
) -> Idempotency:
    table: Table | None = getattr(request.app.state, "idempotency_table", None)
    caller = f"{principal.role.value}:{principal.subject}"
    if key is None or table is None:
        return Idempotency(session, table, caller, None)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"the {HEADER} header holds 1 to {MAX_KEY_LENGTH} characters")
    fingerprint = request_fingerprint(
        request.method, request.url.path, request.url.query, await request.body()
    )
    t = table
    claimed = await session.scalar(
        pg_insert(t)
        .values(caller=caller, key=key, request_hash=fingerprint)
        .on_conflict_do_nothing()
        .returning(t.c.key)
    )
    if claimed is None:  # seen before (a concurrent twin has committed by now)
        row = (
            await session.execute(
                select(t.c.request_hash, t.c.status_code, t.c.response).where(
                    t.c.caller == caller, t.c.key == key
                )
            )
        ).one()
        if row.request_hash != fingerprint:
            raise KeyReused(
                f"the {HEADER} {key!r} was used for another request; use a new key",
                idempotency_key=key,
            )
        raise _Replay(row.status_code, row.response)
    return Idempotency(session, table, caller, key)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]


def install_idempotency(app: FastAPI, table: Table) -> None:
    """Give the app its key table and the handler that sends a stored answer again."""
    app.state.idempotency_table = table

    async def replay(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, _Replay)
        return JSONResponse(
            exc.body, status_code=exc.status_code, headers={"Idempotent-Replayed": "true"}
        )

    app.add_exception_handler(_Replay, replay)
