"""API bodies of partner webhooks: subscriptions (the secret shown once) and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import Field, model_validator

from services.registry.common import Documented, Input
from services.registry.webhooks.rules import DeliveryStatus, SubscriptionStatus, WebhookEvent


class SubscriptionIn(Input):
    target_url: str = Field(
        min_length=1,
        max_length=2000,
        description="Where deliveries are POSTed: an https URL (http only in development).",
    )
    event_types: list[WebhookEvent] = Field(
        min_length=1, max_length=len(WebhookEvent), description="The events to receive."
    )

    @model_validator(mode="after")
    def _unique(self) -> Self:
        if len(set(self.event_types)) != len(self.event_types):
            raise ValueError("each event type may be given once")
        return self


class SubscriptionOut(Documented):
    id: uuid.UUID = Field(description="Identifier of the subscription.")
    client_id: str = Field(description="The partner (OAuth client) that owns it.")
    target_url: str = Field(description="Where deliveries are POSTed.")
    event_types: list[WebhookEvent] = Field(description="The events it receives.")
    status: SubscriptionStatus = Field(
        description="`active`, or `paused` after repeated failures (resume it to go on)."
    )
    consecutive_failures: int = Field(description="Failed attempts in a row, all deliveries.")
    paused_at: datetime | None = Field(description="When it was paused; null when active.")
    pause_reason: str | None = Field(description="Why it was paused; null when active.")
    created_at: datetime = Field(description="When it was created (UTC).")
    secret_rotated_at: datetime | None = Field(description="When the secret last changed.")


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(
        description="The signing secret: shown only now (at creation or rotation); keep it."
    )


class DeliveryOut(Documented):
    id: uuid.UUID = Field(description="Identifier of the delivery, sent as `Webhook-Id`.")
    subscription_id: uuid.UUID = Field(description="The subscription it is for.")
    event_type: WebhookEvent = Field(description="What happened.")
    event_id: uuid.UUID = Field(description="The internal event it comes from.")
    structure_id: uuid.UUID | None = Field(description="The structure it concerns, if one.")
    status: DeliveryStatus = Field(
        description="`pending` (waiting for its next attempt), `delivered`, or `failed` "
        "(attempts exhausted; replay it)."
    )
    attempts: int = Field(description="Attempts made so far.")
    last_status_code: int | None = Field(description="HTTP status of the last attempt.")
    last_error: str | None = Field(description="What went wrong at the last attempt.")
    last_attempt_at: datetime | None = Field(description="When the last attempt was made.")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due.")
    delivered_at: datetime | None = Field(description="When the receiver accepted it.")
    created_at: datetime = Field(description="When it was created (UTC).")
    body: str = Field(description="The exact JSON body POSTed (and signed).")
