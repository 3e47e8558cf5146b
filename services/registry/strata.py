"""Strata rules: structure types, the default rule set, and the pure derivation of a stratum."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class StructureType(StrEnum):
    CITY_HALL = "city_hall"
    INTERCOMMUNALITY = "intercommunality"
    DEPARTEMENT = "departement"
    REGION = "region"
    FRANCE_SERVICES = "france_services"
    CCAS = "ccas"
    LIBRARY = "library"
    TOURIST_OFFICE = "tourist_office"
    GENERAL_ADMINISTRATION = "general_administration"
    HEALTH_SOCIAL_SECURITY = "health_social_security"
    SOCIAL_CARE = "social_care"
    SOCIAL_HOUSING = "social_housing"
    SECURITY = "security"
    POSTAL = "postal"
    CULTURE_SPORT = "culture_sport"
    EMPLOYMENT = "employment"
    WATER_ENERGY = "water_energy"
    LOCAL_TRANSPORT = "local_transport"
    EDUCATION_TRAINING = "education_training"
    CHAMBERS = "chambers"


# Types that stand for a territory of their own; every other type is in a commune, takes its
# population from it, and must meet the edition's minimum population.
TERRITORIAL_TYPES = frozenset(
    {StructureType.INTERCOMMUNALITY, StructureType.DEPARTEMENT, StructureType.REGION}
)


def is_commune_based(structure_type: str) -> bool:
    return structure_type not in TERRITORIAL_TYPES


@dataclass(frozen=True)
class Rule:
    """One stratum: the structure types it groups and an inclusive population band."""

    code: str
    label: str
    structure_types: tuple[str, ...]
    min_population: int | None = None
    max_population: int | None = None
    position: int = 0

    def matches(self, structure_type: str, population: int | None) -> bool:
        if structure_type not in self.structure_types:
            return False
        if self.min_population is None and self.max_population is None:
            return True
        if population is None:
            return False  # a band cannot place a structure whose population is unknown
        if self.min_population is not None and population < self.min_population:
            return False
        return self.max_population is None or population <= self.max_population


def derive_stratum(
    rules: Iterable[Rule], structure_type: str, population: int | None
) -> Rule | None:
    """The first rule (by position) that matches the type and population, if any."""
    for rule in sorted(rules, key=lambda r: r.position):
        if rule.matches(structure_type, population):
            return rule
    return None


_T = StructureType
_NAMED = {
    _T.CITY_HALL,
    _T.INTERCOMMUNALITY,
    _T.DEPARTEMENT,
    _T.REGION,
    _T.FRANCE_SERVICES,
    _T.CCAS,
    _T.HEALTH_SOCIAL_SECURITY,
    _T.SOCIAL_CARE,
}

# The 2020 trophy categories (seed), copied into every new edition.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("cities-50k-plus", "Cities of 50,000 inhabitants or more", (_T.CITY_HALL,),
         min_population=50_000, position=0),
    Rule("cities-20k-50k", "Cities of 20,000 to 49,999 inhabitants", (_T.CITY_HALL,),
         min_population=20_000, max_population=49_999, position=1),
    Rule("cities-under-20k", "Cities under 20,000 inhabitants", (_T.CITY_HALL,),
         max_population=19_999, position=2),
    Rule("intercommunalities", "Intercommunalities", (_T.INTERCOMMUNALITY,), position=3),
    Rule("departements", "Départements", (_T.DEPARTEMENT,), position=4),
    Rule("regions", "Régions", (_T.REGION,), position=5),
    Rule("france-services", "France Services", (_T.FRANCE_SERVICES,), position=6),
    Rule("social-care-health", "Social, care, solidarity and health services",
         (_T.CCAS, _T.HEALTH_SOCIAL_SECURITY, _T.SOCIAL_CARE), position=7),
    Rule("other-public-services", "Other public services",
         tuple(t for t in StructureType if t not in _NAMED), position=8),
)  # fmt: skip
