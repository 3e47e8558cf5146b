"""The event envelope, and the machinery to build and parse events (payloads: `shared.contracts`).

Subjects read `<producer>.<entity>.<verb>.v<N>`; the envelope's `id` is also the
`Nats-Msg-Id` header so JetStream drops a republished duplicate.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.contracts import EVENT_PAYLOADS, Payload

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
    # W3C trace context (`traceparent`, `tracestate`) of the request or event that caused it;
    # absent from events written outside any trace and from older producers.
    trace: dict[str, str] | None = None

    @property
    def subject(self) -> str:
        return f"{self.type}.v{self.schema_version}"


def subject_of(payload: Payload) -> str:
    for subject, model in EVENT_PAYLOADS.items():
        if type(payload) is model:
            return subject
    raise KeyError(f"{type(payload).__name__} is not a registered event payload")


def new_event(
    payload: Payload, *, edition: uuid.UUID | None, trace: dict[str, str] | None = None
) -> EventEnvelope:
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
        trace=trace or None,
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


__all__ = [
    "EVENT_PAYLOADS",
    "STREAMS",
    "EventEnvelope",
    "Payload",
    "UnknownEvent",
    "new_event",
    "parse_event",
]
