"""Events the scoring service publishes (stream `SCORING`)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import Field

from shared.contracts.base import Payload


class AuditScoredV1(Payload):
    audit_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    score: Decimal = Field(ge=0, le=100)
    points_obtained: Decimal
    points_possible: Decimal


PAYLOADS: dict[str, type[Payload]] = {
    "scoring.audit.scored.v1": AuditScoredV1,
}
