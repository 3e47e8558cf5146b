"""Queries of partner webhooks: subscriptions, deliveries, opt-ins, the worker's claims."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Uuid, bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import PartnerOptIn, Registration
from services.registry.vocabulary import RegistrationStatus
from services.registry.webhooks.models import WebhookDelivery, WebhookSubscription
from services.registry.webhooks.rules import DeliveryStatus, SubscriptionStatus
from shared.pagination import after

# --- subscriptions --------------------------------------------------------------------------


async def add_subscription(session: AsyncSession, subscription: WebhookSubscription) -> None:
    session.add(subscription)
    await session.flush()
    await session.refresh(subscription)


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, *, client_id: str | None, lock: bool = False
) -> WebhookSubscription | None:
    """A subscription; `client_id` set: only when that partner owns it."""
    query = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    if client_id is not None:
        query = query.where(WebhookSubscription.client_id == client_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def list_subscriptions(
    session: AsyncSession, *, client_id: str | None, limit: int, key: Sequence[Any] | None
) -> Sequence[WebhookSubscription]:
    columns = (WebhookSubscription.created_at, WebhookSubscription.id)
    query = select(WebhookSubscription).where(after(columns, key))
    if client_id is not None:
        query = query.where(WebhookSubscription.client_id == client_id)
    return (await session.scalars(query.order_by(*columns).limit(limit + 1))).all()


async def delete_subscription(session: AsyncSession, subscription: WebhookSubscription) -> None:
    await session.delete(subscription)
    await session.flush()


async def subscribers(session: AsyncSession, event_type: str) -> Sequence[tuple[uuid.UUID, str]]:
    """(id, client) of every subscription to `event_type`, paused ones included (they keep
    their deliveries for later)."""
    rows = await session.execute(
        select(WebhookSubscription.id, WebhookSubscription.client_id)
        .where(WebhookSubscription.event_types.contains([event_type]))
        .order_by(WebhookSubscription.id)
    )
    return [(r.id, r.client_id) for r in rows]


async def opted_in_subscribers(
    session: AsyncSession, event_type: str, structure_ids: Collection[uuid.UUID]
) -> Sequence[tuple[uuid.UUID, uuid.UUID, str]]:
    """(structure, subscription id, client) for each subscription to `event_type` whose
    partner one of `structure_ids` opted in to, in one query whatever their number."""
    rows = await session.execute(
        select(PartnerOptIn.structure_id, WebhookSubscription.id, WebhookSubscription.client_id)
        .join(PartnerOptIn, PartnerOptIn.client_id == WebhookSubscription.client_id)
        .where(
            WebhookSubscription.event_types.contains([event_type]),
            PartnerOptIn.structure_id
            == func.any(bindparam("structures", list(structure_ids), type_=ARRAY(Uuid))),
        )
        .order_by(PartnerOptIn.structure_id, WebhookSubscription.id)
    )
    return [(r.structure_id, r.id, r.client_id) for r in rows]


async def accepted_structures(session: AsyncSession, edition_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Registration.structure_id)
        .where(
            Registration.edition_id == edition_id,
            Registration.status == RegistrationStatus.ACCEPTED.value,
        )
        .order_by(Registration.structure_id)
    )
    return list(rows)


# --- deliveries -----------------------------------------------------------------------------


async def add_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert deliveries, skipping those already made (same id): how many were new."""
    if not rows:
        return 0
    # Executemany (batched by SQLAlchemy), so a publication's thousands of rows fit.
    inserted = await session.scalars(
        pg_insert(WebhookDelivery)
        .on_conflict_do_nothing(index_elements=[WebhookDelivery.id])
        .returning(WebhookDelivery.id),
        list(rows),
    )
    return len(inserted.all())


async def get_delivery(
    session: AsyncSession, delivery_id: uuid.UUID, *, client_id: str | None, lock: bool = False
) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if client_id is not None:
        query = query.where(WebhookDelivery.client_id == client_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def list_deliveries(
    session: AsyncSession,
    *,
    client_id: str | None,
    subscription_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    key: Sequence[Any] | None,
) -> Sequence[WebhookDelivery]:
    columns = (WebhookDelivery.created_at, WebhookDelivery.id)
    query = select(WebhookDelivery).where(after(columns, key))
    if client_id is not None:
        query = query.where(WebhookDelivery.client_id == client_id)
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return (await session.scalars(query.order_by(*columns).limit(limit + 1))).all()


async def reschedule_pending(
    session: AsyncSession, subscription_id: uuid.UUID, at: datetime
) -> None:
    """A resumed subscription's waiting deliveries are due at once."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(next_attempt_at=at)
    )


# --- the worker -----------------------------------------------------------------------------


WITHDRAWN = "not sent: the structure no longer opts in to this partner"


async def drop_withdrawn(session: AsyncSession) -> None:
    """Due deliveries about a structure that has since withdrawn its opt-in are `failed`
    unsent (a replay after a new opt-in sends them)."""
    stale = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= func.now(),
            WebhookDelivery.structure_id.is_not(None),
            ~exists().where(
                PartnerOptIn.structure_id == WebhookDelivery.structure_id,
                PartnerOptIn.client_id == WebhookDelivery.client_id,
            ),
        )
        .with_for_update(of=WebhookDelivery, skip_locked=True)
        .scalar_subquery()
    )
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(stale))
        .values(status=DeliveryStatus.FAILED.value, last_error=WITHDRAWN, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


async def claim_due(
    session: AsyncSession, *, limit: int, lease: timedelta
) -> list[tuple[WebhookDelivery, str, str]]:
    """Up to `limit` due deliveries of active subscriptions, with their target and secret.

    Locked with `SKIP LOCKED` (two workers take different rows) only for this short
    transaction: each row's `next_attempt_at` moves `lease` ahead, so no other worker takes
    it while its HTTP call runs, without a lock held during the call; a worker that dies
    mid-call leaves it due again when the lease ends."""
    now = func.now()
    due = (
        select(WebhookDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.status == SubscriptionStatus.ACTIVE.value,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
        .scalar_subquery()
    )
    claimed = (
        await session.scalars(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(due))
            .values(next_attempt_at=now + lease)
            .returning(WebhookDelivery)
        )
    ).all()
    if not claimed:
        return []
    targets = {
        row.id: (row.target_url, row.secret)
        for row in await session.execute(
            select(
                WebhookSubscription.id, WebhookSubscription.target_url, WebhookSubscription.secret
            ).where(WebhookSubscription.id.in_({d.subscription_id for d in claimed}))
        )
    }
    return [(d, *targets[d.subscription_id]) for d in claimed]


async def record_success(
    session: AsyncSession, delivery_id: uuid.UUID, status_code: int, at: datetime
) -> uuid.UUID | None:
    """Mark delivered; the subscription's failure streak ends. Its id (None: deleted since)."""
    subscription_id = await session.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.DELIVERED.value,
            attempts=WebhookDelivery.attempts + 1,
            last_status_code=status_code,
            last_error=None,
            last_attempt_at=at,
            delivered_at=at,
            next_attempt_at=None,
        )
        .returning(WebhookDelivery.subscription_id)
    )
    if subscription_id is not None:
        await session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id)
            .values(consecutive_failures=0)
        )
    return subscription_id


async def record_failure(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status_code: int | None,
    error: str,
    at: datetime,
    next_attempt_at: datetime | None,
) -> tuple[uuid.UUID, int] | None:
    """Count a failed attempt; `next_attempt_at` None: attempts exhausted (`failed`). The
    subscription's failure streak grows: (its id, the streak), None when it is gone."""
    subscription_id = await session.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=(
                DeliveryStatus.PENDING.value
                if next_attempt_at is not None
                else DeliveryStatus.FAILED.value
            ),
            attempts=WebhookDelivery.attempts + 1,
            last_status_code=status_code,
            last_error=error,
            last_attempt_at=at,
            next_attempt_at=next_attempt_at,
        )
        .returning(WebhookDelivery.subscription_id)
    )
    if subscription_id is None:
        return None
    streak = await session.scalar(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(consecutive_failures=WebhookSubscription.consecutive_failures + 1)
        .returning(WebhookSubscription.consecutive_failures)
    )
    return None if streak is None else (subscription_id, int(streak))


async def pause(
    session: AsyncSession, subscription_id: uuid.UUID, reason: str, at: datetime
) -> bool:
    """Pause an active subscription; False when it already was (or is gone)."""
    paused = await session.scalar(
        update(WebhookSubscription)
        .where(
            WebhookSubscription.id == subscription_id,
            WebhookSubscription.status == SubscriptionStatus.ACTIVE.value,
        )
        .values(status=SubscriptionStatus.PAUSED.value, paused_at=at, pause_reason=reason)
        .returning(WebhookSubscription.id)
    )
    return paused is not None
