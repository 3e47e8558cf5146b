"""HTTP routes of strata."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.registry.strata import service
from services.registry.strata.schemas import (
    RederivationOut,
    RulesIn,
    StratumCountOut,
    UnmatchedOut,
    UnmatchedScope,
)
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role
from shared.auth import require as require_role
from shared.idempotency import IdempotencyDep
from shared.pagination import Page, PageDep

router = APIRouter(tags=["strata"])
Operator = Annotated[Principal, require_role(Role.OPERATOR)]


@router.get("/editions/{edition_id}/strata", summary="Strata with their accepted structures")
async def list_strata(
    edition_id: uuid.UUID, session: SessionDep, page: PageDep, principal: Operator
) -> Page[StratumCountOut]:
    return await service.counts(session, edition_id, page)


@router.put("/editions/{edition_id}/strata/rules", summary="Replace the strata rules")
async def put_rules(
    edition_id: uuid.UUID,
    body: RulesIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> RederivationOut:
    """Until fieldwork starts. Every registration's stratum is derived anew; each change is
    announced by `registry.structure.stratum_changed.v1`."""
    return await service.set_rules(session, runtime.outbox, edition_id, body)


@router.post(
    "/editions/{edition_id}/strata/rederive",
    summary="Refresh populations from the territories and derive strata anew",
)
async def rederive(
    edition_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> RederivationOut:
    """After a territory import: each registered structure takes its territory's current
    population, and its stratum is derived anew (an event per change)."""
    return await idem.once(service.refresh(session, runtime.outbox, edition_id))


@router.get(
    "/editions/{edition_id}/strata/unmatched",
    summary="Registrations whose structure no stratum rule matches",
)
async def unmatched(
    edition_id: uuid.UUID,
    session: SessionDep,
    page: PageDep,
    principal: Operator,
    scope: Annotated[
        UnmatchedScope,
        Query(
            description="`registrations`: the edition's registrations under review or accepted; "
            "`structures`: every structure of the registry, registered or not."
        ),
    ] = "registrations",
) -> Page[UnmatchedOut]:
    return await service.list_unmatched(session, edition_id, page, scope)
