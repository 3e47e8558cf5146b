"""Decisions on structures: territory and population, duplicates, sites and their contact
points, certifications, and bulk creation from CSV."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Structure
from services.registry.structures import repository as repo
from services.registry.structures.rules import Held, territory_field
from services.registry.structures.schemas import (
    CertificationIn,
    CertificationOut,
    ContactOut,
    ImportOut,
    RowError,
    SiteAddIn,
    SiteIn,
    SiteOut,
    StructureIn,
    StructureOut,
)
from services.registry.territories import service as territories
from services.registry.vocabulary import CertificationName, StructureType
from shared.errors import Conflict, NotFound, Unprocessable
from shared.pagination import Page, PageParams, paginate


class DuplicateStructure(Conflict):
    slug = "duplicate-structure"
    title = "The structure already exists"


# --- reads ------------------------------------------------------------------------------------


async def structures_out(
    session: AsyncSession, structures: Sequence[Structure]
) -> list[StructureOut]:
    ids = [s.id for s in structures]
    certifications = await repo.certifications_of(session, ids)
    sites = await repo.sites_of(session, ids)
    contacts = await repo.contacts_of(
        session, [site.id for found in sites.values() for site in found]
    )
    return [
        StructureOut(
            id=s.id,
            name=s.name,
            type=StructureType(s.type),
            siren=s.siren,
            commune_code=s.commune_code,
            epci_siren=s.epci_siren,
            departement_code=s.departement_code,
            region_code=s.region_code,
            population=s.population,
            certifications=[
                CertificationOut(name=c.name, obtained_on=c.obtained_on, expires_on=c.expires_on)
                for c in certifications[s.id]
            ],
            sites=[
                SiteOut(
                    id=site.id,
                    name=site.name,
                    principal=site.principal,
                    commune_code=site.commune_code,
                    departement_code=site.departement_code,
                    contacts=[
                        ContactOut(channel=c.channel, value=c.value) for c in contacts[site.id]
                    ],
                )
                for site in sites[s.id]
            ],
            created_at=s.created_at,
        )
        for s in structures
    ]


async def get_structure(session: AsyncSession, structure_id: uuid.UUID) -> Structure | None:
    return await repo.get_structure(session, structure_id)


async def find_structure(session: AsyncSession, structure_id: uuid.UUID) -> Structure:
    structure = await repo.get_structure(session, structure_id)
    if structure is None:
        raise NotFound(f"no structure {structure_id}")
    return structure


async def read_structure(session: AsyncSession, structure_id: uuid.UUID) -> StructureOut:
    return (await structures_out(session, [await find_structure(session, structure_id)]))[0]


async def list_structures(
    session: AsyncSession,
    page: PageParams,
    *,
    departement: str | None,
    region: str | None,
    structure_type: StructureType | None,
    certification: CertificationName | None,
) -> Page[StructureOut]:
    rows = await repo.list_structures(
        session,
        departement=departement,
        region=region,
        structure_type=structure_type.value if structure_type else None,
        certification=certification.value if certification else None,
        key=page.key(2),
        limit=page.limit,
    )
    chosen, cursor = paginate(rows, page.limit, lambda s: (s.name, s.id))
    return Page(items=await structures_out(session, chosen), next_cursor=cursor)


async def held_certifications(session: AsyncSession, structure_id: uuid.UUID) -> list[Held]:
    rows = (await repo.certifications_of(session, [structure_id]))[structure_id]
    return [Held(c.name, c.obtained_on, c.expires_on) for c in rows]


@dataclass(frozen=True)
class SiteView:
    id: uuid.UUID
    name: str
    principal: bool
    commune_code: str | None
    departement_code: str | None
    contacts: list[tuple[str, str]]


async def sites_of(session: AsyncSession, structure_id: uuid.UUID) -> list[SiteView]:
    sites = (await repo.sites_of(session, [structure_id]))[structure_id]
    contacts = await repo.contacts_of(session, [s.id for s in sites])
    return [
        SiteView(
            s.id,
            s.name,
            s.principal,
            s.commune_code,
            s.departement_code,
            [(c.channel, c.value) for c in contacts[s.id]],
        )
        for s in sites
    ]


# --- creation ---------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A structure checked against the territories, ready to insert."""

    structure: Structure
    certifications: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)


async def _place(
    session: AsyncSession, structure_type: StructureType, code: str
) -> territories.Place:
    wanted = territory_field(structure_type)
    lookup = {
        "epci_siren": (territories.epci, "EPCI SIREN"),
        "departement_code": (territories.departement, "département code"),
        "region_code": (territories.region, "région code"),
        "commune_code": (territories.commune, "commune INSEE code"),
    }[wanted]
    place = await lookup[0](session, code)
    if place is None:
        raise Unprocessable(f"unknown {lookup[1]} {code!r}", field=wanted)
    return place


def _site_rows(
    structure_id: uuid.UUID,
    sites: Sequence[tuple[SiteIn, territories.Place | None]],
    default: territories.Place,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    site_rows: list[dict[str, Any]] = []
    contact_rows: list[dict[str, Any]] = []
    for body, place in sites:
        where = place or default
        site_id = uuid.uuid4()
        site_rows.append(
            {
                "id": site_id,
                "structure_id": structure_id,
                "name": body.name,
                "principal": body.principal,
                "commune_code": where.commune_code,
                "departement_code": where.departement_code,
            }
        )
        contact_rows.extend(
            {"site_id": site_id, "channel": c.channel, "value": str(c.value), "position": i}
            for i, c in enumerate(body.contacts)
        )
    return site_rows, contact_rows


async def _site_places(
    session: AsyncSession, sites: Sequence[SiteIn], prefix: str = "sites"
) -> list[tuple[SiteIn, territories.Place | None]]:
    placed: list[tuple[SiteIn, territories.Place | None]] = []
    for i, site in enumerate(sites):
        place = None
        if site.commune_code is not None:
            place = await territories.commune(session, site.commune_code)
            if place is None:
                raise Unprocessable(
                    f"unknown commune INSEE code {site.commune_code!r}",
                    field=f"{prefix}[{i}].commune_code",
                )
        placed.append((site, place))
    return placed


async def prepare(session: AsyncSession, body: StructureIn) -> Prepared:
    code = getattr(body, territory_field(body.type))
    place = await _place(session, body.type, code)
    structure = Structure(
        id=uuid.uuid4(),
        name=body.name,
        type=body.type.value,
        siren=body.siren,
        territory_code=place.code,
        commune_code=place.commune_code,
        epci_siren=place.epci_siren,
        departement_code=place.departement_code,
        region_code=place.region_code,
        population=place.population,
    )
    sites = body.sites or [SiteIn(name=body.name, principal=True)]
    site_rows, contact_rows = _site_rows(structure.id, await _site_places(session, sites), place)
    return Prepared(
        structure=structure,
        certifications=[
            {
                "structure_id": structure.id,
                "name": c.name.value,
                "obtained_on": c.obtained_on,
                "expires_on": c.expires_on,
            }
            for c in body.certifications
        ],
        sites=site_rows,
        contacts=contact_rows,
    )


async def _insert(session: AsyncSession, prepared: Sequence[Prepared]) -> None:
    await repo.add_structures(
        session,
        [p.structure for p in prepared],
        [row for p in prepared for row in p.certifications],
        [row for p in prepared for row in p.sites],
        [row for p in prepared for row in p.contacts],
    )


def _duplicate_of(prepared: Structure, existing: Sequence[Structure]) -> Structure | None:
    for other in existing:
        if prepared.siren is not None and other.siren == prepared.siren:
            return other
        if (other.type, other.territory_code) == (prepared.type, prepared.territory_code):
            return other
    return None


def _duplicate_reason(new: Structure, existing: Structure) -> str:
    if new.siren is not None and existing.siren == new.siren:
        return f"a structure with SIREN {new.siren} exists: {existing.id} ({existing.name})"
    return f"a {new.type} of territory {new.territory_code} exists: {existing.id} ({existing.name})"


async def create_structure(session: AsyncSession, body: StructureIn) -> StructureOut:
    prepared = await prepare(session, body)
    s = prepared.structure
    existing = await repo.duplicates(
        session, [s.siren] if s.siren else [], [(s.type, s.territory_code)]
    )
    duplicate = _duplicate_of(s, existing)
    if duplicate is not None:
        raise DuplicateStructure(
            _duplicate_reason(s, duplicate),
            existing_id=str(duplicate.id),
            existing=f"/v1/structures/{duplicate.id}",
        )
    await _insert(session, [prepared])
    await session.refresh(s, ["created_at"])
    return (await structures_out(session, [s]))[0]


async def add_site(session: AsyncSession, structure_id: uuid.UUID, body: SiteAddIn) -> StructureOut:
    structure = await find_structure(session, structure_id)
    placed = await _site_places(session, [body], prefix="site")
    default = territories.Place(
        kind="commune",
        code=structure.territory_code,
        name=structure.name,
        population=None,
        commune_code=structure.commune_code,
        departement_code=structure.departement_code,
    )
    site_rows, contact_rows = _site_rows(structure.id, placed, default)
    await repo.add_sites(session, site_rows, contact_rows)
    return (await structures_out(session, [structure]))[0]


async def set_certification(
    session: AsyncSession, structure_id: uuid.UUID, body: CertificationIn
) -> StructureOut:
    structure = await find_structure(session, structure_id)
    await repo.upsert_certification(
        session,
        {
            "structure_id": structure.id,
            "name": body.name.value,
            "obtained_on": body.obtained_on,
            "expires_on": body.expires_on,
        },
    )
    return (await structures_out(session, [structure]))[0]


# --- CSV --------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "name",
    "type",
    "siren",
    "territory_code",
    "email",
    "phone",
    "website",
    "address",
    "social_network",
)
_CONTACT_COLUMNS = (
    ("email", "email"),
    ("phone", "phone"),
    ("website", "website"),
    ("address", "letter"),
    ("social_network", "social_network"),
)


def _row_body(row: dict[str, str]) -> StructureIn:
    def cell(name: str) -> str | None:
        value = (row.get(name) or "").strip()
        return value or None

    kind = cell("type") or ""
    try:
        wanted = territory_field(StructureType(kind))
    except ValueError:
        wanted = "commune_code"  # the schema reports the unknown type
    contacts = [
        {"channel": channel, "value": cell(column)}
        for column, channel in _CONTACT_COLUMNS
        if cell(column) is not None
    ]
    return StructureIn.model_validate(
        {
            "name": cell("name"),
            "type": kind,
            "siren": cell("siren"),
            wanted: cell("territory_code"),
            "sites": [{"name": cell("name") or "-", "principal": True, "contacts": contacts}],
        }
    )


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def read_csv(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Rows with their line numbers (the header is line 1) and the header's columns."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(
            sample.splitlines()[0] if sample else "", delimiters=",;"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        rows.append((reader.line_num, row))
    return rows, header


async def import_csv(session: AsyncSession, text: str, *, partial: bool) -> ImportOut:
    """Create one structure per row; every bad row is reported with its line and reason.
    Nothing is created when a row is bad, unless `partial` (then only the good rows are)."""
    rows, header = read_csv(text)
    missing = [c for c in ("name", "type", "territory_code") if c not in header]
    if missing:
        raise Unprocessable(
            f"the CSV header lacks the column(s) {', '.join(missing)}", field="header"
        )
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise Unprocessable(
            f"unknown CSV column(s) {', '.join(unknown)}; known: {', '.join(CSV_COLUMNS)}",
            field="header",
        )
    if not rows:
        raise Unprocessable("the CSV holds no row", field="body")
    errors: list[RowError] = []
    good: list[tuple[int, Prepared]] = []
    for line, row in rows:
        try:
            good.append((line, await prepare(session, _row_body(row))))
        except ValidationError as exc:
            errors.append(RowError(line=line, reason=_reason(exc)))
        except Unprocessable as exc:
            errors.append(RowError(line=line, reason=exc.detail))
    # Duplicates against the registry and within the file, in one query.
    existing = await repo.duplicates(
        session,
        [p.structure.siren for _, p in good if p.structure.siren],
        [(p.structure.type, p.structure.territory_code) for _, p in good],
    )
    kept: list[tuple[int, Prepared]] = []
    for line, prepared in good:
        duplicate = _duplicate_of(prepared.structure, existing)
        if duplicate is not None:
            errors.append(
                RowError(line=line, reason=_duplicate_reason(prepared.structure, duplicate))
            )
            continue
        twin = next(
            (ln for ln, p in kept if _duplicate_of(prepared.structure, [p.structure])), None
        )
        if twin is not None:
            errors.append(RowError(line=line, reason=f"the same structure as line {twin}"))
            continue
        kept.append((line, prepared))
    errors.sort(key=lambda e: e.line)
    if errors and not partial:
        raise Unprocessable(
            f"{len(errors)} bad row(s); nothing was created (fix them, or send partial=true "
            "to create only the good rows)",
            errors=[e.model_dump() for e in errors],
        )
    await _insert(session, [prepared for _, prepared in kept])
    return ImportOut(
        created=len(kept), structure_ids=[p.structure.id for _, p in kept], errors=errors
    )
