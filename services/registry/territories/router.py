"""HTTP routes of territories: search and lists for the frontend, imports for the operator."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status

from services.registry.territories import service
from services.registry.territories.schemas import (
    CommuneDetailOut,
    CommuneOut,
    CommunePartOut,
    DepartementOut,
    EpciDetailOut,
    EpciOut,
    ImportIn,
    ImportOut,
    Page,
    RegionOut,
)
from shared.app import RuntimeDep, SessionDep
from shared.auth import Role
from shared.auth import require as require_role

router = APIRouter(prefix="/territories", tags=["territories"])

ANY_ROLE = require_role(*Role)
OPERATOR = require_role(Role.OPERATOR)

# The national files weigh about 25 MB as plain JSON (1.5 MB gzipped).
UPLOAD_MAX_BYTES = 64 * 1024 * 1024

DEPARTEMENT_CODE = r"^(\d{2}|2[AB]|\d{3})$"
REGION_CODE = r"^\d{2,3}$"

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (1 to 100).")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page; omit for the first."),
]
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        description="Part of the name; case, accents, hyphens and apostrophes are ignored "
        "(`saint etienne` finds Saint-Étienne; `st`/`ste` stand for saint/sainte). "
        "Whole-name matches come first, then names starting with it, then a word starting "
        "with it, then the rest.",
    ),
]
DepartementFilter = Annotated[
    str | None,
    Query(pattern=DEPARTEMENT_CODE, description="Only in this département (INSEE code, `2A`)."),
]
RegionFilter = Annotated[
    str | None, Query(pattern=REGION_CODE, description="Only in this région (INSEE code).")
]


@router.get(
    "/communes",
    response_model=Page[CommuneOut],
    dependencies=[ANY_ROLE],
    summary="Find current communes by name",
    description="Current communes of the latest vintage; ordered by match quality, then "
    "population (largest first, unknown last), then INSEE code.",
)
async def list_communes(
    session: SessionDep,
    q: Search = None,
    departement: DepartementFilter = None,
    region: RegionFilter = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[CommuneOut]:
    return await service.search_communes(
        session, q=q, departement=departement, region=region, limit=limit, cursor=cursor
    )


@router.get(
    "/communes/{code}",
    response_model=CommuneDetailOut,
    dependencies=[ANY_ROLE],
    summary="A current commune, its EPCI, its delegated communes and its populations",
)
async def get_commune(
    session: SessionDep,
    code: Annotated[str, Path(max_length=5, description="INSEE code of the commune.")],
) -> CommuneDetailOut:
    return await service.commune_detail(session, code)


@router.get(
    "/commune-parts",
    response_model=Page[CommunePartOut],
    dependencies=[ANY_ROLE],
    summary="Find delegated or associated communes and municipal arrondissements by name",
    description="Former communes people still name (`Cordieux`) and arrondissements, each "
    "with the INSEE code of the current commune it belongs to (`parent_code`); ordered like "
    "communes.",
)
async def list_commune_parts(
    session: SessionDep,
    q: Search = None,
    departement: DepartementFilter = None,
    kind: Annotated[
        Literal["commune-deleguee", "commune-associee", "arrondissement-municipal"] | None,
        Query(description="Only this kind."),
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[CommunePartOut]:
    return await service.search_parts(
        session, q=q, departement=departement, kind=kind, limit=limit, cursor=cursor
    )


@router.get(
    "/epcis",
    response_model=Page[EpciOut],
    dependencies=[ANY_ROLE],
    summary="Find EPCI (intercommunalities) by name",
    description="Ordered like communes: match quality, population, SIREN.",
)
async def list_epcis(
    session: SessionDep,
    q: Search = None,
    departement: Annotated[
        str | None,
        Query(
            pattern=DEPARTEMENT_CODE,
            description="Only EPCI with at least one member commune in this département.",
        ),
    ] = None,
    type: Annotated[
        Literal["CC", "CA", "CU", "METRO", "MET69"] | None,
        Query(description="Only this kind of EPCI."),
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[EpciOut]:
    return await service.search_epcis(
        session, q=q, departement=departement, type_=type, limit=limit, cursor=cursor
    )


@router.get(
    "/epcis/{siren}",
    response_model=EpciDetailOut,
    dependencies=[ANY_ROLE],
    summary="An EPCI and its member communes",
)
async def get_epci(
    session: SessionDep,
    siren: Annotated[str, Path(max_length=9, description="SIREN of the EPCI.")],
) -> EpciDetailOut:
    return await service.epci_detail(session, siren)


@router.get(
    "/departements",
    response_model=Page[DepartementOut],
    dependencies=[ANY_ROLE],
    summary="Départements, by code",
)
async def list_departements(
    session: SessionDep, region: RegionFilter = None, limit: Limit = 100, cursor: Cursor = None
) -> Page[DepartementOut]:
    return await service.list_departements(session, region=region, limit=limit, cursor=cursor)


@router.get(
    "/departements/{code}",
    response_model=DepartementOut,
    dependencies=[ANY_ROLE],
    summary="A département",
)
async def get_departement(
    session: SessionDep,
    code: Annotated[str, Path(max_length=3, description="INSEE code of the département.")],
) -> DepartementOut:
    return await service.departement_detail(session, code)


@router.get(
    "/regions", response_model=Page[RegionOut], dependencies=[ANY_ROLE], summary="Régions, by code"
)
async def list_regions(
    session: SessionDep, limit: Limit = 100, cursor: Cursor = None
) -> Page[RegionOut]:
    return await service.list_regions(session, limit=limit, cursor=cursor)


@router.get(
    "/regions/{code}", response_model=RegionOut, dependencies=[ANY_ROLE], summary="A région"
)
async def get_region(
    session: SessionDep,
    code: Annotated[str, Path(max_length=3, description="INSEE code of the région.")],
) -> RegionOut:
    return await service.region_detail(session, code)


@router.post(
    "/imports",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[OPERATOR],
    summary="Import the bundled territory data set (operator)",
    description="Upserts régions, départements, communes (with their delegated/associated "
    "communes and municipal arrondissements), EPCI and their members, and keeps the "
    "populations of the vintage. Idempotent: a second run reports everything unchanged. "
    "An older vintage than the latest imported one is refused (409).",
)
async def import_bundled(
    session: SessionDep, runtime: RuntimeDep, body: ImportIn | None = None
) -> ImportOut:
    return await service.import_bundled(session, runtime.outbox, body.vintage if body else None)


@router.post(
    "/imports/upload",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[OPERATOR],
    max_body_size=UPLOAD_MAX_BYTES,
    summary="Import an uploaded territory data set (operator)",
    description="A multipart form with the vintage and the four files of "
    "`@etalab/decoupage-administratif` (`data/*.json`, gzipped or not), e.g. "
    "`curl -F vintage=2027 -F regions=@regions.json.gz -F departements=@departements.json.gz "
    "-F communes=@communes.json.gz -F epci=@epci.json.gz`; up to 64 MB in all. The whole set "
    "is checked before anything is written: a bad file gives 422 naming each problem.",
)
async def import_upload(
    session: SessionDep,
    runtime: RuntimeDep,
    vintage: Annotated[int, Form(description="Vintage (year) of the files.")],
    regions: Annotated[UploadFile, File(description="regions.json(.gz)")],
    departements: Annotated[UploadFile, File(description="departements.json(.gz)")],
    communes: Annotated[UploadFile, File(description="communes.json(.gz)")],
    epci: Annotated[UploadFile, File(description="epci.json(.gz)")],
) -> ImportOut:
    files = {
        "regions": await regions.read(),
        "departements": await departements.read(),
        "communes": await communes.read(),
        "epci": await epci.read(),
    }
    return await service.import_uploaded(session, runtime.outbox, vintage, files)


@router.get(
    "/imports",
    response_model=Page[ImportOut],
    dependencies=[OPERATOR],
    summary="Import runs, newest first (operator)",
)
async def list_imports(
    session: SessionDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[ImportOut]:
    return await service.list_imports(session, limit=limit, cursor=cursor)
