"""API bodies of the territory routes."""

from __future__ import annotations

from pydantic import BaseModel


class CommuneOut(BaseModel):
    code: str
    name: str
    departement_code: str
    region_code: str
    population: int | None
