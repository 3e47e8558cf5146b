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


# --- v2: grids published once, audits naming their grid ------------------------------------

AnswerTypeV2 = Literal[
    "yes_no",  # true / false
    "scale",  # an integer from 0 to `scale_max` (ordinal)
    "delay_working_days",  # measured by fieldwork from the evidence's timestamps
    "duration_seconds",  # measured (e.g. waiting time on the phone)
    "duration_rings",  # measured (rings before pick-up)
    "count",  # a non-negative integer (e.g. transfers before an answer)
    "free_text",  # kept, never scored
]
JourneyStep = Literal["access", "reception_information_orientation", "processing"]
MEASURED_TYPES = frozenset({"delay_working_days", "duration_seconds", "duration_rings", "count"})


class CurveStepV1(Payload):
    """For a measured answer: `points` when the value is at most `up_to` (inclusive)."""

    up_to: Decimal = Field(ge=0)
    points: Decimal = Field(ge=0)


class ScoringRuleV1(Payload):
    """How an answer earns points; the item's share is points / max points, times its weight.

    - yes_no and scale: `points` maps each answer (`"true"`, `"false"`, `"0"`...`"4"`) to points;
    - measured answers: the first `curve` step (ascending `up_to`) the value fits gives the
      points, `otherwise_points` beyond the last step (e.g. full within 5 working days, half
      within 10, none beyond: steps (5, 1), (10, 0.5), otherwise 0);
    - free_text: no rule, the item is not scored.
    """

    points: dict[str, Decimal] = Field(default_factory=dict)
    curve: list[CurveStepV1] = Field(default_factory=list)
    otherwise_points: Decimal = Field(default=Decimal(0), ge=0)


class GridItemV2(Payload):
    code: str
    label_fr: str
    label_en: str
    criterion: str
    journey_step: JourneyStep
    answer_type: AnswerTypeV2
    scale_max: int | None = Field(default=None, ge=1, description="scale answers: 0..scale_max")
    rule: ScoringRuleV1 | None = Field(description="None only for free_text")
    weight: Decimal = Field(ge=0, description="0 for an item that is never scored")
    mandatory: bool = True
    not_applicable_allowed: bool = False


class GridPublishedV1(Payload):
    """A grid version, published once; immutable from then on (a change is a new version)."""

    code: str
    version: int = Field(ge=1)
    channel: str
    rules_version: str = Field(description="version of the scoring rules' semantics")
    items: list[GridItemV2]


class AnswerV2(Payload):
    item_code: str
    # StrictBool first: a scale answer of 1 must stay the number 1. Left to right: a number
    # travels as a JSON string ("4") and must read back as a number, not as free text.
    value: StrictBool | Decimal | str | None = Field(default=None, union_mode="left_to_right")
    not_applicable: bool = False


class AuditValidatedV2(Payload):
    """A validated audit; `revision` grows with each re-validation of the same task (after a
    correction or an upheld appeal): a consumer keeps the highest revision it has seen."""

    audit_id: uuid.UUID  # the task's id: stable across revisions
    revision: int = Field(ge=1)
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    structure_type: str
    stratum_code: str
    certified: bool
    site_id: uuid.UUID
    channel: str
    scenario_code: str | None
    grid_code: str
    grid_version: int
    answers: list[AnswerV2]
    contacted_at: datetime | None = None
    answered_at: datetime | None = None
    reply_delay_working_days: int | None = Field(
        default=None, description="working days after the contact day up to the reply day"
    )
    remarks: str | None = Field(default=None, description="auditor's remark, names masked")
    validated_at: datetime


VoiceKind = Literal["citizen_survey", "agent_survey", "kiosk_feedback", "consultation"]


class CitizenVoiceReceivedV1(Payload):
    """One accepted piece of perceived quality sent by a partner (names in comments masked)."""

    voice_id: uuid.UUID
    kind: VoiceKind
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID | None = None
    partner: str
    received_at: datetime
    satisfied: bool | None = Field(default=None, description="kiosk: satisfied or not")
    satisfaction: Decimal | None = Field(
        default=None, ge=0, le=100, description="surveys: the respondent's satisfaction /100"
    )
    reason: str | None = None
    comment: str | None = None
    participants: int | None = Field(default=None, ge=0, description="consultations")
    population_reached: int | None = Field(default=None, ge=0, description="consultations")


class AppealDecidedV1(Payload):
    """The operator decided a structure's appeal on an item of one of its audits: upheld (the
    answer corrected, the audit re-validated under `revision`) or rejected."""

    appeal_id: uuid.UUID
    audit_id: uuid.UUID = Field(description="the appealed task (the audit's stable id)")
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    item_code: str
    decision: Literal["upheld", "rejected"]
    revision: int | None = Field(default=None, description="upheld: the audit's new revision")
    decided_at: datetime


PAYLOADS: dict[str, type[Payload]] = {
    "fieldwork.appeal.decided.v1": AppealDecidedV1,
    "fieldwork.audit.validated.v1": AuditValidatedV1,
    "fieldwork.audit.validated.v2": AuditValidatedV2,
    "fieldwork.grid.published.v1": GridPublishedV1,
    "fieldwork.voice.received.v1": CitizenVoiceReceivedV1,
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
