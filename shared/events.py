"""The event envelope and the payload schemas every service agrees on.

Subjects read `<producer>.<entity>.<verb>.v<N>`; the envelope's `id` is also the
`Nats-Msg-Id` header so JetStream drops a republished duplicate.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

STREAMS: dict[str, str] = {"registry": "REGISTRY", "fieldwork": "FIELDWORK", "scoring": "SCORING"}


class EventEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    type: str = Field(description="`<producer>.<entity>.<verb>`, without the version")
    schema_version: int = Field(ge=1)
    occurred_at: datetime
    edition: uuid.UUID | None
    producer: str
    payload: dict[str, Any]

    @property
    def subject(self) -> str:
        return f"{self.type}.v{self.schema_version}"


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- registry -------------------------------------------------------------------------------


class EditionCreatedV1(Payload):
    edition_id: uuid.UUID
    year: int
    name: str
    status: str


class SiteRef(Payload):
    site_id: uuid.UUID
    name: str
    principal: bool


class RegistrationAcceptedV1(Payload):
    registration_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    structure_type: str
    commune_code: str | None
    population: int | None
    stratum_code: str
    stratum_label: str
    certified: bool
    offer: str
    sites: list[SiteRef]


# --- fieldwork ------------------------------------------------------------------------------

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


# --- scoring --------------------------------------------------------------------------------


class AuditScoredV1(Payload):
    audit_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    score: Decimal = Field(ge=0, le=100)
    points_obtained: Decimal
    points_possible: Decimal


EVENT_PAYLOADS: dict[str, type[Payload]] = {
    "registry.edition.created.v1": EditionCreatedV1,
    "registry.registration.accepted.v1": RegistrationAcceptedV1,
    "fieldwork.audit.validated.v1": AuditValidatedV1,
    "scoring.audit.scored.v1": AuditScoredV1,
}


def subject_of(payload: Payload) -> str:
    for subject, model in EVENT_PAYLOADS.items():
        if type(payload) is model:
            return subject
    raise KeyError(f"{type(payload).__name__} is not a registered event payload")


def new_event(payload: Payload, *, edition: uuid.UUID | None) -> EventEnvelope:
    subject = subject_of(payload)
    event_type, _, version = subject.rpartition(".v")
    return EventEnvelope(
        id=uuid.uuid4(),
        type=event_type,
        schema_version=int(version),
        occurred_at=datetime.now(UTC),
        edition=edition,
        producer=event_type.split(".", 1)[0],
        payload=payload.model_dump(mode="json"),
    )


class UnknownEvent(ValueError):
    """An event this code cannot read: malformed, or of a type or version it does not know."""


def parse_event(data: bytes) -> tuple[EventEnvelope, Payload]:
    try:
        envelope = EventEnvelope.model_validate_json(data)
    except ValidationError as exc:
        raise UnknownEvent(f"malformed envelope: {exc.error_count()} error(s): {exc}") from exc
    model = EVENT_PAYLOADS.get(envelope.subject)
    if model is None:
        raise UnknownEvent(f"unknown event type or version: {envelope.subject}")
    try:
        return envelope, model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise UnknownEvent(f"invalid {envelope.subject} payload: {exc}") from exc


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
