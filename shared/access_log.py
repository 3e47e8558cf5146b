"""The access log: who read a confidential result, who changed access rights, and when.

Each service that serves confidential results (scoring, reporting) or changes access rights
(registry: clients, opt-ins) keeps an `access_log` table in its own schema and writes a row in
the same transaction as the read or change it records (`record`). Reporting's cached reads,
which open no transaction, queue their rows and write them in batches (`INSERT_SQL`), flushed
before the log is read and on shutdown. The operator queries each service's log at `GET /v1/access-log`, newest
first, cursor-paginated and filtered by action, structure or actor.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import SessionDep
from shared.auth import Principal, Role, require
from shared.observability import request_id_var
from shared.pagination import Page, PageDep, paginate

# Actions (stable strings, documented in docs/partners.md and README).
CLIENT_CREATED = "client.created"
CLIENT_ROTATED = "client.rotated"
CLIENT_REVOKED = "client.revoked"
OPT_IN_GIVEN = "opt_in.given"
OPT_IN_WITHDRAWN = "opt_in.withdrawn"


def access_log_table(metadata: MetaData) -> Table:
    return Table(
        "access_log",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor_role", Text, nullable=False),
        Column("actor_subject", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("target", Text, nullable=False),
        Column("structure_id", Uuid),
        Column("request_id", Text),
        Index("ix_access_log_structure", "structure_id", "id"),
    )


INSERT_SQL = (
    "INSERT INTO access_log (actor_role, actor_subject, action, target, structure_id, request_id)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)  # for services reading through a bare asyncpg pool (reporting's hot path)


async def record(
    session: AsyncSession,
    table: Table,
    principal: Principal,
    action: str,
    target: str,
    *,
    structure_id: uuid.UUID | None = None,
) -> None:
    """One row, in the caller's transaction (with the request's id, when in a request)."""
    await session.execute(
        insert(table).values(
            actor_role=principal.role.value,
            actor_subject=principal.subject,
            action=action,
            target=target,
            structure_id=structure_id,
            request_id=request_id_var.get(),
        )
    )


class AccessLogEntry(BaseModel):
    id: int = Field(description="Position in this service's log (grows with time).")
    at: datetime = Field(description="When it happened (UTC).")
    service: str = Field(description="The service that recorded it.")
    actor_role: str = Field(description="Role of the caller.")
    actor_subject: str = Field(description="Subject of the caller (auditor, structure, client id).")
    action: str = Field(description="What was done, e.g. `read.scorecard`, `client.rotated`.")
    target: str = Field(description="What it was done to, as a path-like reference.")
    structure_id: uuid.UUID | None = Field(description="The structure concerned, if any.")
    request_id: str | None = Field(description="The request's X-Request-ID.")


def access_log_router(
    table: Table, service: str, before: Callable[[Request], Awaitable[None]] | None = None
) -> APIRouter:
    """`GET /access-log` on the service's own log: operator only, newest first. `before` runs
    first (e.g. writes rows a service queued)."""
    router = APIRouter(tags=["access log"])

    @router.get(
        "/access-log",
        response_model=Page[AccessLogEntry],
        summary="Who read confidential results or changed access rights, newest first",
        dependencies=[require(Role.OPERATOR)],
    )
    async def list_access_log(
        request: Request,
        session: SessionDep,
        page: PageDep,
        action: Annotated[
            str | None, Query(max_length=100, description="Only this action.")
        ] = None,
        structure_id: Annotated[
            uuid.UUID | None, Query(description="Only rows about this structure.")
        ] = None,
        actor_subject: Annotated[
            str | None, Query(max_length=300, description="Only this caller's rows.")
        ] = None,
    ) -> Page[AccessLogEntry]:
        if before is not None:
            await before(request)
        query = select(table).order_by(table.c.id.desc()).limit(page.limit + 1)
        key = page.key(1)
        if key is not None:
            query = query.where(table.c.id < int(key[0]))
        if action is not None:
            query = query.where(table.c.action == action)
        if structure_id is not None:
            query = query.where(table.c.structure_id == structure_id)
        if actor_subject is not None:
            query = query.where(table.c.actor_subject == actor_subject)
        rows = (await session.execute(query)).mappings().all()
        found, cursor = paginate(rows, page.limit, lambda r: [r["id"]])
        items: list[Any] = [AccessLogEntry(service=service, **dict(r)) for r in found]
        return Page[AccessLogEntry](items=items, next_cursor=cursor)

    return router
