"""Plans: turn accepted registrations into dated audit tasks, and re-plan on request.

Functions here take the caller's session and only flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.grids import service as grid_service
from services.fieldwork.models import FieldworkEdition as FieldworkEdition
from services.fieldwork.models import Grid, SitePlan
from services.fieldwork.plans import repository
from services.fieldwork.plans.rules import (
    DEFAULT_QUOTAS,
    PlannedTask,
    PlanningError,
    Quota,
    Window,
    default_windows,
    plan_site,
    site_counts,
    with_scenarios,
)
from services.fieldwork.scenarios import service as scenario_service
from shared.errors import NotFound, Unprocessable
from shared.outbox import Outbox


@dataclass(frozen=True)
class SiteInput:
    site_id: uuid.UUID
    departement_code: str | None
    contacts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistrationInput:
    """What planning needs of a `registry.registration.accepted` event (v1 or v2)."""

    registration_id: uuid.UUID
    edition_id: uuid.UUID
    edition_year: int | None
    structure_id: uuid.UUID
    structure_type: str
    stratum_code: str
    certified: bool
    offer: str
    options: frozenset[str]
    sites: tuple[SiteInput, ...]
    windows: tuple[Window, ...] | None  # None: the event carries no calendar (v1)
    quotas: tuple[Quota, ...] | None
    version: int


def windows_of(edition: FieldworkEdition, fallback_year: int) -> list[Window]:
    if edition.windows:
        return [
            Window(
                w["channel"], date.fromisoformat(w["starts_on"]), date.fromisoformat(w["ends_on"])
            )
            for w in edition.windows
        ]
    return list(default_windows(edition.year or fallback_year))


def quotas_of(edition: FieldworkEdition) -> list[Quota]:
    if edition.quotas:
        return [
            Quota(q["channel"], q["audits_per_site"], q["requires_option"]) for q in edition.quotas
        ]
    return list(DEFAULT_QUOTAS)


async def record_edition_year(session: AsyncSession, edition_id: uuid.UUID, year: int) -> None:
    await repository.record_year(session, edition_id, year)


async def _edition_for(session: AsyncSession, registration: RegistrationInput) -> FieldworkEdition:
    edition = await repository.ensure_edition(session, registration.edition_id)
    if registration.edition_year is not None:
        edition.year = registration.edition_year
    if registration.windows is not None:
        edition.windows = [
            {
                "channel": w.channel,
                "starts_on": w.starts_on.isoformat(),
                "ends_on": w.ends_on.isoformat(),
            }
            for w in registration.windows
        ]
    if registration.quotas is not None:
        edition.quotas = [
            {
                "channel": q.channel,
                "audits_per_site": q.audits_per_site,
                "requires_option": q.requires_option,
            }
            for q in registration.quotas
        ]
    return edition


@dataclass(frozen=True)
class SiteDraft:
    """What planning reads of a site (a plain object: a national edition has 35,000)."""

    edition_id: uuid.UUID
    site_id: uuid.UUID
    structure_id: uuid.UUID
    structure_type: str
    departement_code: str | None
    options: frozenset[str]


def _draft(plan: SitePlan) -> SiteDraft:
    return SiteDraft(
        edition_id=plan.edition_id,
        site_id=plan.site_id,
        structure_id=plan.structure_id,
        structure_type=plan.structure_type,
        departement_code=plan.departement_code,
        options=frozenset(plan.options),
    )


def _plan_one(
    site: SiteDraft,
    *,
    windows: Sequence[Window],
    quotas: Sequence[Quota],
    seed: int,
    kept: Sequence[tuple[str, int, date]] = (),
) -> tuple[list[PlannedTask], list[str]]:
    """The site's dated tasks with their scenarios, and its chosen scenario codes."""
    counts = site_counts(quotas, site.options)
    taken: dict[str, set[date]] = defaultdict(set)
    first: dict[str, int] = defaultdict(lambda: 1)
    for channel, sequence, day in kept:
        counts[channel] = counts.get(channel, 0) - 1
        taken[channel].add(day)
        first[channel] = max(first[channel], sequence + 1)
    counts = {c: n for c, n in counts.items() if n > 0}
    key = str(site.site_id)
    tasks = plan_site(
        site_key=key,
        departement_code=site.departement_code,
        counts=counts,
        windows=windows,
        seed=seed,
        taken=taken,
        first_sequence=first,
    )
    return with_scenarios(
        tasks,
        site_key=key,
        structure_type=site.structure_type,
        catalogue=scenario_service.catalogue(),
        seed=seed,
    )


@dataclass
class Computed:
    records: dict[uuid.UUID, list[tuple[Any, ...]]]  # task rows (`TASK_COLUMNS`) per site
    scenarios: dict[uuid.UUID, list[str]]  # the scenarios chosen for each site
    grids: list[Grid]  # the grids the tasks use


async def _compute(
    session: AsyncSession,
    sites: Sequence[SiteDraft],
    edition: FieldworkEdition,
    fallback_year: int,
    kept: dict[uuid.UUID, list[tuple[str, int, date]]] | None = None,
) -> Computed:
    windows = windows_of(edition, fallback_year)
    quotas = quotas_of(edition)
    grids = await grid_service.current_grids(session)
    grid_ids = {channel: grid.id for channel, grid in grids.items()}
    out = Computed(records={}, scenarios={}, grids=[])
    used: set[str] = set()
    for site in sites:
        try:
            tasks, chosen = _plan_one(
                site, windows=windows, quotas=quotas, seed=edition.planning_seed,
                kept=(kept or {}).get(site.site_id, ()),
            )  # fmt: skip
        except PlanningError as exc:
            raise PlanningError(f"site {site.site_id}: {exc}") from exc
        channels = {t.channel for t in tasks}
        if not channels <= grid_ids.keys():
            missing = ", ".join(sorted(channels - grid_ids.keys()))
            raise PlanningError(f"no audit grid for channel(s) {missing}")
        used |= channels
        out.scenarios[site.site_id] = chosen
        out.records[site.site_id] = [
            (uuid.uuid4(), site.edition_id, site.structure_id, site.site_id, t.channel,
             t.sequence, t.planned_on, t.scenario_code, grid_ids[t.channel])
            for t in tasks
        ]  # fmt: skip
    out.grids = [grids[c] for c in sorted(used)]
    return out


async def plan_registrations(
    session: AsyncSession,
    outbox: Outbox,
    registrations: Sequence[RegistrationInput],
    *,
    source_event_id: uuid.UUID,
    fallback_year: int,
) -> int:
    """Plan every site of these registrations (one edition) not planned yet; returns the
    number of tasks created. A site already planned is left as it is (idempotent)."""
    if not registrations:
        return 0
    edition = await _edition_for(session, registrations[-1])
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    drafts: dict[uuid.UUID, SiteDraft] = {}
    for registration in registrations:
        if registration.edition_id != edition.edition_id:
            raise ValueError("plan one edition at a time")
        for site in registration.sites:
            drafts[site.site_id] = SiteDraft(
                edition_id=registration.edition_id,
                site_id=site.site_id,
                structure_id=registration.structure_id,
                structure_type=registration.structure_type,
                departement_code=site.departement_code,
                options=registration.options,
            )
            rows[site.site_id] = {
                "edition_id": registration.edition_id,
                "site_id": site.site_id,
                "structure_id": registration.structure_id,
                "registration_id": registration.registration_id,
                "structure_type": registration.structure_type,
                "stratum_code": registration.stratum_code,
                "certified": registration.certified,
                "departement_code": site.departement_code,
                "offer": registration.offer,
                "options": sorted(registration.options),
                "contacts": site.contacts,
                "scenario_codes": [],
                "source_event_id": source_event_id,
                "source_version": registration.version,
            }
    # Plans are computed before the sites are claimed, so a plan row carries its scenarios.
    computed = await _compute(session, list(drafts.values()), edition, fallback_year)
    for site_id, row in rows.items():
        row["scenario_codes"] = computed.scenarios[site_id]
    claimed = await repository.claim_sites(session, list(rows.values()))
    claimed |= await _upgrade_v1_plans(session, edition.edition_id, rows, claimed)
    records = [r for site in sorted(claimed) for r in computed.records[site]]
    await repository.insert_tasks(session, records)
    if records:
        await grid_service.publish_once(session, outbox, computed.grids)
    return len(records)


async def _upgrade_v1_plans(
    session: AsyncSession,
    edition_id: uuid.UUID,
    rows: dict[uuid.UUID, dict[str, Any]],
    claimed: set[uuid.UUID],
) -> set[uuid.UUID]:
    """Sites planned from a v1 event (default calendar) that a v2 event now describes: while
    none of their tasks has left `planned`, their plan is replaced by the v2 one."""
    newer = [s for s, row in rows.items() if s not in claimed and row["source_version"] == 2]
    if not newer:
        return set()
    stored = await repository.site_plans(session, edition_id, newer)
    older = {p.site_id: p for p in stored if p.source_version < 2}
    if not older:
        return set()
    started = {site for site, *_ in await repository.kept_tasks(session, edition_id, list(older))}
    upgraded = set(older) - started
    if upgraded:
        await repository.delete_planned(session, edition_id, sorted(upgraded))
    for site in upgraded:
        for name, value in rows[site].items():
            if name not in ("edition_id", "site_id"):
                setattr(older[site], name, value)
    await session.flush()
    return upgraded


async def replan(
    session: AsyncSession,
    outbox: Outbox,
    edition_id: uuid.UUID,
    *,
    site_id: uuid.UUID | None,
    seed: int | None,
    fallback_year: int,
) -> tuple[int, int]:
    """Plan again the tasks still `planned` of one site or of the whole edition (tasks already
    assigned or further keep their day); returns (sites, tasks created)."""
    edition = await repository.get_edition(session, edition_id, lock=True)
    if edition is None:
        raise NotFound(f"fieldwork knows no edition {edition_id}")
    if seed is not None:
        edition.planning_seed = seed
    site_ids = None if site_id is None else [site_id]
    plans = await repository.site_plans(session, edition_id, site_ids)
    if site_id is not None and not plans:
        raise NotFound(f"site {site_id} is not planned in edition {edition_id}")
    kept: dict[uuid.UUID, list[tuple[str, int, date]]] = defaultdict(list)
    for site, channel, sequence, day in await repository.kept_tasks(session, edition_id, site_ids):
        kept[site].append((channel, sequence, day))
    await repository.delete_planned(session, edition_id, site_ids)
    try:
        computed = await _compute(session, [_draft(p) for p in plans], edition, fallback_year, kept)
    except PlanningError as exc:
        raise Unprocessable(str(exc)) from exc
    rows = [r for site_rows in computed.records.values() for r in site_rows]
    await repository.insert_tasks(session, rows)
    for plan in plans:
        plan.scenario_codes = computed.scenarios[plan.site_id]
    await grid_service.publish_once(session, outbox, computed.grids)
    return len(plans), len(rows)


async def get_settings(session: AsyncSession, edition_id: uuid.UUID) -> FieldworkEdition:
    edition = await repository.get_edition(session, edition_id)
    if edition is None:
        raise NotFound(f"fieldwork knows no edition {edition_id}")
    return edition


async def update_settings(
    session: AsyncSession, edition_id: uuid.UUID, values: dict[str, Any]
) -> FieldworkEdition:
    edition = await repository.ensure_edition(session, edition_id)
    for name, value in values.items():
        setattr(edition, name, value)
    opens, closes = edition.appeal_opens_on, edition.appeal_closes_on
    if opens is not None and closes is not None and closes < opens:
        raise Unprocessable("appeal_closes_on is before appeal_opens_on")
    await session.flush()
    return edition


async def progress(session: AsyncSession, edition_id: uuid.UUID) -> tuple[int, int, dict[str, int]]:
    """How far the edition's fieldwork is: sites and structures planned, tasks per status."""
    await get_settings(session, edition_id)
    return await repository.progress(session, edition_id)
