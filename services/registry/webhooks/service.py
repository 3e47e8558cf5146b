"""Decisions of partner webhooks: a partner manages its own subscriptions and deliveries (the
operator reads them all); consumed events become deliveries, in the consumer's transaction.

Functions here only `flush()`; the request's (or the consumer batch's) session commits.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.webhooks import repository as repo
from services.registry.webhooks.models import WebhookDelivery, WebhookSubscription
from services.registry.webhooks.rules import (
    DeliveryStatus,
    Occurrence,
    SubscriptionStatus,
    delivery_body,
    delivery_id,
    target_url_problem,
)
from services.registry.webhooks.schemas import (
    DeliveryOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionWithSecret,
)
from shared.auth import Principal, Role
from shared.errors import NotFound, Unprocessable
from shared.pagination import Page, PageParams, paginate


def _owner(principal: Principal) -> str | None:
    """Whose objects the caller reaches: a partner its own, the operator everyone's."""
    return None if principal.role is Role.OPERATOR else principal.subject


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _out(subscription: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(subscription, from_attributes=True)


def _with_secret(subscription: WebhookSubscription) -> SubscriptionWithSecret:
    return SubscriptionWithSecret.model_validate(subscription, from_attributes=True)


def _delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


# --- subscriptions --------------------------------------------------------------------------


async def subscribe(
    session: AsyncSession, principal: Principal, body: SubscriptionIn, environment: str
) -> SubscriptionWithSecret:
    problem = target_url_problem(body.target_url, environment)
    if problem is not None:
        raise Unprocessable(problem, field="target_url")
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        client_id=principal.subject,
        target_url=body.target_url,
        event_types=[e.value for e in body.event_types],
        secret=_new_secret(),
    )
    await repo.add_subscription(session, subscription)
    return _with_secret(subscription)


async def _subscription(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription:
    """Another partner's subscription is a 404, as one that does not exist."""
    found = await repo.get_subscription(
        session, subscription_id, client_id=_owner(principal), lock=lock
    )
    if found is None:
        raise NotFound(f"no webhook subscription {subscription_id}")
    return found


async def list_subscriptions(
    session: AsyncSession, principal: Principal, page: PageParams
) -> Page[SubscriptionOut]:
    rows = await repo.list_subscriptions(
        session, client_id=_owner(principal), limit=page.limit, key=page.key(2)
    )
    items, cursor = paginate(rows, page.limit, lambda s: (s.created_at, s.id))
    return Page(items=[_out(s) for s in items], next_cursor=cursor)


async def read_subscription(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> SubscriptionOut:
    return _out(await _subscription(session, principal, subscription_id))


async def unsubscribe(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> None:
    """The subscription and its deliveries are gone; nothing more is sent."""
    await repo.delete_subscription(
        session, await _subscription(session, principal, subscription_id, lock=True)
    )


async def rotate_secret(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> SubscriptionWithSecret:
    """A new secret signs every attempt from now on (retries of older deliveries included)."""
    subscription = await _subscription(session, principal, subscription_id, lock=True)
    subscription.secret = _new_secret()
    subscription.secret_rotated_at = datetime.now(UTC)
    await session.flush()
    return _with_secret(subscription)


async def resume(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> SubscriptionOut:
    """Back to active: the failure streak forgotten, waiting deliveries due at once."""
    subscription = await _subscription(session, principal, subscription_id, lock=True)
    now = datetime.now(UTC)
    if subscription.status != SubscriptionStatus.ACTIVE:
        subscription.status = SubscriptionStatus.ACTIVE.value
        subscription.paused_at = None
        subscription.pause_reason = None
        subscription.consecutive_failures = 0
        await repo.reschedule_pending(session, subscription.id, now)
    await session.flush()
    return _out(subscription)


# --- deliveries -----------------------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    subscription_id: uuid.UUID | None,
    status: DeliveryStatus | None,
) -> Page[DeliveryOut]:
    rows = await repo.list_deliveries(
        session,
        client_id=_owner(principal),
        subscription_id=subscription_id,
        status=status.value if status else None,
        limit=page.limit,
        key=page.key(2),
    )
    items, cursor = paginate(rows, page.limit, lambda d: (d.created_at, d.id))
    return Page(items=[_delivery_out(d) for d in items], next_cursor=cursor)


async def _delivery(
    session: AsyncSession, principal: Principal, delivery: uuid.UUID, *, lock: bool = False
) -> WebhookDelivery:
    found = await repo.get_delivery(session, delivery, client_id=_owner(principal), lock=lock)
    if found is None:
        raise NotFound(f"no webhook delivery {delivery}")
    return found


async def read_delivery(
    session: AsyncSession, principal: Principal, delivery: uuid.UUID
) -> DeliveryOut:
    return _delivery_out(await _delivery(session, principal, delivery))


async def replay(session: AsyncSession, principal: Principal, delivery: uuid.UUID) -> DeliveryOut:
    """Send again (same id, same body, a fresh signature), now, with a fresh attempt budget;
    a paused subscription sends it once resumed."""
    found = await _delivery(session, principal, delivery, lock=True)
    found.status = DeliveryStatus.PENDING.value
    found.attempts = 0
    found.next_attempt_at = datetime.now(UTC)
    await session.flush()
    return _delivery_out(found)


# --- from events ----------------------------------------------------------------------------


async def record(session: AsyncSession, occurrences: Sequence[Occurrence]) -> int:
    """One delivery per (occurrence, subscriber), in the caller's transaction; an occurrence
    about a structure goes only to the partners it opted in to. How many were new (a
    redelivered event makes none: the ids are derived from it)."""
    now = datetime.now(UTC)
    rows = []
    for event_type in dict.fromkeys(o.event_type for o in occurrences):
        of_type = [o for o in occurrences if o.event_type is event_type]
        about = {o.structure_id for o in of_type if o.structure_id is not None}
        by_structure: dict[uuid.UUID | None, list[tuple[uuid.UUID, str]]] = {}
        for structure_id, subscription_id, client_id in (
            await repo.opted_in_subscribers(session, event_type.value, about) if about else []
        ):
            by_structure.setdefault(structure_id, []).append((subscription_id, client_id))
        if len(about) < len(of_type):  # some are about no single structure
            by_structure[None] = list(await repo.subscribers(session, event_type.value))
        for occurrence in of_type:
            for subscription_id, client_id in by_structure.get(occurrence.structure_id, []):
                delivery = delivery_id(occurrence, subscription_id)
                rows.append(
                    {
                        "id": delivery,
                        "subscription_id": subscription_id,
                        "client_id": client_id,
                        "event_id": occurrence.event_id,
                        "event_type": occurrence.event_type.value,
                        "structure_id": occurrence.structure_id,
                        "body": delivery_body(occurrence, delivery),
                        "status": DeliveryStatus.PENDING.value,
                        "next_attempt_at": now,
                    }
                )
    return await repo.add_deliveries(session, rows)


async def accepted_structures(session: AsyncSession, edition_id: uuid.UUID) -> list[uuid.UUID]:
    return await repo.accepted_structures(session, edition_id)
