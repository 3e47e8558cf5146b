"""Queries of dead letters (the consumer base's table) and of their replays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import DeadLetterReplay, tables

d = tables.dead_letters


async def page(session: AsyncSession, *, after: int | None, limit: int) -> Sequence[Row[Any]]:
    query = (
        select(
            d.c.id, d.c.consumer, d.c.stream, d.c.stream_sequence, d.c.subject, d.c.deliveries,
            d.c.reason, d.c.received_at, DeadLetterReplay.outcome, DeadLetterReplay.replayed_at,
        )
        .outerjoin(DeadLetterReplay, DeadLetterReplay.dead_letter_id == d.c.id)
        .order_by(d.c.id)
        .limit(limit)
    )  # fmt: skip
    if after is not None:
        query = query.where(d.c.id > after)
    return (await session.execute(query)).all()


async def one(session: AsyncSession, dead_letter_id: int) -> Row[Any] | None:
    """The dead letter, locked, with its replay if any."""
    return (
        await session.execute(
            select(d.c.id, d.c.consumer, d.c.data, DeadLetterReplay.outcome)
            .outerjoin(DeadLetterReplay, DeadLetterReplay.dead_letter_id == d.c.id)
            .where(d.c.id == dead_letter_id)
            .with_for_update(of=d)
        )
    ).first()


async def record_replay(session: AsyncSession, dead_letter_id: int, outcome: str) -> None:
    await session.execute(
        insert(DeadLetterReplay).values(dead_letter_id=dead_letter_id, outcome=outcome)
    )


async def mark_processed(session: AsyncSession, consumer: str, event_id: Any, subject: str) -> bool:
    """The inbox row of a replayed event; False when the event was already applied."""
    inbox = tables.inbox
    done = await session.scalar(
        insert(inbox)
        .values(consumer=consumer, event_id=event_id, subject=subject)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return done is not None
