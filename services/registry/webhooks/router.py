"""HTTP routes of partner webhooks: a partner's subscriptions and deliveries (the operator reads
everyone's). Another partner's subscription or delivery is a 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.registry.webhooks import service
from services.registry.webhooks.rules import DeliveryStatus
from services.registry.webhooks.schemas import (
    DeliveryOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionWithSecret,
)
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role, current_principal
from shared.errors import Forbidden
from shared.idempotency import IdempotencyDep
from shared.pagination import Page, PageDep

router = APIRouter(tags=["webhooks"])

WEBHOOKS_SCOPE = "webhooks:manage"


def _partner(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A partner (OAuth client: the token's subject is its client id) holding the scope."""
    if principal.role is not Role.PARTNER:
        raise Forbidden(f"webhooks are a partner's; the token has the role {principal.role}")
    if WEBHOOKS_SCOPE not in principal.scopes:
        raise Forbidden(f"this operation needs the scope {WEBHOOKS_SCOPE}")
    return principal


def _reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The operator reads every partner's webhooks; a partner its own."""
    return principal if principal.role is Role.OPERATOR else _partner(principal)


Partner = Annotated[Principal, Depends(_partner)]
Reader = Annotated[Principal, Depends(_reader)]
SUBSCRIPTIONS = "/webhooks/subscriptions"
SUBSCRIPTION = SUBSCRIPTIONS + "/{subscription_id}"
DELIVERIES = "/webhooks/deliveries"
DELIVERY = DELIVERIES + "/{delivery_id}"


@router.post(SUBSCRIPTIONS, status_code=201, summary="Subscribe to events (partner)")
async def subscribe(
    body: SubscriptionIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Partner,
    idem: IdempotencyDep,
) -> SubscriptionWithSecret:
    """The answer carries the signing `secret`, shown this once (rotate it to get a new one).
    The target must be https outside development."""
    return await idem.once(
        service.subscribe(session, principal, body, runtime.settings.environment), status_code=201
    )


@router.get(SUBSCRIPTIONS, summary="List subscriptions (a partner its own; the operator all)")
async def list_subscriptions(
    session: SessionDep, page: PageDep, principal: Reader
) -> Page[SubscriptionOut]:
    return await service.list_subscriptions(session, principal, page)


@router.get(SUBSCRIPTION, summary="Read a subscription: its state, paused or active")
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: Reader
) -> SubscriptionOut:
    return await service.read_subscription(session, principal, subscription_id)


@router.delete(SUBSCRIPTION, status_code=204, summary="Unsubscribe (its deliveries go too)")
async def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: Partner
) -> Response:
    await service.unsubscribe(session, principal, subscription_id)
    return Response(status_code=204)


@router.post(SUBSCRIPTION + "/rotate-secret", summary="Replace the signing secret")
async def rotate_secret(
    subscription_id: uuid.UUID, session: SessionDep, principal: Partner, idem: IdempotencyDep
) -> SubscriptionWithSecret:
    """The new secret is shown this once and signs every attempt from now on."""
    return await idem.once(service.rotate_secret(session, principal, subscription_id))


@router.post(SUBSCRIPTION + "/resume", summary="Resume a paused subscription")
async def resume(
    subscription_id: uuid.UUID, session: SessionDep, principal: Partner, idem: IdempotencyDep
) -> SubscriptionOut:
    """Its waiting deliveries are sent at once; the failure count starts again from zero."""
    return await idem.once(service.resume(session, principal, subscription_id))


@router.get(DELIVERIES, summary="List deliveries, oldest first (a partner its own)")
async def list_deliveries(
    session: SessionDep,
    page: PageDep,
    principal: Reader,
    subscription_id: Annotated[
        uuid.UUID | None, Query(description="Only this subscription's deliveries.")
    ] = None,
    status: Annotated[DeliveryStatus | None, Query(description="Delivery status.")] = None,
) -> Page[DeliveryOut]:
    return await service.list_deliveries(
        session, principal, page, subscription_id=subscription_id, status=status
    )


@router.get(DELIVERY, summary="Read a delivery: attempts, last status, next attempt")
async def get_delivery(
    delivery_id: uuid.UUID, session: SessionDep, principal: Reader
) -> DeliveryOut:
    return await service.read_delivery(session, principal, delivery_id)


@router.post(DELIVERY + "/replay", summary="Send a delivery again (same id and body)")
async def replay(
    delivery_id: uuid.UUID, session: SessionDep, principal: Partner, idem: IdempotencyDep
) -> DeliveryOut:
    """Due at once, with a fresh attempt budget, whatever its status (delivered included)."""
    return await idem.once(service.replay(session, principal, delivery_id))
