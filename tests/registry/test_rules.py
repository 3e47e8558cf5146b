"""Pure rules of the registry, without a database: the edition status machine, calendar
consistency, strata bands and presets, offers and quotes, SIREN, certification, eligibility."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from services.registry.editions.presets import BLANK, PRESET_2017, PRESET_2020, PRESETS, Preset
from services.registry.editions.rules import (
    TRANSITIONS,
    Calendar,
    Window,
    calendar_problems,
    shift_calendar,
    shift_years,
    transition_problem,
)
from services.registry.offers.rules import (
    CatalogueLine,
    LineKind,
    Unit,
    choice_problems,
    quote,
)
from services.registry.registrations.rules import (
    Candidate,
    Eligibility,
    eligibility_problem,
    has_room,
    move_problem,
)
from services.registry.strata.rules import Rule, derive_stratum, rules_problems
from services.registry.structures.rules import (
    Held,
    certified_on,
    fieldwork_reference_day,
    siren_problem,
)
from services.registry.vocabulary import EditionStatus, RegistrationStatus, StructureType

S = EditionStatus
ORDER = list(EditionStatus)

# --- the status machine -------------------------------------------------------------------------


def test_the_legal_path_is_one_step_forward_to_archived() -> None:
    for current, following in itertools.pairwise(ORDER):
        assert transition_problem(current, following) is None
    assert TRANSITIONS[S.ARCHIVED] == frozenset()


ILLEGAL = [(a, b) for a in ORDER for b in ORDER if ORDER.index(b) != ORDER.index(a) + 1]


@pytest.mark.parametrize(("current", "to"), ILLEGAL)
def test_every_other_move_is_illegal(current: EditionStatus, to: EditionStatus) -> None:
    problem = transition_problem(current, to)
    assert problem is not None
    assert str(current) in problem
    assert str(to) in problem


def test_registration_review_moves() -> None:
    R = RegistrationStatus
    assert move_problem(R.PENDING, R.ACCEPTED) is None
    assert move_problem(R.WAITLISTED, R.ACCEPTED) is None
    assert move_problem(R.ACCEPTED, R.WITHDRAWN) is None
    assert move_problem(R.ACCEPTED, R.REFUSED) is not None
    assert move_problem(R.REFUSED, R.ACCEPTED) is not None
    assert move_problem(R.WITHDRAWN, R.PENDING) is not None


# --- calendar ---------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", list(PRESETS.values()), ids=list(PRESETS))
def test_presets_have_consistent_calendars(preset: Preset) -> None:
    assert calendar_problems(preset.calendar) == []


def fields(calendar: Calendar) -> list[str]:
    return [p.field for p in calendar_problems(calendar)]


def test_calendar_inconsistencies_name_their_field() -> None:
    d = date
    assert fields(Calendar(windows=(Window("email", d(2026, 5, 2), d(2026, 5, 1)),))) == [
        "calendar.windows[0].ends_on"
    ]
    overlapping = (
        Window("phone", d(2026, 5, 1), d(2026, 5, 31)),
        Window("email", d(2026, 5, 1), d(2026, 5, 31)),
        Window("phone", d(2026, 5, 31), d(2026, 6, 30)),
    )
    assert fields(Calendar(windows=overlapping)) == ["calendar.windows[2]"]
    window = (Window("email", d(2026, 5, 1), d(2026, 5, 31)),)
    assert fields(Calendar(registration_deadline=d(2026, 5, 1), windows=window)) == [
        "calendar.registration_deadline"
    ]
    assert fields(
        Calendar(registration_deadline=d(2026, 4, 1), selection_notice_on=d(2026, 3, 31))
    ) == ["calendar.selection_notice_on"]
    assert fields(Calendar(windows=window, results_dispatch_on=d(2026, 5, 31))) == [
        "calendar.results_dispatch_on"
    ]
    assert fields(Calendar(windows=window, ceremony_on=d(2026, 5, 20))) == ["calendar.ceremony_on"]
    assert fields(Calendar(results_dispatch_on=d(2026, 12, 2), ceremony_on=d(2026, 12, 1))) == [
        "calendar.ceremony_on"
    ]
    # Two windows of one channel around a pause, as in 2020, are fine.
    two = (
        Window("email", d(2020, 2, 3), d(2020, 3, 13)),
        Window("email", d(2020, 6, 2), d(2020, 9, 30)),
    )
    assert fields(Calendar(registration_deadline=d(2019, 12, 31), windows=two)) == []


def test_a_calendar_moves_by_whole_years() -> None:
    moved = shift_calendar(PRESET_2017.calendar, 9)
    assert moved.registration_deadline == date(2026, 7, 13)
    assert moved.windows[0] == Window("website", date(2026, 7, 17), date(2026, 7, 21))
    assert shift_years(date(2024, 2, 29), 1) == date(2025, 2, 28)


def test_the_2020_preset_has_two_periods_and_separate_social_networks() -> None:
    by_channel: dict[str, list[Window]] = {}
    for w in PRESET_2020.calendar.windows:
        by_channel.setdefault(w.channel, []).append(w)
    assert set(by_channel) == {"email", "phone", "letter", "website", "social_network"}
    assert all(len(ws) == 2 for ws in by_channel.values())
    assert sum(q.audits_per_site for q in PRESET_2020.quotas if q.requires_option is None) == 13
    assert sum(q.audits_per_site for q in PRESET_2017.quotas if q.requires_option is None) == 13
    visits = [q for q in PRESET_2017.quotas if q.channel == "visit"]
    assert [(v.audits_per_site, v.requires_option) for v in visits] == [(2, "visits")]


# --- strata -----------------------------------------------------------------------------------


def code(rules: tuple[Rule, ...], structure_type: str, population: int | None) -> str | None:
    rule = derive_stratum(rules, structure_type, population)
    return rule.code if rule else None


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (3_499, None),
        (3_500, "cities-3500-10k"),
        (9_999, "cities-3500-10k"),
        (10_000, "cities-10k-20k"),
        (19_999, "cities-10k-20k"),
        (20_000, "cities-20k-50k"),
        (50_000, "cities-50k-100k"),
        (99_999, "cities-50k-100k"),
        (100_000, "cities-100k-plus"),
        (2_133_111, "cities-100k-plus"),
        (None, None),
    ],
)
def test_2017_city_halls_by_half_open_bands(population: int | None, expected: str | None) -> None:
    assert code(PRESET_2017.strata, "city_hall", population) == expected


def test_2017_intercommunalities_of_over_5000_exclusive() -> None:
    assert code(PRESET_2017.strata, "intercommunality", 5_000) is None
    assert code(PRESET_2017.strata, "intercommunality", 5_001) == "intercommunalities-5k-plus"
    assert code(PRESET_2017.strata, "library", 50_000) == "other-public-services"


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (50_001, "cities-50k-plus"),
        (50_000, "cities-50k-plus"),
        (49_999, "cities-20k-50k"),
        (20_000, "cities-20k-50k"),
        (19_999, "cities-under-20k"),
        (0, "cities-under-20k"),
    ],
)
def test_2020_trophy_categories(population: int, expected: str) -> None:
    assert code(PRESET_2020.strata, "city_hall", population) == expected


def test_2020_categories_of_other_types() -> None:
    assert [r.code for r in PRESET_2020.strata] == [
        "cities-50k-plus",
        "cities-20k-50k",
        "cities-under-20k",
        "intercommunalities",
        "departements",
        "regions",
        "france-services",
        "development-attractiveness",
        "social-care-health",
    ]
    assert code(PRESET_2020.strata, "tourist_office", None) == "development-attractiveness"
    assert code(PRESET_2020.strata, "ccas", 1) == "social-care-health"
    assert code(PRESET_2020.strata, "library", 1) is None  # no 2020 category: unmatched
    assert code(BLANK.strata, "library", 1) == "other-public-services"


def test_every_type_falls_in_one_stratum_of_the_blank_edition() -> None:
    for structure_type in StructureType:
        matching = [r.code for r in BLANK.strata if r.matches(structure_type, 30_000)]
        assert len(matching) == 1, (structure_type, matching)


def test_bounds_inclusive_or_exclusive_and_first_match_wins() -> None:
    open_band = Rule("a", "A", ("city_hall",), 10, False, 20, False, 0)
    assert not open_band.matches("city_hall", 10)
    assert open_band.matches("city_hall", 11)
    assert not open_band.matches("city_hall", 20)
    closed = Rule("b", "B", ("city_hall",), 10, True, 20, True, 1)
    assert closed.matches("city_hall", 10)
    assert closed.matches("city_hall", 20)
    broad = Rule("all", "All", ("city_hall",), position=1)
    large = Rule("large", "Large", ("city_hall",), min_population=100_000, position=0)
    assert derive_stratum([broad, large], "city_hall", 150_000) == large
    assert derive_stratum([broad, large], "city_hall", 99_999) == broad
    assert derive_stratum([], "city_hall", 1) is None


def test_rule_set_problems() -> None:
    rules = [
        Rule("a", "A", ("city_hall",), 10, True, 10, False),
        Rule("a", "A again", ()),
        Rule("c", "C", ("city_hall",), 20, True, 10, True),
    ]
    assert [f for f, _ in rules_problems(rules)] == [
        "rules[0].max_population",
        "rules[1].code",
        "rules[1].structure_types",
        "rules[2].max_population",
    ]
    assert rules_problems(list(PRESET_2017.strata)) == []


# --- offers and quotes ------------------------------------------------------------------------

CATALOGUE = PRESET_2017.catalogue
OPTIONS = ("visits", "restitution", "professional_audit")


def expected_excl_vat(offer: str, options: tuple[str, ...], sites: int) -> int:
    total = 110_000 if offer == "personalised" else 0
    if offer == "personalised":
        total += 60_000 * (sites - 1)
    total += 40_000 * sites if "visits" in options else 0
    total += 60_000 if "restitution" in options else 0
    total += 330_000 if "professional_audit" in options else 0
    return total


COMBINATIONS = [
    (offer, options, sites)
    for offer in ("standard", "personalised")
    for n in range(len(OPTIONS) + 1)
    for options in itertools.combinations(OPTIONS, n)
    for sites in (1, 2, 3)
]


@pytest.mark.parametrize(("offer", "options", "sites"), COMBINATIONS)
def test_quotes_of_every_combination(offer: str, options: tuple[str, ...], sites: int) -> None:
    problems = choice_problems(CATALOGUE, offer, options, sites, by_operator=True)
    allowed = not (offer == "standard" and (sites > 1 or "restitution" in options))
    assert (problems == []) is allowed, problems
    if not allowed:
        return
    result = quote(CATALOGUE, offer, options, sites, Decimal("0.20"))
    assert result.total_excl_vat_cents == expected_excl_vat(offer, options, sites)
    assert result.vat_cents * 5 == result.total_excl_vat_cents  # 20 % of whole euros is exact
    assert result.total_incl_vat_cents == result.total_excl_vat_cents + result.vat_cents
    assert sum(line.amount_cents for line in result.lines) == result.total_excl_vat_cents
    assert result.lines[0].code == offer
    codes = [line.code for line in result.lines]
    if offer == "personalised" and sites > 1:
        assert ("supplementary_site", sites - 1) in [(ln.code, ln.quantity) for ln in result.lines]
    if "visits" in options:
        assert ("visits", sites) in [(ln.code, ln.quantity) for ln in result.lines]
    assert len(codes) == len(set(codes))


def test_the_seed_figures() -> None:
    # Personalised, 2 supplementary sites, visits on the three sites, restitution (2017 terms).
    result = quote(CATALOGUE, "personalised", ["visits", "restitution"], 3, Decimal("0.20"))
    assert [(ln.code, ln.quantity, ln.amount_cents) for ln in result.lines] == [
        ("personalised", 1, 110_000),
        ("supplementary_site", 2, 120_000),
        ("visits", 3, 120_000),
        ("restitution", 1, 60_000),
    ]
    assert (result.total_excl_vat_cents, result.vat_cents, result.total_incl_vat_cents) == (
        410_000,
        82_000,
        492_000,
    )
    visits_only = quote(CATALOGUE, "standard", ["visits"], 1, Decimal("0.20"))
    assert visits_only.total_excl_vat_cents == 40_000


def test_vat_rounds_half_up_on_the_total() -> None:
    odd = (CatalogueLine("o", "O", LineKind.OFFER, 5),)
    # 5 cents at 10 %: 0.5 cent rounds up to 1; at 5.5 %: 0.275 rounds down to 0.
    assert quote(odd, "o", [], 1, Decimal("0.10")).vat_cents == 1
    assert quote(odd, "o", [], 1, Decimal("0.055")).vat_cents == 0
    lines = (
        CatalogueLine("o", "O", LineKind.OFFER, 333),
        CatalogueLine("x", "X", LineKind.OPTION, 333, Unit.SITE, offers=("o",)),
    )
    # VAT on the total (1,332 x 0.196 = 261.072), not per line (65.268 x 4 rounded each).
    result = quote(lines, "o", ["x"], 3, Decimal("0.196"))
    assert (result.total_excl_vat_cents, result.vat_cents) == (1_332, 261)


def test_choice_problems() -> None:
    def fields_of(offer: str, options: list[str], sites: int = 1, op: bool = False) -> list[str]:
        return [f for f, _ in choice_problems(CATALOGUE, offer, options, sites, by_operator=op)]

    assert fields_of("premium", []) == ["offer"]
    assert fields_of("visits", []) == ["offer"]  # an option is not an offer
    assert fields_of("standard", [], 2) == ["site_ids"]
    assert fields_of("standard", ["restitution"]) == ["options[0]"]
    assert fields_of("personalised", ["professional_audit"]) == ["options[0]"]
    assert fields_of("personalised", ["professional_audit"], op=True) == []
    assert fields_of("personalised", ["kiosk"]) == ["options[0]"]
    assert fields_of("personalised", ["visits", "visits"]) == ["options"]


# --- structures -------------------------------------------------------------------------------


@pytest.mark.parametrize("siren", ["443061841", "214401093", "244400404", "356000000"])
def test_valid_sirens(siren: str) -> None:
    assert siren_problem(siren) is None


@pytest.mark.parametrize("siren", ["443061842", "123456789", "21440109", "2144010930", "21440109A"])
def test_invalid_sirens(siren: str) -> None:
    assert siren_problem(siren) is not None


def test_certified_at_the_time_of_the_fieldwork() -> None:
    held = [
        Held("marianne", date(2015, 1, 1), date(2017, 6, 30)),  # expired before fieldwork
        Held("qualivilles", date(2017, 7, 1)),
        Held("iso9001", date(2017, 8, 1), None),  # obtained after fieldwork started
    ]
    day = fieldwork_reference_day([date(2017, 9, 4), date(2017, 7, 17)], today=date(2030, 1, 1))
    assert day == date(2017, 7, 17)
    assert certified_on(held, day) == ["qualivilles"]
    assert fieldwork_reference_day([], today=date(2030, 1, 1)) == date(2030, 1, 1)
    assert certified_on(held, date(2017, 6, 30)) == ["marianne"]


# --- eligibility ------------------------------------------------------------------------------

OPEN_2017 = Eligibility(S.REGISTRATION_OPEN, date(2017, 7, 13), 3_500, 5_001)


def slug(
    rules: Eligibility, candidate: Candidate, day: date, by_operator: bool = False
) -> str | None:
    problem = eligibility_problem(rules, candidate, today=day, by_operator=by_operator)
    return problem[0] if problem else None


def test_eligibility() -> None:
    before = date(2017, 7, 13)
    after = date(2017, 7, 14)
    town = Candidate("city_hall", 3_500, "x")
    assert slug(OPEN_2017, town, before) is None
    assert slug(OPEN_2017, town, after) == "deadline-passed"
    assert slug(OPEN_2017, town, after, by_operator=True) is None  # panel selection
    assert slug(OPEN_2017, Candidate("library", 3_499, "x"), before) == "population-too-small"
    assert slug(OPEN_2017, Candidate("library", None, "x"), before) == "population-unknown"
    assert slug(OPEN_2017, Candidate("intercommunality", 5_000, None), before) == (
        "population-too-small"
    )
    assert slug(OPEN_2017, Candidate("departement", 10, None), before) is None
    closed = Eligibility(S.REGISTRATION_CLOSED, None, None, None)
    assert slug(closed, town, before) == "edition-not-open"
    assert slug(closed, town, before, by_operator=True) is None
    draft = Eligibility(S.DRAFT, None, None, None)
    assert slug(draft, town, before, by_operator=True) == "edition-not-open"
    assert has_room(9, 10)
    assert not has_room(10, 10)
    assert has_room(10_000, None)
