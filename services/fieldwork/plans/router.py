"""HTTP routes of the plans domain: an edition's fieldwork settings, re-planning."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter

from services.fieldwork.plans import service
from services.fieldwork.plans.schemas import (
    EditionSettingsIn,
    EditionSettingsOut,
    ProgressOut,
    QuotaOut,
    ReplanIn,
    ReplanOut,
    WindowOut,
)
from shared.app import RuntimeDep, SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["plans"])
Operator = require(Role.OPERATOR)


def _settings_out(edition: service.FieldworkEdition) -> EditionSettingsOut:
    year = datetime.now(UTC).year
    return EditionSettingsOut(
        edition_id=edition.edition_id,
        year=edition.year,
        auto_validate=edition.auto_validate,
        appeal_opens_on=edition.appeal_opens_on,
        appeal_closes_on=edition.appeal_closes_on,
        planning_seed=edition.planning_seed,
        windows=[WindowOut(**vars(w)) for w in service.windows_of(edition, year)],
        quotas=[QuotaOut(**vars(q)) for q in service.quotas_of(edition)],
        calendar_source="event" if edition.windows else "default",
    )


@router.get(
    "/editions/{edition_id}/fieldwork-settings",
    response_model=EditionSettingsOut,
    dependencies=[Operator],
)
async def get_settings(edition_id: uuid.UUID, session: SessionDep) -> EditionSettingsOut:
    return _settings_out(await service.get_settings(session, edition_id))


@router.patch(
    "/editions/{edition_id}/fieldwork-settings",
    response_model=EditionSettingsOut,
    dependencies=[Operator],
)
async def update_settings(
    edition_id: uuid.UUID, body: EditionSettingsIn, session: SessionDep
) -> EditionSettingsOut:
    values = body.model_dump(exclude_unset=True)
    if values.get("auto_validate", False) is None:
        values.pop("auto_validate")
    return _settings_out(await service.update_settings(session, edition_id, values))


@router.post("/editions/{edition_id}/replan", response_model=ReplanOut, dependencies=[Operator])
async def replan_edition(
    edition_id: uuid.UUID, body: ReplanIn, session: SessionDep, runtime: RuntimeDep
) -> ReplanOut:
    sites, tasks = await service.replan(
        session, runtime.outbox, edition_id, site_id=None, seed=body.seed,
        fallback_year=datetime.now(UTC).year,
    )  # fmt: skip
    return ReplanOut(sites=sites, tasks_planned=tasks)


@router.post(
    "/editions/{edition_id}/sites/{site_id}/replan",
    response_model=ReplanOut,
    dependencies=[Operator],
)
async def replan_site(
    edition_id: uuid.UUID,
    site_id: uuid.UUID,
    body: ReplanIn,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ReplanOut:
    sites, tasks = await service.replan(
        session, runtime.outbox, edition_id, site_id=site_id, seed=body.seed,
        fallback_year=datetime.now(UTC).year,
    )  # fmt: skip
    return ReplanOut(sites=sites, tasks_planned=tasks)


@router.get(
    "/editions/{edition_id}/fieldwork-progress",
    response_model=ProgressOut,
    dependencies=[Operator],
)
async def get_progress(edition_id: uuid.UUID, session: SessionDep) -> ProgressOut:
    """Sites and structures planned, and the edition's tasks per status."""
    sites, structures, tasks = await service.progress(session, edition_id)
    return ProgressOut(
        edition_id=edition_id, sites_planned=sites, structures_planned=structures, tasks=tasks
    )
