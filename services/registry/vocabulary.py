"""The registry's vocabulary: structure types, channels, statuses (pure enumerations)."""

from __future__ import annotations

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
    # The twelve service families of the 2017 terms (seed).
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


# Types that stand for a territory of their own; every other type is in a commune and takes
# its population from it.
TERRITORIAL_TYPES = frozenset(
    {StructureType.INTERCOMMUNALITY, StructureType.DEPARTEMENT, StructureType.REGION}
)


def is_commune_based(structure_type: str) -> bool:
    return structure_type not in TERRITORIAL_TYPES


class Channel(StrEnum):
    """Channels of the audits (and of the contact points that reach a site)."""

    EMAIL = "email"
    PHONE = "phone"
    ANSWERING_MACHINE = "answering_machine"
    LETTER = "letter"
    WEBSITE = "website"
    SOCIAL_NETWORK = "social_network"
    VISIT = "visit"


class EditionStatus(StrEnum):
    DRAFT = "draft"
    REGISTRATION_OPEN = "registration_open"
    REGISTRATION_CLOSED = "registration_closed"
    FIELDWORK = "fieldwork"
    SCORING = "scoring"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class CertificationName(StrEnum):
    QUALIVILLES = "qualivilles"
    MARIANNE = "marianne"
    SERVICES_PUBLICS_PLUS = "services_publics_plus"
    ISO9001 = "iso9001"


class RegistrationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
