"""Strata rules: the default set places every structure type, and bands are inclusive."""

from __future__ import annotations

import pytest

from services.registry.strata import DEFAULT_RULES, Rule, StructureType, derive_stratum


def code_of(structure_type: str, population: int | None) -> str | None:
    rule = derive_stratum(DEFAULT_RULES, structure_type, population)
    return rule.code if rule else None


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (327_734, "cities-50k-plus"),
        (50_000, "cities-50k-plus"),
        (49_999, "cities-20k-50k"),
        (20_000, "cities-20k-50k"),
        (19_999, "cities-under-20k"),
        (3_500, "cities-under-20k"),
        (0, "cities-under-20k"),
        (None, None),  # a band cannot place an unknown population
    ],
)
def test_city_halls_by_population_band(population: int | None, expected: str | None) -> None:
    assert code_of(StructureType.CITY_HALL, population) == expected


@pytest.mark.parametrize(
    ("structure_type", "expected"),
    [
        (StructureType.INTERCOMMUNALITY, "intercommunalities"),
        (StructureType.DEPARTEMENT, "departements"),
        (StructureType.REGION, "regions"),
        (StructureType.FRANCE_SERVICES, "france-services"),
        (StructureType.CCAS, "social-care-health"),
        (StructureType.HEALTH_SOCIAL_SECURITY, "social-care-health"),
        (StructureType.SOCIAL_CARE, "social-care-health"),
        (StructureType.LIBRARY, "other-public-services"),
        (StructureType.POSTAL, "other-public-services"),
        (StructureType.CHAMBERS, "other-public-services"),
    ],
)
def test_types_without_band_ignore_population(structure_type: str, expected: str) -> None:
    assert code_of(structure_type, 1_000) == expected
    assert code_of(structure_type, None) == expected


def test_every_type_falls_in_exactly_one_default_stratum() -> None:
    for structure_type in StructureType:
        population = 30_000
        matching = [r.code for r in DEFAULT_RULES if r.matches(structure_type, population)]
        assert len(matching) == 1, (structure_type, matching)
    assert [r.position for r in DEFAULT_RULES] == list(range(len(DEFAULT_RULES)))
    assert len({r.code for r in DEFAULT_RULES}) == len(DEFAULT_RULES)


def test_first_rule_by_position_wins_whatever_the_order_given() -> None:
    broad = Rule("all-cities", "All cities", ("city_hall",), position=1)
    large = Rule("large", "Large cities", ("city_hall",), min_population=100_000, position=0)
    assert derive_stratum([broad, large], "city_hall", 150_000) == large
    assert derive_stratum([broad, large], "city_hall", 99_999) == broad


def test_no_rule_matches_an_unlisted_type() -> None:
    rules = [Rule("cities", "Cities", ("city_hall",))]
    assert derive_stratum(rules, "library", 10_000) is None
    assert derive_stratum([], "city_hall", 10_000) is None
