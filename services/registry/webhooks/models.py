"""Tables of partner webhooks: subscriptions, deliveries (partners' opt-ins are
`services.registry.models.PartnerOptIn`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.base import Base


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(Text, index=True)
    target_url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # Kept readable: every delivery is signed with it (HMAC needs the secret itself).
    secret: Mapped[str] = mapped_column(Text)
    # `active` or `paused` (after `webhook_pause_after` failed attempts in a row).
    status: Mapped[str] = mapped_column(Text, server_default=text("'active'"))
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pause_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # What the worker claims: pending deliveries whose time has come.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at", "id"),
        # A partner's list, oldest first.
        Index("ix_webhook_deliveries_client", "client_id", "created_at", "id"),
    )

    # Derived from (event, subscription, type, structure): the same event consumed twice
    # makes the same id, and the receiver dedups on it (`Webhook-Id`).
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    client_id: Mapped[str] = mapped_column(Text)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(Text)
    structure_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The exact bytes POSTed (and signed), the same on every attempt.
    body: Mapped[str] = mapped_column(Text)
    # `pending` (waiting for its next attempt), `delivered`, or `failed` (attempts exhausted).
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
