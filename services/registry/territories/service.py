"""What the rest of the registry asks of territories, and the territory API's decisions.

Other domains call only `commune`, `commune_part`, `epci`, `departement` and `region` (never
the territory tables), so the territory model can change without touching them. Every lookup
answers from the latest imported vintage.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.base import tables
from services.registry.settings import RegistrySettings
from services.registry.territories import repository as repo
from services.registry.territories import sources
from services.registry.territories.models import (
    TerritoryImport,
)
from services.registry.territories.rules import (
    CursorError,
    DataSet,
    DataSetError,
    ImportReport,
    decode_cursor,
    encode_cursor,
    query_key,
)
from services.registry.territories.schemas import (
    CommuneDetailOut,
    CommuneOut,
    CommunePartOut,
    DepartementOut,
    EpciDetailOut,
    EpciOut,
    EpciRef,
    ImportOut,
    Page,
    RegionOut,
    VintagePopulation,
)
from shared.db import create_engine, create_session_factory, transaction
from shared.errors import Conflict, NotFound, Unprocessable
from shared.outbox import Outbox

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    """A territory a structure stands in or for, with what strata and events need."""

    kind: str  # "commune", "epci", "departement", "region", or a commune part's kind
    code: str  # INSEE code, or SIREN for an EPCI
    name: str
    population: int | None  # legal population of the latest vintage; None when unknown
    commune_code: str | None = None
    epci_siren: str | None = None
    departement_code: str | None = None
    region_code: str | None = None
    vintage: int | None = None  # the vintage the attributes come from
    parent_code: str | None = None  # for a delegated/associated commune or an arrondissement
    member_codes: tuple[str, ...] = ()  # for an EPCI: INSEE codes of its member communes


async def commune(session: AsyncSession, code: str) -> Place | None:
    """A current commune (`commune-actuelle`) by INSEE code."""
    row = await repo.current_commune(session, code)
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
        vintage=row.vintage,
    )


async def current_populations(
    session: AsyncSession, wanted: Mapping[str, Sequence[str]]
) -> dict[tuple[str, str], int | None]:
    """Latest populations of many territories at once, by (kind, code); kinds are `commune`,
    `epci`, `departement` and `region`. A territory not found is absent from the answer."""
    found: dict[tuple[str, str], int | None] = {}
    for kind, codes in wanted.items():
        for code, population in (await repo.current_populations(session, kind, codes)).items():
            found[(kind, code)] = population
    return found


async def commune_part(session: AsyncSession, code: str) -> Place | None:
    """A delegated or associated commune, or a municipal arrondissement, by INSEE code.

    `parent_code` (and `commune_code`) name the current commune it belongs to. When a code is
    both a delegated commune and the current commune it gave its code to, this returns the
    delegated one; `commune` returns the current one.
    """
    parts = await repo.current_parts_with_code(session, code)
    if not parts:
        return None
    part = parts[0]
    return Place(
        kind=part.kind,
        code=part.code,
        name=part.name,
        population=part.population,
        commune_code=part.parent_code,
        departement_code=part.departement_code,
        region_code=part.region_code,
        vintage=part.vintage,
        parent_code=part.parent_code,
    )


async def epci(session: AsyncSession, siren: str) -> Place | None:
    row = await repo.current_epci(session, siren)
    if row is None:
        return None
    members = await repo.members_of(session, row.siren)
    return Place(
        kind="epci",
        code=row.siren,
        name=row.name,
        population=row.population,
        epci_siren=row.siren,
        vintage=row.vintage,
        member_codes=tuple(m.code for m in members),
    )


async def departement(session: AsyncSession, code: str) -> Place | None:
    """A département; its population is the sum of its current communes' (None if none known)."""
    row = await repo.current_departement(session, code)
    if row is None:
        return None
    return Place(
        kind="departement",
        code=row.code,
        name=row.name,
        population=row.population,
        departement_code=row.code,
        region_code=row.region_code,
        vintage=row.vintage,
    )


async def region(session: AsyncSession, code: str) -> Place | None:
    """A région; its population is the sum of its current communes' (None if none known)."""
    row = await repo.current_region(session, code)
    if row is None:
        return None
    return Place(
        kind="region",
        code=row.code,
        name=row.name,
        population=row.population,
        region_code=row.code,
        vintage=row.vintage,
    )


# --- import ---------------------------------------------------------------------------------


def import_out(row: TerritoryImport) -> ImportOut:
    counts = {k: v for k, v in row.report.items() if k not in ("vintage", "source")}
    return ImportOut(
        id=row.id, vintage=row.vintage, source=row.source, imported_at=row.imported_at, **counts
    )


async def import_territories(
    session: AsyncSession, data: DataSet, *, source: str, started: float | None = None
) -> ImportOut:
    """Upsert a whole vintage, set-based, and record the run with its counts.

    Idempotent: importing the same data again changes nothing and reports every territory
    unchanged. An older vintage than the latest imported one is refused (its attributes
    would overwrite newer ones). `started` (a `time.perf_counter()`) lets the report's
    duration include reading the files.
    """
    started = time.perf_counter() if started is None else started
    await repo.lock_imports(session)
    latest = await repo.latest_vintage(session)
    if latest is not None and data.vintage < latest:
        raise Conflict(
            f"vintage {data.vintage} is older than the latest imported vintage {latest}",
            latest_vintage=latest,
        )
    vintage = data.vintage
    regions = await repo.upsert_rows(session, repo.REGIONS, vintage, data.regions)
    departements = await repo.upsert_rows(session, repo.DEPARTEMENTS, vintage, data.departements)
    communes = await repo.upsert_rows(session, repo.COMMUNES, vintage, data.communes)
    parts = await repo.upsert_rows(session, repo.COMMUNE_PARTS, vintage, data.parts)
    epcis = await repo.upsert_rows(session, repo.EPCIS, vintage, data.epcis)
    created, removed = await repo.replace_members(
        session, [s for s, _ in data.members], [c for _, c in data.members]
    )
    report = ImportReport(
        vintage=vintage,
        source=source,
        regions=regions,
        departements=departements,
        communes=communes,
        commune_parts=parts,
        epcis=epcis,
        memberships_created=created,
        memberships_removed=removed,
        seconds=round(time.perf_counter() - started, 3),
    )
    row = await repo.record_import(session, vintage, source, asdict(report))
    log.info(
        "territories imported",
        extra={
            "import_id": str(row.id),
            "vintage": vintage,
            "seconds": report.seconds,
            "territories_created": sum(
                c.created for c in (regions, departements, communes, parts, epcis)
            ),
            "territories_updated": sum(
                c.updated for c in (regions, departements, communes, parts, epcis)
            ),
        },
    )
    return import_out(row)


async def _read_and_import(
    session: AsyncSession, outbox: Outbox, source: str, read: Callable[[], DataSet]
) -> ImportOut:
    """Read (in a thread: it is CPU work) then import; a bad data set is a 422 naming each error."""
    started = time.perf_counter()
    try:
        data = await asyncio.to_thread(read)
    except DataSetError as exc:
        raise Unprocessable(f"the data set cannot be imported: {exc}", errors=exc.errors) from exc
    report = await import_territories(session, data, source=source, started=started)
    return await _strata_follow(session, outbox, report)


async def _strata_follow(session: AsyncSession, outbox: Outbox, report: ImportOut) -> ImportOut:
    """Strata follow populations, in the import's own transaction."""
    from services.registry.strata import service as strata  # imports this module: call time

    changed = await strata.follow_populations(session, outbox)
    return report.model_copy(update={"strata_changed": changed})


async def import_bundled(session: AsyncSession, outbox: Outbox, vintage: int | None) -> ImportOut:
    return await _read_and_import(
        session, outbox, "bundled", partial(sources.read_bundled, vintage)
    )


async def import_uploaded(
    session: AsyncSession, outbox: Outbox, vintage: int, files: dict[str, bytes]
) -> ImportOut:
    return await _read_and_import(
        session, outbox, "upload", partial(sources.read_files, vintage, files)
    )


async def import_into_database(
    settings: RegistrySettings, folder: Path | None = None, vintage: int | None = None
) -> ImportOut:
    """What `barometer registry import-territories` does: read, import, commit.

    The bundled data set when `folder` is None; `vintage` is then the bundled one's by default.
    Raises `DataSetError` for a data set that cannot be read and `Conflict` for an old vintage.
    """
    started = time.perf_counter()
    if folder is None:
        data = await asyncio.to_thread(sources.read_bundled, vintage)
        source = "bundled"
    else:
        if vintage is None:
            raise DataSetError(["say which vintage the files are (e.g. --vintage 2027)"])
        data = await asyncio.to_thread(sources.read_folder, folder, vintage)
        source = str(folder)
    engine = create_engine(settings)
    try:
        async with transaction(create_session_factory(engine)) as session:
            report = await import_territories(session, data, source=source, started=started)
            report = await _strata_follow(session, Outbox(tables.outbox), report)
    finally:
        await engine.dispose()
    return report.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})


async def has_imports(settings: RegistrySettings) -> bool:
    engine = create_engine(settings)
    try:
        async with transaction(create_session_factory(engine)) as session:
            return await repo.latest_vintage(session) is not None
    finally:
        await engine.dispose()


async def list_imports(session: AsyncSession, *, limit: int, cursor: str | None) -> Page[ImportOut]:
    after: tuple[datetime, uuid.UUID] | None = None
    if cursor is not None:
        at, id_ = _decode(cursor, (str, str))
        try:
            after = (datetime.fromisoformat(str(at)), uuid.UUID(str(id_)))
        except ValueError as exc:
            raise Unprocessable("the cursor is not one this API returned", field="cursor") from exc
    rows = await repo.list_imports(session, limit=limit, after=after)
    return _page(rows, limit, import_out, lambda r: [r.imported_at.isoformat(), str(r.id)])


# --- reads of the API -----------------------------------------------------------------------


def _decode(cursor: str, shape: tuple[type, ...]) -> tuple[int | str, ...]:
    try:
        return decode_cursor(cursor, shape)
    except CursorError as exc:
        raise Unprocessable(str(exc), field="cursor") from exc


def _query(q: str | None) -> str | None:
    if q is None:
        return None
    key = query_key(q)
    if not key:
        raise Unprocessable("q must hold at least one letter or digit", field="q")
    return key


def _ranked_after(cursor: str | None) -> tuple[int | str, ...] | None:
    if cursor is None:
        return None
    rank, size, code = _decode(cursor, (int, int, str))
    return (rank, -int(size), code)


def _page(
    rows: Sequence[R], limit: int, out: Callable[[R], T], key: Callable[[R], list[int | str]]
) -> Page[T]:
    """The first `limit` rows (one more was fetched to tell whether a next page exists)."""
    page = rows[:limit]
    next_cursor = encode_cursor(key(page[-1])) if len(rows) > limit else None
    return Page[T](items=[out(r) for r in page], next_cursor=next_cursor)


async def search_communes(
    session: AsyncSession,
    *,
    q: str | None,
    departement: str | None,
    region: str | None,
    limit: int,
    cursor: str | None,
) -> Page[CommuneOut]:
    rows = await repo.search_communes(
        session,
        q=_query(q),
        departement=departement,
        region=region,
        after=_ranked_after(cursor),
        limit=limit,
    )
    return _page(
        rows,
        limit,
        lambda r: CommuneOut.model_validate(r[0]),
        lambda r: [r[1], r[2], r[0].code],
    )


async def search_epcis(
    session: AsyncSession,
    *,
    q: str | None,
    departement: str | None,
    type_: str | None,
    limit: int,
    cursor: str | None,
) -> Page[EpciOut]:
    rows = await repo.search_epcis(
        session,
        q=_query(q),
        departement=departement,
        type_=type_,
        after=_ranked_after(cursor),
        limit=limit,
    )
    return _page(
        rows, limit, lambda r: EpciOut.model_validate(r[0]), lambda r: [r[1], r[2], r[0].siren]
    )


async def search_parts(
    session: AsyncSession,
    *,
    q: str | None,
    departement: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> Page[CommunePartOut]:
    rows = await repo.search_parts(
        session,
        q=_query(q),
        departement=departement,
        kind=kind,
        after=_ranked_after(cursor),
        limit=limit,
    )
    return _page(
        rows,
        limit,
        lambda r: CommunePartOut.model_validate(r[0]).model_copy(update={"parent_name": r[1]}),
        lambda r: [r[2], r[3], f"{r[0].code}:{r[0].kind}"],
    )


async def commune_detail(session: AsyncSession, code: str) -> CommuneDetailOut:
    row = await repo.current_commune(session, code)
    if row is None:
        part = await commune_part(session, code)
        if part is not None:
            raise NotFound(
                f"{code} is no current commune: it is a {part.kind} of {part.parent_code}",
                parent_code=part.parent_code,
            )
        raise NotFound(f"no current commune with INSEE code {code!r}")
    parts = await repo.parts_of(session, row.code)
    member_of = await repo.epci_of(session, row.code)
    populations = await repo.populations(session, "commune", row.code)
    return CommuneDetailOut(
        **CommuneOut.model_validate(row).model_dump(),
        epci=EpciRef.model_validate(member_of) if member_of else None,
        parts=[CommunePartOut.model_validate(p) for p in parts],
        populations=[VintagePopulation(vintage=v, population=p) for v, p in populations.items()],
    )


async def epci_detail(session: AsyncSession, siren: str) -> EpciDetailOut:
    row = await repo.current_epci(session, siren)
    if row is None:
        raise NotFound(f"no current EPCI with SIREN {siren!r}")
    members = await repo.members_of(session, row.siren)
    return EpciDetailOut(
        **EpciOut.model_validate(row).model_dump(),
        members=[CommuneOut.model_validate(m) for m in members],
    )


async def departement_detail(session: AsyncSession, code: str) -> DepartementOut:
    row = await repo.current_departement(session, code)
    if row is None:
        raise NotFound(f"no current département with code {code!r}")
    return DepartementOut.model_validate(row)


async def region_detail(session: AsyncSession, code: str) -> RegionOut:
    row = await repo.current_region(session, code)
    if row is None:
        raise NotFound(f"no current région with code {code!r}")
    return RegionOut.model_validate(row)


async def list_departements(
    session: AsyncSession, *, region: str | None, limit: int, cursor: str | None
) -> Page[DepartementOut]:
    after = str(_decode(cursor, (str,))[0]) if cursor is not None else None
    rows = await repo.list_departements(session, region=region, after=after, limit=limit)
    return _page(rows, limit, DepartementOut.model_validate, lambda r: [r.code])


async def list_regions(session: AsyncSession, *, limit: int, cursor: str | None) -> Page[RegionOut]:
    after = str(_decode(cursor, (str,))[0]) if cursor is not None else None
    rows = await repo.list_regions(session, after=after, limit=limit)
    return _page(rows, limit, RegionOut.model_validate, lambda r: [r.code])
