"""Events the scoring service publishes (stream `SCORING`).

Figures are exact: scores out of 100 carry 10 decimals (scoring's stored form; every figure
is reproducible to that digit by a re-score); readers round for display (2 decimals, half-up).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.contracts.base import Payload


class AuditScoredV1(Payload):
    """One audit's score (2 decimals, half-up). Kept for reporting's first read model; the
    figures reporting needs come whole in `scoring.scores.updated.v1`."""

    audit_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    score: Decimal = Field(ge=0, le=100)
    points_obtained: Decimal
    points_possible: Decimal


class FigureV1(Payload):
    """A mean of audit scores: `score` /100 over `audits` audits (where the entry applied)."""

    score: Decimal
    audits: int
    # Added by reporting (optional, compatible): the sum of the squared audit scores behind
    # this mean, so a reader can give a confidence interval (sample variance from Σx, Σx², n).
    sum_squares: Decimal | None = None


class SiteFiguresV1(Payload):
    score: Decimal | None = Field(description="weighted mean of the site's channel scores")
    audits: int
    channels: dict[str, FigureV1]


class StructureFiguresV1(Payload):
    """Every figure of one structure, replacing what a reader held for it."""

    structure_id: uuid.UUID
    stratum_code: str
    structure_type: str
    certified: bool
    audits: int
    score: Decimal | None = Field(
        description="mean of the channel scores over the audited channels, with the edition's "
        "channel weights; None when no weighted channel was audited"
    )
    channels: dict[str, FigureV1]
    sites: dict[str, SiteFiguresV1] = Field(description="by site id")
    criteria: dict[str, FigureV1]
    journey_steps: dict[str, FigureV1]
    items: dict[str, FigureV1] = Field(description="by `<grid code>/<item code>`")
    # Added for readers with several members (optional, compatible): grows with each new
    # figures of the structure within a generation; keep the highest (None: no order known).
    version: int | None = None


GroupKind = Literal["sample", "stratum", "structure_type", "certified"]


class GroupFiguresV1(Payload):
    """Statistics over the structures of a group (their overall scores)."""

    kind: GroupKind
    key: str = Field(description="'' for the sample; stratum code; structure type; true/false")
    structures: int
    audits: int
    mean: Decimal | None = None
    median: Decimal | None = None
    q1: Decimal | None = None
    q3: Decimal | None = None
    p10: Decimal | None = None
    p90: Decimal | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    stddev: Decimal | None = Field(default=None, description="population standard deviation")
    performing: int = Field(default=0, description="structures at or above the threshold")
    performing_share: Decimal | None = Field(default=None, description="0..1")
    threshold: Decimal | None = None


class PerceivedQualityV1(Payload):
    """Perceived quality of a structure (`site_id` None) or of one of its sites. The indices
    are None (withheld) below the edition's minimum response count."""

    structure_id: uuid.UUID
    site_id: uuid.UUID | None
    responses: int = Field(description="citizen answers (surveys and kiosks)")
    published: bool
    satisfaction_index: Decimal | None = Field(description="/100")
    agent_responses: int
    agent_index: Decimal | None = Field(description="agents' perceived quality /100")
    consultations: int
    participants: int
    population_reached: int
    participation_rate: Decimal | None = Field(description="participants / population, 0..1")


class AuditScoreV1(Payload):
    """One audit's score, as scored (or re-scored after a new revision) in the batch."""

    audit_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    revision: int
    score: Decimal = Field(ge=0, le=100, description="2 decimals, half-up")
    score_exact: Decimal = Field(ge=0, le=100, description="10 decimals")
    methodology: str = Field(description="grid code:version:rules version:engine version")


class ScoresUpdatedV1(Payload):
    """The figures that changed in one consumer batch (or, `full` true, every figure of a
    generation just swapped in by a re-score, possibly over several events). A reader keeps,
    per edition, the figures of the highest `generation` it has seen."""

    edition_id: uuid.UUID
    generation: int
    full: bool = False
    structures: list[StructureFiguresV1]
    groups: list[GroupFiguresV1]
    perceived: list[PerceivedQualityV1] = Field(default_factory=list)
    audits: list[AuditScoreV1] = Field(
        default_factory=list, description="the audits scored in this batch (not on a re-score)"
    )


PAYLOADS: dict[str, type[Payload]] = {
    "scoring.audit.scored.v1": AuditScoredV1,
    "scoring.scores.updated.v1": ScoresUpdatedV1,
}
