"""What each consumed event does to the read model (one transaction per event, with its inbox
row); figures trigger the edition's refresh of ranks and group statistics."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.readmodel import repository as repo
from services.reporting.readmodel.rules import (
    EditionSettings,
    accepts_generation,
    replaces_generation,
    settings_of,
)
from shared.contracts.fieldwork import AuditValidatedV2
from shared.contracts.registry import (
    EditionCalendarChangedV1,
    EditionCreatedV1,
    EditionStatusChangedV1,
    RegistrationAcceptedV1,
    RegistrationAcceptedV2,
    RegistrationWithdrawnV1,
    StratumChangedV1,
)
from shared.contracts.scoring import ScoresUpdatedV1, StructureFiguresV1
from shared.errors import NotFound


async def edition_created(session: AsyncSession, event: EditionCreatedV1) -> None:
    values: dict[str, Any] = {"year": event.year, "name": event.name, "status": event.status}
    if event.number is not None:
        values["number"] = event.number
    if event.results_dispatch_on is not None:
        values["results_dispatch_on"] = event.results_dispatch_on
    await repo.ensure_edition(session, event.edition_id, **values)
    await repo.bump_version(session, event.edition_id)


async def edition_status_changed(session: AsyncSession, event: EditionStatusChangedV1) -> None:
    values: dict[str, Any] = {"year": event.year, "status": event.to_status}
    if event.results_dispatch_on is not None:
        values["results_dispatch_on"] = event.results_dispatch_on
    await repo.ensure_edition(session, event.edition_id, **values)
    await repo.bump_version(session, event.edition_id)


async def edition_calendar_changed(session: AsyncSession, event: EditionCalendarChangedV1) -> None:
    await repo.ensure_edition(session, event.edition_id, year=event.year)
    await repo.set_dispatch(session, event.edition_id, event.results_dispatch_on)
    await repo.bump_version(session, event.edition_id)


async def registration_accepted(
    session: AsyncSession, event: RegistrationAcceptedV1 | RegistrationAcceptedV2
) -> None:
    values: dict[str, Any] = {
        "edition_id": event.edition_id,
        "structure_id": event.structure_id,
        "structure_type": event.structure_type,
        "stratum_code": event.stratum_code,
        "stratum_label": event.stratum_label,
        "certified": event.certified,
        "offer": event.offer,
        "withdrawn": False,
    }
    if isinstance(event, RegistrationAcceptedV2):
        values |= {
            "structure_name": event.structure_name,
            "options": list(event.options),
            "competes_for_trophies": event.competes_for_trophies,
        }
        await repo.ensure_edition(session, event.edition_id, year=event.edition_year)
    else:
        await repo.ensure_edition(session, event.edition_id)
    await repo.upsert_participant(session, values)
    await repo.bump_version(session, event.edition_id)


async def registration_withdrawn(session: AsyncSession, event: RegistrationWithdrawnV1) -> None:
    await repo.update_participant(session, event.edition_id, event.structure_id, withdrawn=True)
    await repo.bump_version(session, event.edition_id)


async def stratum_changed(session: AsyncSession, event: StratumChangedV1) -> None:
    if event.to_code is None:
        return  # no stratum any more: scoring's next figures say where it is compared
    await repo.update_participant(
        session,
        event.edition_id,
        event.structure_id,
        stratum_code=event.to_code,
        stratum_label=event.to_label or event.to_code,
    )
    await repo.bump_version(session, event.edition_id)


async def audits_validated(session: AsyncSession, events: list[AuditValidatedV2]) -> None:
    rows = [
        {
            "audit_id": e.audit_id,
            "revision": e.revision,
            "edition_id": e.edition_id,
            "structure_id": e.structure_id,
            "channel": e.channel,
            "grid_code": e.grid_code,
            "grid_version": e.grid_version,
            "remarks": e.remarks,
            "validated_at": e.validated_at,
        }
        for e in events
    ]
    await repo.upsert_audits(session, rows)
    for edition_id in {e.edition_id for e in events}:
        await repo.ensure_edition(session, edition_id)
        await repo.bump_version(session, edition_id)


def _overall_sum_squares(figures: StructureFiguresV1) -> Decimal | None:
    """Σx² over every audit of the structure, when each channel gives its own."""
    parts = [f.sum_squares for f in figures.channels.values()]
    if not parts or any(p is None for p in parts):
        return None
    return sum((p for p in parts if p is not None), Decimal(0))


def _figures_row(event: ScoresUpdatedV1, figures: StructureFiguresV1) -> dict[str, Any]:
    body = figures.model_dump(
        mode="json", include={"channels", "sites", "criteria", "journey_steps", "items"}
    )
    overall = _overall_sum_squares(figures)
    body["overall_sum_squares"] = None if overall is None else str(overall)
    return {
        "edition_id": event.edition_id,
        "structure_id": figures.structure_id,
        "generation": event.generation,
        "stratum_code": figures.stratum_code,
        "structure_type": figures.structure_type,
        "certified": figures.certified,
        "audits": figures.audits,
        "score": figures.score,
        "figures": body,
        "version": figures.version,
    }


async def scores_updated(session: AsyncSession, event: ScoresUpdatedV1) -> None:
    await repo.ensure_edition(session, event.edition_id)
    held, _ = await repo.edition_state(session, event.edition_id)
    if not accepts_generation(held, event.generation):
        return  # figures of a generation a re-score has replaced
    if replaces_generation(held, event.generation, event.full):
        await repo.drop_figures(session, event.edition_id)
    if event.generation != held:
        await repo.set_generation(session, event.edition_id, event.generation)
    await repo.upsert_figures(session, [_figures_row(event, s) for s in event.structures])
    versions = {s.structure_id: s.version for s in event.structures}
    await repo.set_perceived(
        session,
        [
            {
                "edition_id": str(event.edition_id),
                "structure_id": str(p.structure_id),
                "perceived": p.model_dump(mode="json"),
                "version": versions.get(p.structure_id),
            }
            for p in event.perceived
            if p.site_id is None
        ],
    )
    # Ranks and statistics are rebuilt once for a run of updates (refresh_stale), not per event.
    await repo.mark_stale(session, event.edition_id)
    await repo.bump_version(session, event.edition_id)


async def refresh_edition(session: AsyncSession, edition_id: uuid.UUID) -> None:
    """Recompute the edition's ranks and statistics from its current figures."""
    settings = settings_of(await repo.stored_settings(session, edition_id))
    await repo.refresh(session, edition_id, settings.performing_threshold)
    await repo.clear_stale(session, edition_id)
    await repo.bump_version(session, edition_id)


async def refresh_stale(session: AsyncSession) -> uuid.UUID | None:
    """Refresh one edition whose figures changed (locked: one replica refreshes it), if any."""
    edition_id = await repo.claim_stale(session)
    if edition_id is not None:
        await refresh_edition(session, edition_id)
    return edition_id


async def edition_settings(session: AsyncSession, edition_id: uuid.UUID) -> EditionSettings:
    if not await repo.edition_exists(session, edition_id):
        raise NotFound(f"edition {edition_id} is unknown to reporting")
    return settings_of(await repo.stored_settings(session, edition_id))


async def change_settings(
    session: AsyncSession, edition_id: uuid.UUID, settings: EditionSettings
) -> EditionSettings:
    if not await repo.edition_exists(session, edition_id):
        raise NotFound(f"edition {edition_id} is unknown to reporting")
    await repo.store_settings(session, edition_id, settings.model_dump(mode="json"))
    await refresh_edition(session, edition_id)
    return settings


async def edition_view(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID, kind: str
) -> repo.EditionView | None:
    return await repo.edition_view(session, edition_id, structure_id, kind)
