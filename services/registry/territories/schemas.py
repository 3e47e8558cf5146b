"""API bodies of the territory routes."""

from __future__ import annotations

import uuid
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.schemas import StrictRequest

T = TypeVar("T")


class _FromRow(BaseModel):
    """Read from a table row's attributes of the same names."""

    model_config = ConfigDict(from_attributes=True)


VINTAGE = "Vintage (year) of the data set the attributes come from (INSEE legal populations)."


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T] = Field(description="The items of this page, in the list's stable order.")
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; null on the last page."
    )


class VintagePopulation(BaseModel):
    vintage: int = Field(description="Year of the data set.")
    population: int = Field(description="Legal population in that vintage.")


class CommuneOut(_FromRow):
    code: str = Field(description="INSEE code of the commune (5 characters, e.g. `42218`).")
    name: str = Field(description="Official name, e.g. `Saint-Étienne`.")
    departement_code: str = Field(description="INSEE code of its département (e.g. `42`).")
    region_code: str = Field(description="INSEE code of its région (e.g. `84`).")
    population: int | None = Field(
        description="Legal population of the latest vintage; null when INSEE gives none."
    )
    siren: str | None = Field(default=None, description="SIREN of the commune as a body.")
    postal_codes: list[str] = Field(default=[], description="Its postal codes.")
    zone: str | None = Field(
        default=None, description="`metro`, `drom` (overseas département) or `com`."
    )
    vintage: int | None = Field(default=None, description=VINTAGE)


class CommunePartOut(_FromRow):
    kind: str = Field(
        description="`commune-deleguee`, `commune-associee` or `arrondissement-municipal`."
    )
    code: str = Field(
        description="INSEE code (a delegated commune often shares its parent's code)."
    )
    name: str = Field(description="Official name.")
    parent_code: str = Field(description="INSEE code of the current commune it belongs to.")
    parent_name: str | None = Field(
        default=None, description="Name of that commune (in searches; null in a commune's own)."
    )
    population: int | None = Field(
        description="Legal population (municipal arrondissements only; null otherwise)."
    )


class EpciRef(_FromRow):
    siren: str = Field(description="SIREN of the EPCI.")
    name: str = Field(description="Official name.")
    type: str = Field(description="`CC`, `CA`, `CU`, `METRO` or `MET69`.")


class CommuneDetailOut(CommuneOut):
    epci: EpciRef | None = Field(description="The EPCI it is a member of, if any.")
    parts: list[CommunePartOut] = Field(
        description="Its delegated or associated communes and municipal arrondissements."
    )
    populations: list[VintagePopulation] = Field(
        description="Its legal population in every imported vintage, oldest first."
    )


class DepartementOut(_FromRow):
    code: str = Field(description="INSEE code (`01`…`95`, `2A`, `2B`, `971`…).")
    name: str = Field(description="Official name.")
    region_code: str = Field(description="INSEE code of its région.")
    chef_lieu_code: str | None = Field(description="INSEE code of its chef-lieu commune.")
    zone: str | None = Field(description="`metro`, `drom` or `com`.")
    population: int | None = Field(
        description="Sum of its current communes' legal populations; null when none is known."
    )
    vintage: int = Field(description=VINTAGE)


class RegionOut(_FromRow):
    code: str = Field(description="INSEE code of the région (e.g. `84`).")
    name: str = Field(description="Official name.")
    chef_lieu_code: str | None = Field(description="INSEE code of its chef-lieu commune.")
    zone: str | None = Field(description="`metro`, `drom` or `com`.")
    population: int | None = Field(
        description="Sum of its current communes' legal populations; null when none is known."
    )
    vintage: int = Field(description=VINTAGE)


class EpciOut(_FromRow):
    siren: str = Field(description="SIREN of the EPCI (9 digits).")
    name: str = Field(description="Official name.")
    type: str = Field(description="`CC`, `CA`, `CU`, `METRO` or `MET69`.")
    financing_mode: str | None = Field(description="Tax regime (`FPU`, `FA`…).")
    population: int | None = Field(description="Total population (populationTotale).")
    population_municipale: int | None = Field(description="Municipal population.")
    vintage: int = Field(description=VINTAGE)


class EpciDetailOut(EpciOut):
    members: list[CommuneOut] = Field(description="Its member communes, largest population first.")


class ImportIn(StrictRequest):
    """Import the data set bundled with the registry."""

    vintage: int | None = Field(
        default=None,
        description="Vintage of the bundled data set to import; the latest bundled one when "
        "omitted. Other data sets: POST /v1/territories/imports/upload.",
        examples=[2026],
    )


class KindCountsOut(BaseModel):
    received: int = Field(description="Records of this kind in the data set.")
    created: int = Field(description="New territories.")
    updated: int = Field(description="Existing territories whose attributes or population changed.")
    unchanged: int = Field(description="Existing territories left as they were.")
    without_population: int = Field(description="Records with no legal population.")


class ImportOut(BaseModel):
    id: uuid.UUID = Field(description="Id of this import run.")
    vintage: int = Field(description="Vintage imported.")
    source: str = Field(description="Where the data came from (`bundled` or `upload`, or a path).")
    imported_at: AwareDatetime = Field(description="When the import ran.")
    seconds: float = Field(description="How long the import took (reading and writing).")
    regions: KindCountsOut = Field(description="Régions.")
    departements: KindCountsOut = Field(description="Départements.")
    communes: KindCountsOut = Field(description="Current communes (`commune-actuelle`).")
    commune_parts: KindCountsOut = Field(
        description="Delegated and associated communes and municipal arrondissements."
    )
    epcis: KindCountsOut = Field(description="EPCI (intercommunalities).")
    memberships_created: int = Field(description="EPCI memberships added.")
    memberships_removed: int = Field(description="EPCI memberships no longer in the data.")
    strata_changed: int = Field(
        default=0,
        description="Registrations of editions still open to changes (draft to registration "
        "closed) whose stratum changed with the new populations (each announced by "
        "`registry.structure.stratum_changed.v1`).",
    )
