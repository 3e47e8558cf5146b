"""Events the fieldwork service publishes (stream `FIELDWORK`), and the audit contract's check
of answers against a grid (fieldwork refuses such a submission, scoring refuses such an event)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, StrictBool

from shared.contracts.base import Payload

AnswerType = Literal["yes_no", "scale", "max_duration"]


class GridItemV1(Payload):
    code: str
    label: str
    criterion: str
    journey_step: str
    answer_type: AnswerType
    weight: Decimal = Field(gt=0)
    scale_max: int | None = None
    target: Decimal | None = None
    not_applicable_allowed: bool = False


class GridV1(Payload):
    code: str
    version: int
    channel: str
    items: list[GridItemV1]


class AnswerV1(Payload):
    item_code: str
    # StrictBool: a scale answer of 1 (or "1" once serialised) must stay a number.
    value: StrictBool | Decimal | None = None
    not_applicable: bool = False


class AuditValidatedV1(Payload):
    audit_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    grid: GridV1
    answers: list[AnswerV1]
    validated_at: datetime


PAYLOADS: dict[str, type[Payload]] = {
    "fieldwork.audit.validated.v1": AuditValidatedV1,
}


def answer_problems(grid: GridV1, answers: list[AnswerV1]) -> list[str]:
    """What is wrong with a set of answers to a grid (empty when they can be scored).

    Part of the audit contract: fieldwork refuses such a submission, scoring refuses such an event.
    """
    problems: list[str] = []
    by_code: dict[str, AnswerV1] = {}
    items = {item.code: item for item in grid.items}
    for answer in answers:
        if answer.item_code not in items:
            problems.append(f"{answer.item_code}: not an item of grid {grid.code} v{grid.version}")
        elif answer.item_code in by_code:
            problems.append(f"{answer.item_code}: answered twice")
        by_code[answer.item_code] = answer
    applicable = 0
    for item in grid.items:
        given = by_code.get(item.code)
        if given is None:
            problems.append(f"{item.code}: no answer")
            continue
        if given.not_applicable:
            if not item.not_applicable_allowed:
                problems.append(f"{item.code}: 'not applicable' is not allowed for this item")
            elif given.value is not None:
                problems.append(f"{item.code}: a 'not applicable' answer carries no value")
            continue
        applicable += 1
        value = given.value
        if item.answer_type == "yes_no":
            if not isinstance(value, bool):
                problems.append(f"{item.code}: expects yes/no (true or false)")
        elif isinstance(value, bool) or value is None:
            problems.append(f"{item.code}: expects a number")
        elif item.answer_type == "scale" and not (0 <= value <= (item.scale_max or 0)):
            problems.append(f"{item.code}: expects a value from 0 to {item.scale_max}")
        elif item.answer_type == "max_duration" and value < 0:
            problems.append(f"{item.code}: a duration cannot be negative")
    if grid.items and applicable == 0 and not problems:
        problems.append("every item is 'not applicable': the audit has nothing to score")
    return problems
