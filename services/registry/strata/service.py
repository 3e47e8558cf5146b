"""Strata of an edition: its rules, the derived stratum of each registered structure, and
re-derivation (with an event per change) when rules or populations change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.editions import repository as editions_repo
from services.registry.editions.rules import STRATA_EDITABLE
from services.registry.models import Edition, Registration, StratumRule, Structure
from services.registry.strata import repository as repo
from services.registry.strata.rules import Rule, derive_stratum, rules_problems
from services.registry.strata.schemas import (
    RederivationOut,
    RulesIn,
    StratumChangeOut,
    StratumCountOut,
    StratumRuleIn,
    StratumRuleOut,
    UnmatchedOut,
    UnmatchedScope,
)
from services.registry.territories import service as territories
from services.registry.vocabulary import EditionStatus, StructureType
from shared.contracts.registry import StratumChangedV1
from shared.errors import Conflict, NotFound, Unprocessable
from shared.outbox import Outbox
from shared.pagination import Page, PageParams, paginate


def rule_of(row: StratumRule) -> Rule:
    return Rule(
        code=row.code,
        label=row.label,
        structure_types=tuple(row.structure_types),
        min_population=row.min_population,
        min_inclusive=row.min_inclusive,
        max_population=row.max_population,
        max_inclusive=row.max_inclusive,
        position=row.position,
    )


def rule_from(body: StratumRuleIn, position: int) -> Rule:
    return Rule(
        code=body.code,
        label=body.label,
        structure_types=tuple(t.value for t in body.structure_types),
        min_population=body.min_population,
        min_inclusive=body.min_inclusive,
        max_population=body.max_population,
        max_inclusive=body.max_inclusive,
        position=position,
    )


def rule_out(rule: Rule) -> StratumRuleOut:
    return StratumRuleOut(
        code=rule.code,
        label=rule.label,
        structure_types=list(rule.structure_types),
        min_population=rule.min_population,
        min_inclusive=rule.min_inclusive,
        max_population=rule.max_population,
        max_inclusive=rule.max_inclusive,
        position=rule.position,
    )


def check_rules(rules: Sequence[Rule]) -> None:
    problems = rules_problems(rules)
    if problems:
        field, message = problems[0]
        raise Unprocessable(message, field=field)


async def rules_of(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Rule]]:
    rows = await repo.rules(session, edition_ids)
    return {e: [rule_of(r) for r in found] for e, found in rows.items()}


async def replace_rules(
    session: AsyncSession, edition_id: uuid.UUID, rules: Sequence[Rule]
) -> None:
    check_rules(rules)
    await repo.replace_rules(
        session,
        edition_id,
        [
            {
                "code": r.code,
                "label": r.label,
                "structure_types": list(r.structure_types),
                "min_population": r.min_population,
                "min_inclusive": r.min_inclusive,
                "max_population": r.max_population,
                "max_inclusive": r.max_inclusive,
                "position": position,
            }
            for position, r in enumerate(rules)
        ],
    )


async def stratum_for(
    session: AsyncSession, edition_id: uuid.UUID, structure_type: str, population: int | None
) -> Rule | None:
    return derive_stratum(
        (await rules_of(session, [edition_id]))[edition_id], structure_type, population
    )


async def _edition(
    session: AsyncSession, edition_id: uuid.UUID, *, for_update: bool = False
) -> Edition:
    edition = await editions_repo.get_edition(session, edition_id, for_update=for_update)
    if edition is None:
        raise NotFound(f"no edition {edition_id}")
    return edition


async def counts(
    session: AsyncSession, edition_id: uuid.UUID, page: PageParams
) -> Page[StratumCountOut]:
    await _edition(session, edition_id)
    rules = (await rules_of(session, [edition_id]))[edition_id]
    accepted = await repo.accepted_per_stratum(session, edition_id)
    key = page.key(1)
    remaining = [r for r in rules if key is None or r.position > int(key[0])]
    chosen, cursor = paginate(remaining, page.limit, lambda r: (r.position,))
    return Page(
        items=[
            StratumCountOut(code=r.code, label=r.label, structures=accepted.get(r.code, 0))
            for r in chosen
        ],
        next_cursor=cursor,
    )


def _territory_of(structure: Structure) -> tuple[str, str] | None:
    """The (kind, code) of the territory a structure takes its population from."""
    if structure.type == StructureType.INTERCOMMUNALITY and structure.epci_siren:
        return "epci", structure.epci_siren
    if structure.type == StructureType.DEPARTEMENT and structure.departement_code:
        return "departement", structure.departement_code
    if structure.type == StructureType.REGION and structure.region_code:
        return "region", structure.region_code
    if structure.commune_code:
        return "commune", structure.commune_code
    return None


async def _populations(
    session: AsyncSession, structures: Sequence[Structure]
) -> dict[uuid.UUID, int | None]:
    """Each structure's population as the territories hold it now (one query per kind of
    territory; a structure whose territory is not found keeps its own)."""
    places = {s.id: _territory_of(s) for s in structures}
    wanted: dict[str, list[str]] = {}
    for place in places.values():
        if place is not None:
            wanted.setdefault(place[0], []).append(place[1])
    found = await territories.current_populations(session, wanted)
    return {
        s.id: found[place] if (place := places[s.id]) in found else s.population for s in structures
    }


async def rederive(
    session: AsyncSession, outbox: Outbox, edition: Edition, *, refresh_populations: bool
) -> RederivationOut:
    """Derive anew the stratum of every live registration; one event per change."""
    rules = (await rules_of(session, [edition.id]))[edition.id]
    rows = await repo.live_registrations(session, edition.id)
    current = await _populations(session, [s for _, s in rows]) if refresh_populations else {}
    populations: dict[uuid.UUID, int | None] = {}
    changes: list[StratumChangeOut] = []
    updates: list[tuple[uuid.UUID, str | None, str | None]] = []
    unmatched = 0
    for registration, structure in rows:
        population = structure.population
        if refresh_populations:
            population = current[structure.id]
            if population != structure.population:
                populations[structure.id] = population
        rule = derive_stratum(rules, structure.type, population)
        code, label = (rule.code, rule.label) if rule else (None, None)
        unmatched += rule is None
        if code == registration.stratum_code and label == registration.stratum_label:
            continue
        updates.append((registration.id, code, label))
        changes.append(
            StratumChangeOut(
                registration_id=registration.id,
                structure_id=structure.id,
                from_code=registration.stratum_code,
                to_code=code,
            )
        )
        await outbox.add(
            session,
            StratumChangedV1(
                edition_id=edition.id,
                registration_id=registration.id,
                structure_id=structure.id,
                population=population,
                from_code=registration.stratum_code,
                from_label=registration.stratum_label,
                to_code=code,
                to_label=label,
            ),
            edition=edition.id,
        )
    await repo.set_populations(session, populations)
    await repo.set_strata(session, updates)
    return RederivationOut(rules=[rule_out(r) for r in rules], changes=changes, unmatched=unmatched)


def _check_editable(edition: Edition) -> None:
    if EditionStatus(edition.status) not in STRATA_EDITABLE:
        raise Conflict(
            f"the strata of edition {edition.year} are fixed once fieldwork starts "
            f"(status {edition.status})"
        )


async def set_rules(
    session: AsyncSession, outbox: Outbox, edition_id: uuid.UUID, body: RulesIn
) -> RederivationOut:
    edition = await _edition(session, edition_id, for_update=True)
    _check_editable(edition)
    await replace_rules(session, edition.id, [rule_from(r, i) for i, r in enumerate(body.rules)])
    return await rederive(session, outbox, edition, refresh_populations=False)


async def refresh(session: AsyncSession, outbox: Outbox, edition_id: uuid.UUID) -> RederivationOut:
    edition = await _edition(session, edition_id, for_update=True)
    _check_editable(edition)
    return await rederive(session, outbox, edition, refresh_populations=True)


async def follow_populations(session: AsyncSession, outbox: Outbox) -> int:
    """After a territory import: the strata of every edition still open to changes are derived
    anew from the new populations (one `registry.structure.stratum_changed.v1` per change);
    returns how many registrations changed stratum. Editions in fieldwork or later keep theirs."""
    changed = 0
    for edition in await repo.editions_in(session, [s.value for s in STRATA_EDITABLE]):
        changed += len((await rederive(session, outbox, edition, refresh_populations=True)).changes)
    return changed


_SCAN_BATCH = 1000


async def list_unmatched(
    session: AsyncSession, edition_id: uuid.UUID, page: PageParams, scope: UnmatchedScope
) -> Page[UnmatchedOut]:
    """Structures no rule of the edition matches, by structure id: those registered in it
    (`registrations`), or every structure of the registry (`structures`, scanned in batches)."""
    await _edition(session, edition_id)
    key = page.key(1)
    after = uuid.UUID(str(key[0])) if key else None
    found: list[tuple[Structure, Registration | None]] = []
    if scope == "registrations":
        found = [(s, r) for s, r in await repo.unmatched(session, edition_id, after, page.limit)]
    else:
        rules = (await rules_of(session, [edition_id]))[edition_id]
        while len(found) <= page.limit:
            batch = await repo.structures_with_registration(session, edition_id, after, _SCAN_BATCH)
            found += [
                (s, r) for s, r in batch if derive_stratum(rules, s.type, s.population) is None
            ]
            if len(batch) < _SCAN_BATCH:
                break
            after = batch[-1][0].id
    chosen, cursor = paginate(found, page.limit, lambda pair: (pair[0].id,))
    return Page(
        items=[
            UnmatchedOut(
                registration_id=r.id if r else None,
                structure_id=s.id,
                structure_name=s.name,
                structure_type=s.type,
                population=s.population,
                status=r.status if r else None,
            )
            for s, r in chosen
        ],
        next_cursor=cursor,
    )
