"""Strata rules (pure): structure types and a population band, each bound inclusive or
exclusive; ordered; the first rule that matches gives a structure its stratum."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    label: str
    structure_types: tuple[str, ...]
    min_population: int | None = None
    min_inclusive: bool = True
    max_population: int | None = None
    max_inclusive: bool = True
    position: int = 0

    def matches(self, structure_type: str, population: int | None) -> bool:
        if structure_type not in self.structure_types:
            return False
        if self.min_population is None and self.max_population is None:
            return True
        if population is None:
            return False  # a band cannot place a structure whose population is unknown
        if self.min_population is not None:
            if population < self.min_population:
                return False
            if population == self.min_population and not self.min_inclusive:
                return False
        if self.max_population is not None:
            if population > self.max_population:
                return False
            if population == self.max_population and not self.max_inclusive:
                return False
        return True


def derive_stratum(
    rules: Iterable[Rule], structure_type: str, population: int | None
) -> Rule | None:
    """The first rule (by position) that matches the type and population, if any."""
    for rule in sorted(rules, key=lambda r: r.position):
        if rule.matches(structure_type, population):
            return rule
    return None


def rules_problems(rules: Sequence[Rule]) -> list[tuple[str, str]]:
    """(field, message) for every inconsistency of a rule set given as a list."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        if rule.code in seen:
            problems.append((f"{where}.code", f"the stratum code {rule.code!r} is given twice"))
        seen.add(rule.code)
        if not rule.structure_types:
            problems.append((f"{where}.structure_types", "a stratum groups at least one type"))
        low, high = rule.min_population, rule.max_population
        if low is not None and high is not None:
            empty = low > high or (low == high and not (rule.min_inclusive and rule.max_inclusive))
            if empty:
                problems.append(
                    (f"{where}.max_population", f"the band of {rule.code!r} holds no population")
                )
    return problems
