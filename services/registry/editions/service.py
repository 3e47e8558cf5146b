"""Decisions on editions: creation from a preset or a previous edition, edits while draft,
the status machine with its history and events.

Functions here only `flush()`; the request's session commits once, with the outbox rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.editions import repository as repo
from services.registry.editions.presets import BLANK, PRESETS, Preset, Quota
from services.registry.editions.rules import (
    EDITABLE,
    Calendar,
    Window,
    calendar_problems,
    shift_calendar,
    transition_problem,
)
from services.registry.editions.schemas import (
    CalendarIn,
    CalendarOut,
    EditionIn,
    EditionOut,
    EditionPatch,
    QuotaIn,
    QuotaOut,
    TransitionIn,
    TransitionOut,
    WindowOut,
)
from services.registry.models import Edition, EditionTransition
from services.registry.offers import service as offers
from services.registry.offers.rules import CatalogueLine, LineKind
from services.registry.offers.schemas import OfferLineIn
from services.registry.strata import service as strata
from services.registry.vocabulary import Channel, EditionStatus
from shared.auth import Principal
from shared.contracts.registry import (
    EditionCalendarChangedV1,
    EditionCreatedV1,
    EditionStatusChangedV1,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.outbox import Outbox
from shared.pagination import Page, PageParams, paginate

VAT_PLACES = Decimal("0.0001")  # as the column stores it

# --- configuration as plain data --------------------------------------------------------------


def _calendar_from(body: CalendarIn) -> Calendar:
    return Calendar(
        registration_deadline=body.registration_deadline,
        selection_notice_on=body.selection_notice_on,
        windows=tuple(Window(w.channel.value, w.starts_on, w.ends_on) for w in body.windows),
        results_dispatch_on=body.results_dispatch_on,
        ceremony_on=body.ceremony_on,
    )


def _quotas_from(body: Sequence[QuotaIn]) -> tuple[Quota, ...]:
    return tuple(Quota(q.channel.value, q.audits_per_site, q.requires_option) for q in body)


def _catalogue_from(body: Sequence[OfferLineIn]) -> tuple[CatalogueLine, ...]:
    return tuple(
        CatalogueLine(
            code=line.code,
            label=line.label,
            kind=line.kind,
            unit_price_cents=line.unit_price_cents,
            unit=line.unit,
            offers=tuple(line.offers),
            max_sites=line.max_sites,
            operator_only=line.operator_only,
            position=position,
        )
        for position, line in enumerate(body)
    )


async def config_of(session: AsyncSession, edition: Edition) -> Preset:
    """An edition's whole configuration, as a preset would give it."""
    windows = (await repo.windows(session, [edition.id]))[edition.id]
    quotas = (await repo.quotas(session, [edition.id]))[edition.id]
    return Preset(
        code=edition.preset or "",
        year=edition.year,
        number=edition.number,
        name=edition.name,
        trophies_name=edition.trophies_name,
        min_population=edition.min_population,
        min_intercommunality_population=edition.min_intercommunality_population,
        max_accepted=edition.max_accepted,
        vat_rate=edition.vat_rate,
        calendar=Calendar(
            registration_deadline=edition.registration_deadline,
            selection_notice_on=edition.selection_notice_on,
            windows=tuple(Window(w.channel, w.starts_on, w.ends_on) for w in windows),
            results_dispatch_on=edition.results_dispatch_on,
            ceremony_on=edition.ceremony_on,
        ),
        quotas=tuple(Quota(q.channel, q.audits_per_site, q.requires_option) for q in quotas),
        strata=tuple((await strata.rules_of(session, [edition.id]))[edition.id]),
        catalogue=tuple(await offers.catalogue(session, edition.id)),
    )


def _check(config: Preset) -> None:
    """422 naming the first inconsistent field of a configuration."""
    problems = calendar_problems(config.calendar)
    if problems:
        raise Unprocessable(problems[0].message, field=problems[0].field)
    options = {c.code for c in config.catalogue if c.kind is LineKind.OPTION}
    for i, quota in enumerate(config.quotas):
        if quota.requires_option is not None and quota.requires_option not in options:
            raise Unprocessable(
                f"the {quota.channel} quota requires option {quota.requires_option!r}, "
                "which the catalogue does not hold",
                field=f"quotas[{i}].requires_option",
            )
    strata.check_rules(config.strata)


async def _store(session: AsyncSession, edition: Edition, config: Preset, parts: set[str]) -> None:
    """Write the parts of the configuration that live in their own tables."""
    if "calendar" in parts:
        await repo.replace_windows(
            session,
            edition.id,
            [
                {
                    "channel": w.channel,
                    "starts_on": w.starts_on,
                    "ends_on": w.ends_on,
                    "position": i,
                }
                for i, w in enumerate(config.calendar.windows)
            ],
        )
    if "quotas" in parts:
        await repo.replace_quotas(
            session,
            edition.id,
            [
                {
                    "channel": q.channel,
                    "audits_per_site": q.audits_per_site,
                    "requires_option": q.requires_option,
                }
                for q in config.quotas
            ],
        )
    if "offers" in parts:
        await offers.replace_catalogue(session, edition.id, config.catalogue)
    if "strata" in parts:
        await strata.replace_rules(session, edition.id, config.strata)


def _apply_scalars(edition: Edition, config: Preset) -> None:
    edition.year = config.year
    edition.number = config.number
    edition.name = config.name
    edition.trophies_name = config.trophies_name
    edition.min_population = config.min_population
    edition.min_intercommunality_population = config.min_intercommunality_population
    edition.max_accepted = config.max_accepted
    edition.vat_rate = config.vat_rate
    edition.registration_deadline = config.calendar.registration_deadline
    edition.selection_notice_on = config.calendar.selection_notice_on
    edition.results_dispatch_on = config.calendar.results_dispatch_on
    edition.ceremony_on = config.calendar.ceremony_on


_SCALARS = (
    "year",
    "number",
    "name",
    "trophies_name",
    "min_population",
    "min_intercommunality_population",
    "max_accepted",
    "vat_rate",
)


def _merge(base: Preset, body: EditionIn | EditionPatch) -> Preset:
    """`base` with what the body gives; a new year moves an inherited calendar with it."""
    given = body.model_fields_set
    values = {name: getattr(body, name) for name in _SCALARS if name in given}
    for required in ("year", "number", "name", "vat_rate"):
        if required in values and values[required] is None:
            raise Unprocessable(f"{required} may not be null", field=required)
    config = replace(base, **values)
    if "calendar" in given:
        calendar = body.calendar or CalendarIn()
        config = replace(config, calendar=_calendar_from(calendar))
    elif config.year != base.year and base.year:
        config = replace(config, calendar=shift_calendar(base.calendar, config.year - base.year))
    if "quotas" in given:
        config = replace(config, quotas=_quotas_from(body.quotas or []))
    if "offers" in given:
        if body.offers is None:
            raise Unprocessable("the catalogue may not be null", field="offers")
        config = replace(config, catalogue=_catalogue_from(body.offers))
    if isinstance(body, EditionIn) and body.strata is not None:
        config = replace(
            config, strata=tuple(strata.rule_from(r, i) for i, r in enumerate(body.strata))
        )
    return config


# --- reads ------------------------------------------------------------------------------------


async def editions_out(session: AsyncSession, editions: Sequence[Edition]) -> list[EditionOut]:
    ids = [e.id for e in editions]
    windows = await repo.windows(session, ids)
    quotas = await repo.quotas(session, ids)
    catalogues = await offers.catalogues(session, ids)
    rules = await strata.rules_of(session, ids)
    return [
        EditionOut(
            id=e.id,
            year=e.year,
            number=e.number,
            name=e.name,
            trophies_name=e.trophies_name,
            status=EditionStatus(e.status),
            preset=e.preset,
            copied_from=e.copied_from,
            min_population=e.min_population,
            min_intercommunality_population=e.min_intercommunality_population,
            max_accepted=e.max_accepted,
            vat_rate=e.vat_rate.quantize(VAT_PLACES),
            calendar=CalendarOut(
                registration_deadline=e.registration_deadline,
                selection_notice_on=e.selection_notice_on,
                windows=[
                    WindowOut(channel=Channel(w.channel), starts_on=w.starts_on, ends_on=w.ends_on)
                    for w in windows[e.id]
                ],
                results_dispatch_on=e.results_dispatch_on,
                ceremony_on=e.ceremony_on,
            ),
            quotas=[
                QuotaOut(
                    channel=Channel(q.channel),
                    audits_per_site=q.audits_per_site,
                    requires_option=q.requires_option,
                )
                for q in quotas[e.id]
            ],
            offers=[offers.line_out(line) for line in catalogues[e.id]],
            strata=[strata.rule_out(r) for r in rules[e.id]],
            created_at=e.created_at,
        )
        for e in editions
    ]


async def find_edition(
    session: AsyncSession, edition_id: uuid.UUID, *, for_update: bool = False
) -> Edition:
    edition = await repo.get_edition(session, edition_id, for_update=for_update)
    if edition is None:
        raise NotFound(f"no edition {edition_id}")
    return edition


async def read_edition(session: AsyncSession, edition_id: uuid.UUID) -> EditionOut:
    return (await editions_out(session, [await find_edition(session, edition_id)]))[0]


async def list_editions(
    session: AsyncSession, page: PageParams, *, year: int | None, status: EditionStatus | None
) -> Page[EditionOut]:
    rows = await repo.list_editions(
        session,
        year=year,
        status=status.value if status else None,
        key=page.key(2),
        limit=page.limit,
    )
    chosen, cursor = paginate(rows, page.limit, lambda e: (-e.year, e.id))
    return Page(items=await editions_out(session, chosen), next_cursor=cursor)


async def list_transitions(
    session: AsyncSession, edition_id: uuid.UUID, page: PageParams
) -> Page[TransitionOut]:
    await find_edition(session, edition_id)
    rows = await repo.transitions(session, edition_id, page.key(1), page.limit)
    chosen, cursor = paginate(rows, page.limit, lambda t: (t.id,))
    return Page(
        items=[
            TransitionOut(
                from_status=EditionStatus(t.from_status) if t.from_status else None,
                to_status=EditionStatus(t.to_status),
                actor_role=t.actor_role,
                actor_subject=t.actor_subject,
                at=t.at,
            )
            for t in chosen
        ],
        next_cursor=cursor,
    )


# --- writes -----------------------------------------------------------------------------------


def _record(
    session: AsyncSession, edition: Edition, principal: Principal, from_status: str | None
) -> None:
    session.add(
        EditionTransition(
            edition_id=edition.id,
            from_status=from_status,
            to_status=edition.status,
            actor_role=principal.role.value,
            actor_subject=principal.subject,
        )
    )


async def create_edition(
    session: AsyncSession, outbox: Outbox, principal: Principal, body: EditionIn
) -> EditionOut:
    if body.preset is not None:
        base = PRESETS[body.preset]
    elif body.copy_from is not None:
        source = await repo.get_edition(session, body.copy_from)
        if source is None:
            raise Unprocessable(f"no edition {body.copy_from} to copy from", field="copy_from")
        base = await config_of(session, source)
    else:
        base = replace(BLANK, year=body.year or 0)
    config = _merge(base, body)
    _check(config)
    if await repo.edition_of_year(session, config.year) is not None:
        raise Conflict(f"an edition already exists for {config.year}", field="year")
    edition = Edition(
        id=uuid.uuid4(),
        status=EditionStatus.DRAFT.value,
        preset=body.preset,
        copied_from=body.copy_from,
    )
    _apply_scalars(edition, config)
    session.add(edition)
    await session.flush()  # the edition row must exist before its parts reference it
    await _store(session, edition, config, {"calendar", "quotas", "offers", "strata"})
    _record(session, edition, principal, None)
    await session.flush()
    await session.refresh(edition, ["created_at"])
    await outbox.add(
        session,
        EditionCreatedV1(
            edition_id=edition.id,
            year=edition.year,
            name=edition.name,
            status=edition.status,
            number=edition.number,
            results_dispatch_on=edition.results_dispatch_on,
        ),
        edition=edition.id,
    )
    return (await editions_out(session, [edition]))[0]


async def patch_edition(
    session: AsyncSession, outbox: Outbox, edition_id: uuid.UUID, body: EditionPatch
) -> EditionOut:
    edition = await find_edition(session, edition_id, for_update=True)
    if EditionStatus(edition.status) not in EDITABLE:
        raise Conflict(
            f"edition {edition.year} is {edition.status}: its configuration is edited while draft only"
        )
    base = await config_of(session, edition)
    config = _merge(base, body)
    _check(config)
    if config.year != edition.year and await repo.edition_of_year(session, config.year) is not None:
        raise Conflict(f"an edition already exists for {config.year}", field="year")
    dispatch_before = edition.results_dispatch_on
    _apply_scalars(edition, config)
    parts = {"quotas", "offers"} & body.model_fields_set
    if "calendar" in body.model_fields_set or config.calendar != base.calendar:
        parts.add("calendar")
    await _store(session, edition, config, parts)
    await session.flush()
    if edition.results_dispatch_on != dispatch_before:  # reporting's embargo follows it
        await outbox.add(
            session,
            EditionCalendarChangedV1(
                edition_id=edition.id,
                year=edition.year,
                results_dispatch_on=edition.results_dispatch_on,
            ),
            edition=edition.id,
        )
    return (await editions_out(session, [edition]))[0]


async def transition(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    edition_id: uuid.UUID,
    body: TransitionIn,
) -> EditionOut:
    edition = await find_edition(session, edition_id, for_update=True)
    current = EditionStatus(edition.status)
    problem = transition_problem(current, body.to)
    if problem is not None:
        raise Conflict(problem, field="to")
    if body.to is EditionStatus.REGISTRATION_OPEN:
        catalogue = await offers.catalogue(session, edition.id)
        if not any(line.kind is LineKind.OFFER for line in catalogue):
            raise Unprocessable("an edition opens with at least one offer", field="offers")
        if not (await strata.rules_of(session, [edition.id]))[edition.id]:
            raise Unprocessable("an edition opens with at least one stratum rule", field="strata")
    edition.status = body.to.value
    _record(session, edition, principal, current.value)
    await session.flush()
    await outbox.add(
        session,
        EditionStatusChangedV1(
            edition_id=edition.id,
            year=edition.year,
            from_status=current.value,
            to_status=edition.status,
            actor_role=principal.role.value,
            actor_subject=principal.subject,
            results_dispatch_on=edition.results_dispatch_on,
        ),
        edition=edition.id,
    )
    return (await editions_out(session, [edition]))[0]
