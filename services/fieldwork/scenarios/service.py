"""The scenario catalogue shipped with the service (`catalogue.yaml`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from services.fieldwork.scenarios.rules import Scenario, parse_catalogue

CATALOGUE = Path(__file__).parent / "catalogue.yaml"


@cache
def catalogue() -> tuple[Scenario, ...]:
    return parse_catalogue(CATALOGUE.name, CATALOGUE.read_text(encoding="utf-8"))


def by_code() -> dict[str, Scenario]:
    return {s.code: s for s in catalogue()}
