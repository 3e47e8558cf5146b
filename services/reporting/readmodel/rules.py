"""Pure rules of the read model: which scoring generation wins, edition settings, grouping."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from shared.schemas import StrictRequest

Dimension = Literal["overall", "channel", "journey_step", "criterion", "item"]
DIMENSIONS: tuple[Dimension, ...] = ("overall", "channel", "journey_step", "criterion", "item")
# figure_values.dimension -> the field of scoring's StructureFiguresV1 that holds it
FIGURE_FIELDS: dict[str, str] = {
    "channel": "channels",
    "journey_step": "journey_steps",
    "criterion": "criteria",
    "item": "items",
}
GROUP_KINDS = ("sample", "stratum", "structure_type", "certified")
PUBLISHED_STATUSES = frozenset({"published", "archived"})


class CategoryRule(StrictRequest):
    """A trophy category: the structures of these strata or of these types."""

    code: str = Field(min_length=1)
    label: str = Field(min_length=1)
    strata: list[str] = Field(default_factory=list)
    structure_types: list[str] = Field(default_factory=list)


class MentionRule(StrictRequest):
    """A mention: the highest mean of `keys` in `dimension` (or the participation rate)."""

    code: str = Field(min_length=1)
    label: str = Field(min_length=1)
    dimension: Literal["channel", "journey_step", "criterion", "participation_rate"]
    keys: list[str] = Field(default_factory=list)


def _preset_categories() -> list[CategoryRule]:
    c = CategoryRule
    return [
        c(code="cities-50k-plus", label="Villes de plus de 50 000 habitants", strata=["cities-50k-plus"]),
        c(code="cities-20k-50k", label="Villes de 20 000 à 49 999 habitants", strata=["cities-20k-50k"]),
        c(code="cities-under-20k", label="Villes de moins de 20 000 habitants", strata=["cities-under-20k"]),
        c(code="intercommunalities", label="Intercommunalités", structure_types=["intercommunality"]),
        c(code="departements", label="Départements", structure_types=["departement"]),
        c(code="regions", label="Régions", structure_types=["region"]),
        c(code="france-services", label="France Services", structure_types=["france_services"]),
        c(code="attractiveness", label="Services d'aménagement, de développement économique et d'attractivité",
          structure_types=["tourist_office", "chambers", "employment", "local_transport", "water_energy"]),
        c(code="social-care-health", label="Services sociaux, médico-sociaux, de solidarité et de santé",
          structure_types=["ccas", "social_care", "health_social_security", "social_housing"]),
    ]  # fmt: skip


def _preset_mentions() -> list[MentionRule]:
    return [
        MentionRule(code="digital", label="Mention « digital »", dimension="channel",
                    keys=["website", "social_networks"]),
        MentionRule(code="citizen-participation", label="Mention « participation citoyenne »",
                    dimension="participation_rate"),
        MentionRule(code="reception-skills", label="Mention « savoir-faire de l'accueil »",
                    dimension="journey_step", keys=["reception_information_orientation"]),
    ]  # fmt: skip


class EditionSettings(StrictRequest):
    """Reporting's settings of an edition (the operator's), with the 2020 preset."""

    min_group_size: int = Field(default=5, ge=2, le=1000, description="smaller groups are withheld")
    performing_threshold: Decimal = Field(default=Decimal(80), ge=0, le=100)
    methodology_version: str = Field(default="1", min_length=1)
    strengths_count: int = Field(default=3, ge=1, le=10)
    categories: list[CategoryRule] = Field(default_factory=_preset_categories)
    mentions: list[MentionRule] = Field(default_factory=_preset_mentions)
    min_audits_per_channel: dict[str, int] = Field(
        default_factory=lambda: {"email": 1, "phone": 1},
        description="eligibility for trophies: validated audits needed on each channel",
    )


def settings_of(stored: dict[str, Any] | None) -> EditionSettings:
    return EditionSettings.model_validate(stored or {})


def accepts_generation(held: int, incoming: int) -> bool:
    """A reader keeps, per edition, the figures of the highest generation it has seen."""
    return incoming >= held


def replaces_generation(held: int, incoming: int, full: bool) -> bool:
    """A full set of a newer generation replaces every figure held for the edition."""
    return full and incoming > held
