"""The messaging tables every service keeps in its own schema: outbox, inbox, dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    dead_letters: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Declare the three tables on a service's metadata (its schema comes with it)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("stream_sequence", BigInteger),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        # A row that failed is retried no earlier than this (growing delay between attempts).
        Column("next_attempt_at", DateTime(timezone=True)),
        # Set after `outbox_max_attempts` failures: the relay skips the row until it is replayed.
        Column("parked_at", DateTime(timezone=True)),
        Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=text("published_at IS NULL AND parked_at IS NULL"),
        ),
        Index("ix_outbox_parked", "id", postgresql_where=text("parked_at IS NOT NULL")),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("subject", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("stream", Text, nullable=False),
        Column("stream_sequence", BigInteger, nullable=False),
        Column("subject", Text, nullable=False),
        Column("event_id", Uuid),  # when the envelope could be read
        Column("deliveries", Integer, nullable=False),
        Column("data", LargeBinary, nullable=False),
        Column("reason", Text, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return MessagingTables(outbox=outbox, inbox=inbox, dead_letters=dead_letters)
