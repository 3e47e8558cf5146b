"""Queries on territories: set-based upserts of an import, lookups, searches and lists."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.territories.models import (
    Commune,
    CommunePart,
    Departement,
    Epci,
    EpciMember,
    Region,
    TerritoryImport,
)
from services.registry.territories.rules import KindCounts

# --- import: one statement per kind ---------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # element type of the array it travels in
    transform: str = "{}"  # SQL applied to the unnested value, e.g. to split a joined list


@dataclass(frozen=True)
class UpsertSpec:
    """How one kind of territory is written: table, key, attributes, population kind."""

    table: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]  # the key columns first, then the attributes
    population_kind: str  # SQL giving the kind in territory_populations ('commune' or s.kind)


def _upsert_sql(spec: UpsertSpec) -> str:
    """The statement of one kind; its identifiers come from the specs below, never from input
    (values travel as bound arrays)."""
    names = [c.name for c in spec.columns]
    attributes = [n for n in names if n not in spec.key]
    params = ", ".join(f"CAST(:c{i} AS {c.sql_type}[])" for i, c in enumerate(spec.columns))
    staged = ", ".join(f"{c.transform.format('u.' + c.name)} AS {c.name}" for c in spec.columns)
    on_key = " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
    key_list = ", ".join(spec.key)
    old_row = ", ".join(f"t.{a}" for a in attributes)
    new_row = ", ".join(f"s.{a}" for a in attributes)
    sets = ", ".join(f"{a} = excluded.{a}" for a in [*attributes, "vintage"])
    current = ", ".join(f"t.{a}" for a in [*attributes, "vintage"])
    incoming = ", ".join(f"excluded.{a}" for a in [*attributes, "vintage"])
    # Every sub-statement sees the table as it was before the statement: `old` tells what the
    # upsert changes, and rows whose attributes and vintage are the same are not rewritten.
    return f"""
    WITH s AS (SELECT {staged} FROM unnest({params}) AS u({", ".join(names)})),
    old AS (
        SELECT ({old_row}) IS DISTINCT FROM ({new_row}) AS changed
        FROM s JOIN {spec.table} t ON {on_key}
    ),
    up AS (
        INSERT INTO {spec.table} AS t ({", ".join(names)}, vintage)
        SELECT {", ".join(names)}, :vintage FROM s
        ON CONFLICT ({key_list}) DO UPDATE SET {sets}
        WHERE ({current}) IS DISTINCT FROM ({incoming})
        RETURNING 1
    ),
    pop AS (
        INSERT INTO territory_populations AS p (kind, code, vintage, population)
        SELECT {spec.population_kind}, s.{spec.key[-1]}, :vintage, s.population
        FROM s WHERE s.population IS NOT NULL
        ON CONFLICT (kind, code, vintage) DO UPDATE SET population = excluded.population
        WHERE p.population <> excluded.population
        RETURNING 1
    ),
    dropped AS (
        DELETE FROM territory_populations p
        WHERE p.vintage = :vintage AND p.kind IN (SELECT DISTINCT {spec.population_kind} FROM s)
          AND NOT EXISTS (
            SELECT 1 FROM s WHERE {spec.population_kind} = p.kind
              AND s.{spec.key[-1]} = p.code AND s.population IS NOT NULL
          )
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM s) AS received,
           (SELECT count(*) FROM s) - (SELECT count(*) FROM old) AS created,
           (SELECT count(*) FROM old WHERE changed) AS updated,
           (SELECT count(*) FROM s WHERE population IS NULL) AS without_population
    """


async def upsert(
    session: AsyncSession, spec: UpsertSpec, vintage: int, values: Sequence[Sequence[Any]]
) -> KindCounts:
    """Insert or update every row of one kind in one statement; `values` are column arrays."""
    params: dict[str, Any] = {f"c{i}": list(v) for i, v in enumerate(values)}
    params["vintage"] = vintage
    row = (await session.execute(text(_upsert_sql(spec)), params)).one()
    received, created, updated, without = (int(v) for v in row)
    return KindCounts(
        received=received,
        created=created,
        updated=updated,
        unchanged=received - created - updated,
        without_population=without,
    )


async def replace_members(
    session: AsyncSession, sirens: Sequence[str], codes: Sequence[str]
) -> tuple[int, int]:
    """Make the EPCI memberships exactly the given pairs; returns (created, removed)."""
    row = (
        await session.execute(
            text(
                """
                WITH s AS (
                    SELECT * FROM unnest(CAST(:sirens AS text[]), CAST(:codes AS text[]))
                    AS s(epci_siren, commune_code)
                ),
                gone AS (
                    DELETE FROM epci_members m WHERE NOT EXISTS (
                        SELECT 1 FROM s
                        WHERE s.epci_siren = m.epci_siren AND s.commune_code = m.commune_code
                    )
                    RETURNING 1
                ),
                new AS (
                    INSERT INTO epci_members (epci_siren, commune_code)
                    SELECT epci_siren, commune_code FROM s
                    ON CONFLICT DO NOTHING
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM gone)
                """
            ),
            {"sirens": list(sirens), "codes": list(codes)},
        )
    ).one()
    return int(row[0]), int(row[1])


async def lock_imports(session: AsyncSession) -> None:
    """One import at a time (until this transaction ends)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('registry.territories.import'))")
    )


def _latest() -> Any:
    return select(func.max(TerritoryImport.vintage)).scalar_subquery()


async def latest_vintage(session: AsyncSession) -> int | None:
    value = await session.scalar(select(func.max(TerritoryImport.vintage)))
    return int(value) if value is not None else None


async def record_import(
    session: AsyncSession, vintage: int, source: str, report: dict[str, Any]
) -> TerritoryImport:
    row = TerritoryImport(vintage=vintage, source=source, report=report)
    session.add(row)
    await session.flush()
    await session.refresh(row, ["imported_at"])
    return row


async def list_imports(
    session: AsyncSession, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[TerritoryImport]:
    """Import runs, newest first; `after` is the (imported_at, id) of the last one seen."""
    query = select(TerritoryImport)
    if after is not None:
        query = query.where(
            tuple_(TerritoryImport.imported_at, TerritoryImport.id) < tuple_(*after)
        )
    query = query.order_by(TerritoryImport.imported_at.desc(), TerritoryImport.id.desc())
    return list((await session.scalars(query.limit(limit + 1))).all())


# --- lookups (current rows only) ------------------------------------------------------------


async def current_commune(session: AsyncSession, code: str) -> Commune | None:
    query = select(Commune).where(Commune.code == code, Commune.vintage == _latest())
    return (await session.scalars(query)).one_or_none()


async def current_parts_with_code(session: AsyncSession, code: str) -> list[CommunePart]:
    query = select(CommunePart).where(CommunePart.code == code, CommunePart.vintage == _latest())
    return list((await session.scalars(query.order_by(CommunePart.kind))).all())


async def parts_of(session: AsyncSession, parent_code: str) -> list[CommunePart]:
    query = select(CommunePart).where(
        CommunePart.parent_code == parent_code, CommunePart.vintage == _latest()
    )
    return list((await session.scalars(query.order_by(CommunePart.code, CommunePart.kind))).all())


async def epci_of(session: AsyncSession, commune_code: str) -> Epci | None:
    query = (
        select(Epci)
        .join(EpciMember, EpciMember.epci_siren == Epci.siren)
        .where(EpciMember.commune_code == commune_code, Epci.vintage == _latest())
    )
    return (await session.scalars(query)).first()


async def current_epci(session: AsyncSession, siren: str) -> Epci | None:
    query = select(Epci).where(Epci.siren == siren, Epci.vintage == _latest())
    return (await session.scalars(query)).one_or_none()


async def members_of(session: AsyncSession, siren: str) -> list[Commune]:
    query = (
        select(Commune)
        .join(EpciMember, EpciMember.commune_code == Commune.code)
        .where(EpciMember.epci_siren == siren, Commune.vintage == _latest())
        .order_by(func.coalesce(Commune.population, -1).desc(), Commune.code)
    )
    return list((await session.scalars(query)).all())


async def current_departement(session: AsyncSession, code: str) -> Departement | None:
    query = select(Departement).where(Departement.code == code, Departement.vintage == _latest())
    return (await session.scalars(query)).one_or_none()


async def current_region(session: AsyncSession, code: str) -> Region | None:
    query = select(Region).where(Region.code == code, Region.vintage == _latest())
    return (await session.scalars(query)).one_or_none()


# (code, population, vintage) columns of each kind of territory.
_CURRENT_POPULATION: dict[str, tuple[Any, Any, Any]] = {
    "commune": (Commune.code, Commune.population, Commune.vintage),
    "epci": (Epci.siren, Epci.population, Epci.vintage),
    "departement": (Departement.code, Departement.population, Departement.vintage),
    "region": (Region.code, Region.population, Region.vintage),
}


async def current_populations(
    session: AsyncSession, kind: str, codes: Sequence[str]
) -> dict[str, int | None]:
    """The latest vintage's population of each territory of a kind found among `codes`."""
    if not codes:
        return {}
    key, population, vintage = _CURRENT_POPULATION[kind]
    rows = await session.execute(
        select(key, population).where(key.in_(set(codes)), vintage == _latest())
    )
    return {code: population for code, population in rows}


async def populations(session: AsyncSession, kind: str, code: str) -> dict[int, int]:
    """The population of a territory in every imported vintage."""
    rows = await session.execute(
        text(
            "SELECT vintage, population FROM territory_populations "
            "WHERE kind = :kind AND code = :code ORDER BY vintage"
        ),
        {"kind": kind, "code": code},
    )
    return {int(v): int(p) for v, p in rows.all()}


# --- searches and lists ---------------------------------------------------------------------


def _ranked(
    query: Select[*tuple[Any, ...]],
    search_name: Any,
    population: Any,
    key: Any,
    q: str | None,
    after: tuple[int | str, ...] | None,
    limit: int,
) -> Select[*tuple[Any, ...]]:
    """Best match first (the whole name, then its start, a word's start, anywhere), then
    the largest population, then the code: a total order, so cursors are stable."""
    size = func.coalesce(population, -1)
    if not q:
        # Without a search, every rank is 0: order by size alone, which an index serves.
        if after is not None:
            _, neg_size, last = after
            query = query.where(
                or_(size < -int(neg_size), and_(size == -int(neg_size), key > last))
            )
        return query.add_columns(literal(0), size).order_by(size.desc(), key).limit(limit + 1)
    query = query.where(search_name.contains(q))
    rank = case(
        (search_name == q, 0),
        (search_name.startswith(q), 1),
        ((literal(" ") + search_name).contains(" " + q), 2),
        else_=3,
    )
    if after is not None:
        query = query.where(tuple_(rank, -size, key) > tuple_(*after))
    return query.add_columns(rank, size).order_by(rank, size.desc(), key).limit(limit + 1)


async def search_communes(
    session: AsyncSession,
    *,
    q: str | None,
    departement: str | None,
    region: str | None,
    after: tuple[int | str, ...] | None,
    limit: int,
) -> list[tuple[Commune, int, int]]:
    """Current communes matching, with each one's (rank, population key) for the cursor."""
    query = select(Commune).where(Commune.vintage == _latest())
    if departement is not None:
        query = query.where(Commune.departement_code == departement)
    if region is not None:
        query = query.where(Commune.region_code == region)
    ranked = _ranked(query, Commune.search_name, Commune.population, Commune.code, q, after, limit)
    rows = (await session.execute(ranked)).all()
    return [(row[0], int(row[1]), int(row[2])) for row in rows]


async def search_epcis(
    session: AsyncSession,
    *,
    q: str | None,
    departement: str | None,
    type_: str | None,
    after: tuple[int | str, ...] | None,
    limit: int,
) -> list[tuple[Epci, int, int]]:
    query = select(Epci).where(Epci.vintage == _latest())
    if type_ is not None:
        query = query.where(Epci.type == type_)
    if departement is not None:
        query = query.where(
            exists()
            .where(EpciMember.epci_siren == Epci.siren)
            .where(EpciMember.commune_code == Commune.code)
            .where(Commune.departement_code == departement)
        )
    ranked = _ranked(query, Epci.search_name, Epci.population, Epci.siren, q, after, limit)
    rows = (await session.execute(ranked)).all()
    return [(row[0], int(row[1]), int(row[2])) for row in rows]


def part_key() -> Any:
    """A commune part's unique sort key: its code, then its kind."""
    return CommunePart.code + literal(":") + CommunePart.kind


async def search_parts(
    session: AsyncSession,
    *,
    q: str | None,
    departement: str | None,
    kind: str | None,
    after: tuple[int | str, ...] | None,
    limit: int,
) -> list[tuple[CommunePart, str, int, int]]:
    """Current commune parts matching, each with its commune's name and its sort key."""
    query = (
        select(CommunePart, Commune.name)
        .join(Commune, Commune.code == CommunePart.parent_code)
        .where(CommunePart.vintage == _latest())
    )
    if departement is not None:
        query = query.where(CommunePart.departement_code == departement)
    if kind is not None:
        query = query.where(CommunePart.kind == kind)
    ranked = _ranked(
        query, CommunePart.search_name, CommunePart.population, part_key(), q, after, limit
    )
    rows = (await session.execute(ranked)).all()
    return [(row[0], str(row[1]), int(row[2]), int(row[3])) for row in rows]


async def list_departements(
    session: AsyncSession, *, region: str | None, after: str | None, limit: int
) -> list[Departement]:
    query = select(Departement).where(Departement.vintage == _latest())
    if region is not None:
        query = query.where(Departement.region_code == region)
    if after is not None:
        query = query.where(Departement.code > after)
    query = query.order_by(Departement.code).limit(limit + 1)
    return list((await session.scalars(query)).all())


async def list_regions(session: AsyncSession, *, after: str | None, limit: int) -> list[Region]:
    query = select(Region).where(Region.vintage == _latest())
    if after is not None:
        query = query.where(Region.code > after)
    return list((await session.scalars(query.order_by(Region.code).limit(limit + 1))).all())


# --- what each kind's upsert writes ---------------------------------------------------------

_TEXT = "text"
REGIONS = UpsertSpec(
    "regions",
    ("code",),
    (
        Column("code", _TEXT),
        Column("name", _TEXT),
        Column("chef_lieu_code", _TEXT),
        Column("zone", _TEXT),
        Column("population", "bigint"),
    ),
    "'region'",
)
DEPARTEMENTS = UpsertSpec(
    "departements",
    ("code",),
    (
        Column("code", _TEXT),
        Column("name", _TEXT),
        Column("region_code", _TEXT),
        Column("chef_lieu_code", _TEXT),
        Column("zone", _TEXT),
        Column("population", "bigint"),
    ),
    "'departement'",
)
COMMUNES = UpsertSpec(
    "communes",
    ("code",),
    (
        Column("code", _TEXT),
        Column("name", _TEXT),
        Column("search_name", _TEXT),
        Column("departement_code", _TEXT),
        Column("region_code", _TEXT),
        Column("siren", _TEXT),
        # Postal codes travel joined by spaces (unnest cannot take arrays of unequal arrays).
        Column("postal_codes", _TEXT, "string_to_array({}, ' ')"),
        Column("zone", _TEXT),
        Column("population", "integer"),
    ),
    "'commune'",
)
COMMUNE_PARTS = UpsertSpec(
    "commune_parts",
    ("kind", "code"),
    (
        Column("kind", _TEXT),
        Column("code", _TEXT),
        Column("name", _TEXT),
        Column("search_name", _TEXT),
        Column("parent_code", _TEXT),
        Column("departement_code", _TEXT),
        Column("region_code", _TEXT),
        Column("population", "integer"),
    ),
    "s.kind",
)
EPCIS = UpsertSpec(
    "epcis",
    ("siren",),
    (
        Column("siren", _TEXT),
        Column("name", _TEXT),
        Column("search_name", _TEXT),
        Column("type", _TEXT),
        Column("financing_mode", _TEXT),
        Column("population", "integer"),
        Column("population_municipale", "integer"),
    ),
    "'epci'",
)


def _cell(value: Any) -> Any:
    return " ".join(value) if isinstance(value, tuple) else value


async def upsert_rows(
    session: AsyncSession, spec: UpsertSpec, vintage: int, rows: Sequence[Any]
) -> KindCounts:
    """Upsert dataclass rows whose fields are named as the spec's columns."""
    values = [[_cell(getattr(row, c.name)) for row in rows] for c in spec.columns]
    return await upsert(session, spec, vintage, values)
