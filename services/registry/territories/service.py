"""What the rest of the registry asks of territories: a place and its legal population.

Other domains call only these functions (never the territory tables), so the territory model
can change (vintages, delegated communes...) without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.territories import repository as repo


@dataclass(frozen=True)
class Place:
    """A territory a structure stands in or for, with what strata and events need."""

    kind: str  # "commune", "epci", "departement" or "region"
    code: str  # INSEE code, or SIREN for an EPCI
    name: str
    population: int | None  # legal population of the latest vintage; None when unknown
    commune_code: str | None = None
    epci_siren: str | None = None
    departement_code: str | None = None
    region_code: str | None = None


async def commune(session: AsyncSession, code: str) -> Place | None:
    row = await repo.get_commune(session, code)
    if row is None:
        return None
    return Place(
        kind="commune",
        code=row.code,
        name=row.name,
        population=row.population,
        commune_code=row.code,
        departement_code=row.departement_code,
        region_code=row.region_code,
    )


async def epci(session: AsyncSession, siren: str) -> Place | None:
    row = await repo.get_epci(session, siren)
    if row is None:
        return None
    return Place(
        kind="epci", code=row.siren, name=row.name, population=row.population, epci_siren=row.siren
    )


async def departement(session: AsyncSession, code: str) -> Place | None:
    row = await repo.get_departement(session, code)
    if row is None:
        return None
    return Place(
        kind="departement",
        code=row.code,
        name=row.name,
        population=await repo.population_of_departement(session, row.code),
        departement_code=row.code,
        region_code=row.region_code,
    )


async def region(session: AsyncSession, code: str) -> Place | None:
    row = await repo.get_region(session, code)
    if row is None:
        return None
    return Place(
        kind="region",
        code=row.code,
        name=row.name,
        population=await repo.population_of_region(session, row.code),
        region_code=row.code,
    )
