"""Queries on territories."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.territories.models import Commune, Departement, Epci, Region


async def get_commune(session: AsyncSession, code: str) -> Commune | None:
    return await session.get(Commune, code)


async def get_epci(session: AsyncSession, siren: str) -> Epci | None:
    return await session.get(Epci, siren)


async def get_departement(session: AsyncSession, code: str) -> Departement | None:
    return await session.get(Departement, code)


async def get_region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def population_of_departement(session: AsyncSession, code: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Commune.population), 0)).where(
            Commune.departement_code == code
        )
    )
    return int(total or 0)


async def population_of_region(session: AsyncSession, code: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Commune.population), 0)).where(Commune.region_code == code)
    )
    return int(total or 0)
