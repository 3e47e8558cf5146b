"""Pure rules of territories: reading an Etalab data set into rows, search keys, cursors.

No I/O here: `sources.py` reads files, `repository.py` writes rows.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict

from shared.cursors import pack, unpack

# The files of a data set (the `data/*.json` of `@etalab/decoupage-administratif`), by kind.
DATASET_FILES: tuple[str, ...] = ("regions", "departements", "communes", "epci")

# Vintages the registry accepts: the legal populations of INSEE start in 2006.
MIN_VINTAGE, MAX_VINTAGE = 2006, 2100

PartKind = Literal["commune-deleguee", "commune-associee", "arrondissement-municipal"]

MAX_REPORTED_ERRORS = 20


class DataSetError(ValueError):
    """The data set cannot be imported; `errors` names each problem (file, record, reason)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors[:3]) + (" ..." if len(errors) > 3 else ""))
        self.errors = list(errors[:MAX_REPORTED_ERRORS])


# --- search keys ----------------------------------------------------------------------------

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def search_key(text: str) -> str:
    """`Saint-Étienne` -> `saint etienne`: lower case, no accents, any punctuation a space."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


# Abbreviations people type for words the official names spell out.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def query_key(text: str) -> str:
    """The search key of what someone typed: `st etienne` searches for `saint etienne`."""
    return " ".join(_ABBREVIATIONS.get(word, word) for word in search_key(text).split(" "))


# --- records of the Etalab files ------------------------------------------------------------


# TypedDicts rather than models: validated straight from the JSON bytes, they cost a third of
# the time (the national files hold 37,590 communes and 34,871 EPCI members).
Code = Annotated[StrictStr, Field(min_length=1, max_length=12)]
Name = Annotated[StrictStr, Field(min_length=1)]
Population = Annotated[StrictInt, Field(ge=0)]


class RegionRecord(TypedDict):
    code: Code
    nom: Name
    chefLieu: NotRequired[StrictStr]
    zone: NotRequired[StrictStr]


class DepartementRecord(TypedDict):
    code: Code
    nom: Name
    region: Code
    chefLieu: NotRequired[StrictStr]
    zone: NotRequired[StrictStr]


class CommuneRecord(TypedDict):
    code: Code
    nom: Name
    type: Literal[
        "commune-actuelle", "commune-deleguee", "commune-associee", "arrondissement-municipal"
    ]
    departement: Code
    region: Code
    siren: NotRequired[StrictStr]
    codesPostaux: NotRequired[list[StrictStr]]
    population: NotRequired[Population]
    zone: NotRequired[StrictStr]
    chefLieu: NotRequired[Code]  # parent of a delegated or associated commune
    commune: NotRequired[Code]  # parent of a municipal arrondissement


class MemberRecord(TypedDict):
    code: Code


class EpciRecord(TypedDict):
    code: Code
    nom: Name
    type: StrictStr
    modeFinancement: NotRequired[StrictStr]
    populationTotale: NotRequired[Population]
    populationMunicipale: NotRequired[Population]
    membres: list[MemberRecord]


_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "regions": TypeAdapter(list[RegionRecord]),
    "departements": TypeAdapter(list[DepartementRecord]),
    "communes": TypeAdapter(list[CommuneRecord]),
    "epci": TypeAdapter(list[EpciRecord]),
}


# --- rows as the registry stores them -------------------------------------------------------


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    chef_lieu_code: str | None
    zone: str | None
    population: int | None


@dataclass(frozen=True)
class DepartementRow:
    code: str
    name: str
    region_code: str
    chef_lieu_code: str | None
    zone: str | None
    population: int | None


@dataclass(frozen=True)
class CommuneRow:
    code: str
    name: str
    search_name: str
    departement_code: str
    region_code: str
    siren: str | None
    postal_codes: tuple[str, ...]
    zone: str | None
    population: int | None


@dataclass(frozen=True)
class CommunePartRow:
    """A delegated or associated commune, or a municipal arrondissement, within a commune."""

    kind: PartKind
    code: str
    name: str
    search_name: str
    parent_code: str
    departement_code: str
    region_code: str
    population: int | None


@dataclass(frozen=True)
class EpciRow:
    siren: str
    name: str
    search_name: str
    type: str
    financing_mode: str | None
    population: int | None  # populationTotale
    population_municipale: int | None


@dataclass(frozen=True)
class DataSet:
    vintage: int
    regions: list[RegionRow]
    departements: list[DepartementRow]
    communes: list[CommuneRow]
    parts: list[CommunePartRow]
    epcis: list[EpciRow]
    members: list[tuple[str, str]]  # (EPCI SIREN, commune INSEE code)


@dataclass(frozen=True)
class KindCounts:
    """What an import did to one kind of territory."""

    received: int
    created: int
    updated: int
    unchanged: int
    without_population: int


@dataclass(frozen=True)
class ImportReport:
    vintage: int
    source: str
    regions: KindCounts
    departements: KindCounts
    communes: KindCounts
    commune_parts: KindCounts
    epcis: KindCounts
    memberships_created: int
    memberships_removed: int
    seconds: float = 0.0


def check_vintage(vintage: int) -> int:
    if not MIN_VINTAGE <= vintage <= MAX_VINTAGE:
        raise DataSetError([f"vintage {vintage} is outside {MIN_VINTAGE}..{MAX_VINTAGE}"])
    return vintage


def _known_population(value: int | None) -> int | None:
    """0 in the files means "no legal population" (overseas collectivities), as absent does."""
    return value or None


def _validate(name: str, content: bytes) -> list[Any]:
    """The records of one file, from its JSON text."""
    try:
        records: list[Any] = _ADAPTERS[name].validate_json(content)
    except ValidationError as exc:
        errors = []
        for error in exc.errors()[:MAX_REPORTED_ERRORS]:
            if error["type"] == "json_invalid":
                errors.append(f"{name}: malformed JSON ({error['msg']})")
                continue
            loc = list(error["loc"])
            where = f"record {loc[0]}" if loc and isinstance(loc[0], int) else "top level"
            fields = ".".join(str(p) for p in loc[1:])
            errors.append(f"{name}: {where}{' field ' + fields if fields else ''}: {error['msg']}")
        raise DataSetError(errors) from exc
    return records


def _duplicates(name: str, keys: Iterable[Any]) -> list[str]:
    counts = Counter(keys)
    return [f"{name}: {key} appears {n} times" for key, n in counts.items() if n > 1]


def parse_dataset(vintage: int, raw: Mapping[str, bytes]) -> DataSet:
    """The rows of an Etalab data set (the JSON text of each file, by kind), checked whole:
    types, unique codes, every link resolved.

    Raises `DataSetError` naming every problem found (up to a limit), so nothing half-valid
    is written.
    """
    check_vintage(vintage)
    missing = [name for name in DATASET_FILES if name not in raw]
    if missing:
        raise DataSetError([f"missing file(s): {', '.join(missing)}"])
    regions: list[RegionRecord] = _validate("regions", raw["regions"])
    departements: list[DepartementRecord] = _validate("departements", raw["departements"])
    communes: list[CommuneRecord] = _validate("communes", raw["communes"])
    epcis: list[EpciRecord] = _validate("epci", raw["epci"])

    current = [c for c in communes if c["type"] == "commune-actuelle"]
    parts = [c for c in communes if c["type"] != "commune-actuelle"]
    errors = [
        *_duplicates("regions", (r["code"] for r in regions)),
        *_duplicates("departements", (d["code"] for d in departements)),
        *_duplicates("communes", (c["code"] for c in current)),
        *_duplicates("communes", ((c["type"], c["code"]) for c in parts)),
        *_duplicates("epci", (e["code"] for e in epcis)),
    ]
    region_codes = {r["code"] for r in regions}
    departement_codes = {d["code"] for d in departements}
    commune_codes = {c["code"] for c in current}
    errors += [
        f"departements: {d['code']} names unknown région {d['region']}"
        for d in departements
        if d["region"] not in region_codes
    ]
    errors += [
        f"communes: {c['code']} names unknown département {c['departement']} or région {c['region']}"
        for c in communes
        if c["departement"] not in departement_codes or c["region"] not in region_codes
    ]
    errors += [
        f"communes: {c['type']} {c['code']} has no current parent commune ({_parent(c)})"
        for c in parts
        if _parent(c) not in commune_codes
    ]
    members = [(e["code"], m["code"]) for e in epcis for m in e["membres"]]
    errors += [
        f"epci: {siren} lists {code}, which is not a current commune"
        for siren, code in members
        if code not in commune_codes
    ]
    errors += _duplicates("epci members", (code for _, code in members))
    if errors:
        raise DataSetError(errors)

    by_departement: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    for c in current:
        by_departement[c["departement"]] += c.get("population") or 0
        by_region[c["region"]] += c.get("population") or 0
    return DataSet(
        vintage=vintage,
        regions=[
            RegionRow(
                r["code"],
                r["nom"],
                r.get("chefLieu"),
                r.get("zone"),
                by_region.get(r["code"]) or None,
            )
            for r in regions
        ],
        departements=[
            DepartementRow(
                d["code"],
                d["nom"],
                d["region"],
                d.get("chefLieu"),
                d.get("zone"),
                by_departement.get(d["code"]) or None,
            )
            for d in departements
        ],
        communes=[
            CommuneRow(
                code=c["code"],
                name=c["nom"],
                search_name=search_key(c["nom"]),
                departement_code=c["departement"],
                region_code=c["region"],
                siren=c.get("siren"),
                postal_codes=tuple(c.get("codesPostaux", [])),
                zone=c.get("zone"),
                population=_known_population(c.get("population")),
            )
            for c in current
        ],
        parts=[
            CommunePartRow(
                kind=c["type"],  # type: ignore[arg-type]  # narrowed by the filter above
                code=c["code"],
                name=c["nom"],
                search_name=search_key(c["nom"]),
                parent_code=_parent(c),
                departement_code=c["departement"],
                region_code=c["region"],
                population=_known_population(c.get("population")),
            )
            for c in parts
        ],
        epcis=[
            EpciRow(
                siren=e["code"],
                name=e["nom"],
                search_name=search_key(e["nom"]),
                type=e["type"],
                financing_mode=e.get("modeFinancement"),
                population=_known_population(e.get("populationTotale")),
                population_municipale=_known_population(e.get("populationMunicipale")),
            )
            for e in epcis
        ],
        members=members,
    )


def _parent(record: CommuneRecord) -> str:
    return record.get("commune") or record.get("chefLieu") or ""


# --- cursors --------------------------------------------------------------------------------


class CursorError(ValueError):
    pass


def encode_cursor(key: Sequence[int | str]) -> str:
    return pack(key)


def decode_cursor(cursor: str, shape: Sequence[type]) -> tuple[int | str, ...]:
    """The sort key a cursor stands for, checked against the list's key `shape`."""
    try:
        key = unpack(cursor)
    except ValueError as exc:
        raise CursorError("the cursor is not one this API returned") from exc
    if (
        not isinstance(key, list)
        or len(key) != len(shape)
        or not all(type(v) is t for v, t in zip(key, shape, strict=True))
    ):
        raise CursorError("the cursor is not one this API returned")
    return tuple(key)
