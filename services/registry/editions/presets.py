"""The 2017 and 2020 editions of DOMAIN.md as presets (pure data).

Figures marked (seed) come from the French sources; the rest are defaults an operator edits
while the edition is a draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.registry.editions.rules import Calendar, Window
from services.registry.offers.rules import CatalogueLine, LineKind, Unit
from services.registry.strata.rules import Rule
from services.registry.vocabulary import Channel as C
from services.registry.vocabulary import StructureType as T


@dataclass(frozen=True)
class Quota:
    channel: str
    audits_per_site: int
    requires_option: str | None = None


@dataclass(frozen=True)
class Preset:
    code: str
    year: int
    number: int
    name: str
    trophies_name: str | None
    min_population: int | None
    min_intercommunality_population: int | None
    max_accepted: int | None
    vat_rate: Decimal
    calendar: Calendar
    quotas: tuple[Quota, ...]
    strata: tuple[Rule, ...]
    catalogue: tuple[CatalogueLine, ...]


VISITS = "visits"

# The 2017 offer (seed, amounts excl. VAT). Supplementary sites and visits need a catalogue
# line each; "visits only" is the same option taken with the standard offer (400 € per site).
CATALOGUE_2017: tuple[CatalogueLine, ...] = (
    CatalogueLine(
        "standard",
        "Standard barometer (remote channels, principal site)",
        LineKind.OFFER,
        0,
        max_sites=1,
        position=0,
    ),
    CatalogueLine(
        "personalised",
        "Personalised barometer, principal site",
        LineKind.OFFER,
        110_000,
        position=1,
    ),
    CatalogueLine(
        "supplementary_site",
        "Supplementary site",
        LineKind.OPTION,
        60_000,
        Unit.SUPPLEMENTARY_SITE,
        offers=("personalised",),
        position=2,
    ),
    CatalogueLine(
        VISITS,
        "2 mystery visits per site",
        LineKind.OPTION,
        40_000,
        Unit.SITE,
        offers=("standard", "personalised"),
        position=3,
    ),
    CatalogueLine(
        "restitution",
        "Restitution by a consultant (2 hours, phone or video)",
        LineKind.OPTION,
        60_000,
        offers=("personalised",),
        position=4,
    ),
    CatalogueLine(
        "professional_audit",
        "Professional audit (2 days on site + 1 day off site; on request)",
        LineKind.OPTION,
        330_000,
        offers=("standard", "personalised"),
        operator_only=True,
        position=5,
    ),
)

_COMMUNE_BASED_FAMILIES = tuple(
    t for t in T if t not in (T.CITY_HALL, T.INTERCOMMUNALITY, T.DEPARTEMENT, T.REGION)
)

PRESET_2017 = Preset(
    code="2017",
    year=2017,
    number=6,
    name="Indiko Expérience citoyen",
    trophies_name="Trophées de la Relation Citoyen",
    min_population=3_500,  # any structure in a town of over 3,500 inhabitants (seed)
    min_intercommunality_population=5_001,  # "of over 5,000 inhabitants" (seed)
    max_accepted=None,  # "the number of participants is limited" (seed): the operator sets it
    vat_rate=Decimal("0.20"),
    calendar=Calendar(
        registration_deadline=date(2017, 7, 13),
        selection_notice_on=date(2017, 9, 1),  # "at the latest early September"
        windows=(
            Window(C.WEBSITE, date(2017, 7, 17), date(2017, 7, 21)),
            Window(C.ANSWERING_MACHINE, date(2017, 7, 24), date(2017, 8, 4)),
            Window(C.PHONE, date(2017, 9, 4), date(2017, 10, 27)),
            Window(C.EMAIL, date(2017, 9, 4), date(2017, 10, 27)),
            Window(C.LETTER, date(2017, 9, 4), date(2017, 10, 27)),
            Window(C.VISIT, date(2017, 9, 4), date(2017, 10, 27)),
        ),
        results_dispatch_on=date(2017, 11, 20),  # synthesis of personalised results
        ceremony_on=date(2017, 12, 7),  # "December" (seed); the day is a default
    ),
    quotas=(
        Quota(C.EMAIL, 4),
        Quota(C.PHONE, 4),
        Quota(C.ANSWERING_MACHINE, 1),
        Quota(C.LETTER, 3),
        Quota(C.WEBSITE, 1),
        Quota(C.VISIT, 2, requires_option=VISITS),
    ),
    # The seed's overlapping bounds read as half-open bands [low, high); the sixth stratum is
    # the intercommunalities of over 5,000 inhabitants. Other structures share one stratum.
    strata=(
        Rule(
            "cities-3500-10k",
            "Cities of 3,500 to 10,000 inhabitants",
            (T.CITY_HALL,),
            3_500,
            True,
            10_000,
            False,
            0,
        ),
        Rule(
            "cities-10k-20k",
            "Cities of 10,000 to 20,000 inhabitants",
            (T.CITY_HALL,),
            10_000,
            True,
            20_000,
            False,
            1,
        ),
        Rule(
            "cities-20k-50k",
            "Cities of 20,000 to 50,000 inhabitants",
            (T.CITY_HALL,),
            20_000,
            True,
            50_000,
            False,
            2,
        ),
        Rule(
            "cities-50k-100k",
            "Cities of 50,000 to 100,000 inhabitants",
            (T.CITY_HALL,),
            50_000,
            True,
            100_000,
            False,
            3,
        ),
        Rule(
            "cities-100k-plus",
            "Cities of over 100,000 inhabitants",
            (T.CITY_HALL,),
            100_000,
            True,
            None,
            True,
            4,
        ),
        Rule(
            "intercommunalities-5k-plus",
            "Intercommunalities of over 5,000 inhabitants",
            (T.INTERCOMMUNALITY,),
            5_000,
            False,
            None,
            True,
            5,
        ),
        Rule(
            "other-public-services",
            "Other public services",
            (*_COMMUNE_BASED_FAMILIES, T.DEPARTEMENT, T.REGION),
            position=6,
        ),
    ),
    catalogue=CATALOGUE_2017,
)

PRESET_2020 = Preset(
    code="2020",
    year=2020,
    number=8,
    name="Baromètre de l'expérience citoyen",
    trophies_name="Trophées AFNOR de la relation usagers",
    min_population=None,  # open to every body with a public-service mission (seed)
    min_intercommunality_population=None,
    max_accepted=None,
    vat_rate=Decimal("0.20"),
    calendar=Calendar(
        registration_deadline=date(2019, 12, 31),  # (seed)
        selection_notice_on=date(2020, 1, 24),
        # Two periods around the pause of the municipal elections and the first Covid-19 wave:
        # February-March, then June-September 2020 (seed).
        windows=tuple(
            Window(channel, start, end)
            for start, end in (
                (date(2020, 2, 3), date(2020, 3, 13)),
                (date(2020, 6, 2), date(2020, 9, 30)),
            )
            for channel in (C.EMAIL, C.PHONE, C.LETTER, C.WEBSITE, C.SOCIAL_NETWORK)
        ),
        results_dispatch_on=date(2020, 11, 12),  # results and laureates published (seed)
        ceremony_on=date(2020, 11, 12),
    ),
    # "Audited 13 times" over letter, e-mail, website, phone and social networks (seed), the
    # last two reported apart; the split is a default.
    quotas=(
        Quota(C.EMAIL, 4),
        Quota(C.PHONE, 4),
        Quota(C.LETTER, 3),
        Quota(C.WEBSITE, 1),
        Quota(C.SOCIAL_NETWORK, 1),
        Quota(C.VISIT, 2, requires_option=VISITS),
    ),
    # The 2020 trophy categories (seed): "+ 50 000", "entre 20 000 et 49 999", "moins de 20 000".
    strata=(
        Rule(
            "cities-50k-plus",
            "Cities of over 50,000 inhabitants",
            (T.CITY_HALL,),
            50_000,
            True,
            None,
            True,
            0,
        ),
        Rule(
            "cities-20k-50k",
            "Cities of 20,000 to 49,999 inhabitants",
            (T.CITY_HALL,),
            20_000,
            True,
            49_999,
            True,
            1,
        ),
        Rule(
            "cities-under-20k",
            "Cities under 20,000 inhabitants",
            (T.CITY_HALL,),
            None,
            True,
            20_000,
            False,
            2,
        ),
        Rule("intercommunalities", "Intercommunalities", (T.INTERCOMMUNALITY,), position=3),
        Rule("departements", "Départements", (T.DEPARTEMENT,), position=4),
        Rule("regions", "Régions", (T.REGION,), position=5),
        Rule("france-services", "France Services", (T.FRANCE_SERVICES,), position=6),
        Rule(
            "development-attractiveness",
            "Planning, economic development and attractiveness services",
            (T.TOURIST_OFFICE, T.CHAMBERS, T.EMPLOYMENT, T.WATER_ENERGY, T.LOCAL_TRANSPORT),
            position=7,
        ),
        Rule(
            "social-care-health",
            "Social, care, solidarity and health services",
            (T.CCAS, T.SOCIAL_CARE, T.HEALTH_SOCIAL_SECURITY, T.SOCIAL_HOUSING),
            position=8,
        ),
    ),
    catalogue=CATALOGUE_2017,  # the 2020 seed gives no price: the 2017 catalogue is the default
)

PRESETS: dict[str, Preset] = {p.code: p for p in (PRESET_2017, PRESET_2020)}

# An edition created without a preset or a previous edition starts from this configuration.
BLANK = Preset(
    code="blank",
    year=0,
    number=0,
    name="",
    trophies_name=None,
    min_population=None,
    min_intercommunality_population=None,
    max_accepted=None,
    vat_rate=Decimal("0.20"),
    calendar=Calendar(),
    quotas=PRESET_2017.quotas,
    strata=(
        *PRESET_2020.strata,
        Rule(
            "other-public-services",
            "Other public services",
            (
                T.GENERAL_ADMINISTRATION,
                T.LIBRARY,
                T.CULTURE_SPORT,
                T.SECURITY,
                T.POSTAL,
                T.EDUCATION_TRAINING,
            ),
            position=9,
        ),
    ),
    catalogue=CATALOGUE_2017,
)
