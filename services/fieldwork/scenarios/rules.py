"""Scenarios: check the catalogue, choose a site's scenarios (2 or 3 common + 1 specific to its
structure type) and spread them over its tasks. Pure; the caller reads the catalogue file."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from services.fieldwork.channels import CHANNELS


@dataclass(frozen=True)
class Scenario:
    code: str
    label_fr: str
    label_en: str
    request: str
    structure_types: frozenset[str]  # empty: common to every structure
    channels: frozenset[str]

    @property
    def common(self) -> bool:
        return not self.structure_types


class CatalogueError(ValueError):
    pass


def parse_catalogue(source: str, text: str) -> tuple[Scenario, ...]:
    raw = yaml.safe_load(text)
    entries = raw.get("scenarios") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{source}: field scenarios: a non-empty list")
    scenarios: list[Scenario] = []
    problems: list[str] = []
    for position, entry in enumerate(entries, start=1):
        where = f"{source}: scenario {position}"
        try:
            scenario = Scenario(
                code=str(entry["code"]),
                label_fr=str(entry["label_fr"]),
                label_en=str(entry["label_en"]),
                request=str(entry["request"]),
                structure_types=frozenset(entry["structure_types"]),
                channels=frozenset(entry["channels"]),
            )
        except (KeyError, TypeError) as exc:
            problems.append(f"{where}: field {exc}: missing or malformed")
            continue
        if not scenario.channels or not scenario.channels <= CHANNELS:
            problems.append(f"{where} ({scenario.code}): field channels: unknown or empty")
        scenarios.append(scenario)
    codes = [s.code for s in scenarios]
    problems += [
        f"{source}: scenario {c}: code appears twice" for c in set(codes) if codes.count(c) > 1
    ]
    if problems:
        raise CatalogueError("; ".join(problems))
    return tuple(scenarios)


def choose_scenarios(
    catalogue: Sequence[Scenario], structure_type: str, rng: random.Random
) -> list[Scenario]:
    """2 or 3 common scenarios and 1 specific to the structure's type (when the catalogue has
    one), drawn with `rng` so a seed gives the same choice."""
    common = [s for s in catalogue if s.common]
    count = min(len(common), rng.choice((2, 3)))
    chosen = rng.sample(common, count)
    specific = [s for s in catalogue if structure_type in s.structure_types]
    if specific:
        chosen.append(rng.choice(specific))
    return chosen


def spread_scenarios(
    channels: Sequence[str], chosen: Sequence[Scenario], catalogue: Sequence[Scenario]
) -> list[str | None]:
    """A scenario code for each task (given by its channel, in date order): each task takes the
    least used of the site's scenarios that can run on its channel, the specific one first, so
    every chosen scenario is played; a channel none of them fits takes a common one that does."""
    uses = {s.code: 0 for s in chosen}
    # The specific scenario (last chosen) wins ties, so it is played early and for sure.
    order = {s.code: (0 if not s.common else 1, i) for i, s in enumerate(chosen)}
    result: list[str | None] = []
    for channel in channels:
        fits = [s for s in chosen if channel in s.channels]
        if not fits:
            fallback = next((s for s in catalogue if s.common and channel in s.channels), None)
            result.append(fallback.code if fallback else None)
            continue
        best = min(fits, key=lambda s: (uses[s.code], order[s.code]))
        uses[best.code] += 1
        result.append(best.code)
    return result
