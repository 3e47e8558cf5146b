"""Pure rules of structures: SIREN check, certification at fieldwork time, duplicates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.registry.vocabulary import StructureType


def siren_problem(siren: str) -> str | None:
    """Why a SIREN is not valid (9 digits whose Luhn key checks), or None when it is."""
    if len(siren) != 9 or not siren.isdigit():
        return f"a SIREN is 9 digits, not {siren!r}"
    total = 0
    for index, char in enumerate(reversed(siren)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    if total % 10:
        return f"the SIREN {siren} fails its Luhn check"
    return None


@dataclass(frozen=True)
class Held:
    """A certification a structure holds: obtained on a date, valid until an optional expiry."""

    name: str
    obtained_on: date
    expires_on: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.obtained_on <= day and (self.expires_on is None or day <= self.expires_on)


def fieldwork_reference_day(window_starts: Iterable[date], today: date) -> date:
    """The day "at the time of the fieldwork" means: the first day of the edition's fieldwork;
    today when the edition has no fieldwork window yet."""
    return min(window_starts, default=today)


def certified_on(certifications: Sequence[Held], day: date) -> list[str]:
    """The names of the certifications valid on `day`, sorted."""
    return sorted(c.name for c in certifications if c.valid_on(day))


def territory_field(structure_type: StructureType) -> str:
    """The one territory field a structure of this type gives (the rest is derived)."""
    return {
        StructureType.INTERCOMMUNALITY: "epci_siren",
        StructureType.DEPARTEMENT: "departement_code",
        StructureType.REGION: "region_code",
    }.get(structure_type, "commune_code")
