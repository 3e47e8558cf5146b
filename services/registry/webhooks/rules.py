"""Pure rules of partner webhooks: event types, the body and signature of a delivery, retry
delays, when a subscription pauses, which target URLs are acceptable."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from shared.contracts.fieldwork import AppealDecidedV1
from shared.contracts.registry import (
    EditionStatusChangedV1,
    RegistrationAcceptedV1,
    RegistrationAcceptedV2,
)


class WebhookEvent(StrEnum):
    """What a partner subscribes to (the webhook's own names, not the internal subjects)."""

    REGISTRATION_ACCEPTED = "registration.accepted"
    RESULTS_DISPATCHED = "results.dispatched"
    EDITION_PUBLISHED = "edition.published"
    APPEAL_DECIDED = "appeal.decided"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# Headers of every delivery (also in docs/webhooks.md).
ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
EVENT_HEADER = "Webhook-Event"
SIGNATURE_PREFIX = "sha256="

_DELIVERY_NAMESPACE = uuid.UUID("5b0e6f4e-3c51-4a8e-9d1e-4f7a2b1c9d00")


@dataclass(frozen=True)
class Occurrence:
    """One thing a partner may hear of, from one consumed event: about one structure (only
    the partners it opted in to receive it) or about none (every subscriber does)."""

    event_id: uuid.UUID
    event_type: WebhookEvent
    occurred_at: datetime
    structure_id: uuid.UUID | None
    data: dict[str, Any]


def delivery_id(occurrence: Occurrence, subscription_id: uuid.UUID) -> uuid.UUID:
    """Stable: the same event consumed twice gives the same delivery (and `Webhook-Id`)."""
    key = f"{occurrence.event_id}/{subscription_id}/{occurrence.event_type}/"
    return uuid.uuid5(_DELIVERY_NAMESPACE, key + str(occurrence.structure_id or ""))


def delivery_body(occurrence: Occurrence, delivery: uuid.UUID) -> str:
    """The JSON POSTed (compact, keys sorted): the same bytes on every attempt."""
    document = {
        "id": str(delivery),
        "type": occurrence.event_type.value,
        "occurred_at": occurrence.occurred_at.isoformat(),
        "event_id": str(occurrence.event_id),
        "data": occurrence.data,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def signature(secret: str, timestamp: int, body: str) -> str:
    """`sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"` under the subscription's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def signed_headers(
    delivery: uuid.UUID, event_type: str, secret: str, timestamp: int, body: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        ID_HEADER: str(delivery),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        EVENT_HEADER: event_type,
    }


def retry_delay(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after `attempts` failed ones: `base` doubled per failed
    attempt, capped, plus up to a quarter more of jitter (never less than the doubled delay, so
    receivers coming back are not hit by every sender at once)."""
    exact = min(cap, base * 2.0 ** max(0, attempts - 1))
    jitter: float = (rng or random).random()
    return exact * (1 + 0.25 * jitter)


@dataclass(frozen=True)
class AttemptOutcome:
    ok: bool
    status_code: int | None
    error: str | None


def outcome_of(status_code: int | None, error: str | None) -> AttemptOutcome:
    """A 2xx answer delivers; anything else (another status, a timeout, a refused
    connection) is a failed attempt."""
    ok = error is None and status_code is not None and 200 <= status_code < 300
    if not ok and error is None:
        error = f"the receiver answered {status_code}"
    return AttemptOutcome(ok=ok, status_code=status_code, error=error)


def gives_up(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts


def pauses(consecutive_failures: int, pause_after: int) -> bool:
    return consecutive_failures >= pause_after


def target_url_problem(url: str, environment: str) -> str | None:
    """Why a target URL is refused (None when it is fine): HTTPS outside development and test;
    no credentials in the URL (they would show in every listing)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the target must be an absolute http(s) URL"
    if parts.scheme != "https" and environment not in ("dev", "test"):
        return "the target must use https"
    if parts.username or parts.password:
        return "the target URL must not carry credentials"
    if environment not in ("dev", "test") and _internal(parts.hostname):
        return "the target must be a public host, not a loopback, private or link-local address"
    return None


def _internal(host: str) -> bool:
    """A host that names this machine or a private network (what a partner must not make the
    registry call). A name resolving to such an address is the network's egress rules' job."""
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


# --- what each consumed event means to partners ---------------------------------------------
# Reporting publishes no event yet: "edition published" and "results dispatched" come from the
# registry's own `registry.edition.status_changed.v1` to `published` (the moment reporting
# itself treats results and the barometer as published).

PUBLISHED = "published"


def registration_accepted(
    event_id: uuid.UUID, occurred_at: datetime, p: RegistrationAcceptedV1 | RegistrationAcceptedV2
) -> Occurrence:
    v2 = p if isinstance(p, RegistrationAcceptedV2) else None
    return Occurrence(
        event_id=event_id,
        event_type=WebhookEvent.REGISTRATION_ACCEPTED,
        occurred_at=occurred_at,
        structure_id=p.structure_id,
        data={
            "edition_id": str(p.edition_id),
            "edition_year": v2.edition_year if v2 else None,
            "registration_id": str(p.registration_id),
            "structure_id": str(p.structure_id),
            "structure_name": v2.structure_name if v2 else None,
            "structure_type": p.structure_type,
            "stratum_code": p.stratum_code,
            "stratum_label": p.stratum_label,
            "offer": p.offer,
        },
    )


def publication(
    event_id: uuid.UUID,
    occurred_at: datetime,
    p: EditionStatusChangedV1,
    accepted_structures: Sequence[uuid.UUID],
) -> list[Occurrence]:
    """An edition published: one `edition.published` for every subscriber, and one
    `results.dispatched` per structure accepted in it (for the partners it opted in to)."""
    if p.to_status != PUBLISHED:
        return []
    edition = {
        "edition_id": str(p.edition_id),
        "year": p.year,
        "results_dispatch_on": p.results_dispatch_on.isoformat() if p.results_dispatch_on else None,
    }
    published = Occurrence(event_id, WebhookEvent.EDITION_PUBLISHED, occurred_at, None, edition)
    return [published] + [
        Occurrence(
            event_id,
            WebhookEvent.RESULTS_DISPATCHED,
            occurred_at,
            structure_id,
            {**edition, "structure_id": str(structure_id)},
        )
        for structure_id in accepted_structures
    ]


def appeal_decided(event_id: uuid.UUID, occurred_at: datetime, p: AppealDecidedV1) -> Occurrence:
    """The decision without its reason (the operator's words stay with the structure)."""
    return Occurrence(
        event_id=event_id,
        event_type=WebhookEvent.APPEAL_DECIDED,
        occurred_at=occurred_at,
        structure_id=p.structure_id,
        data={
            "appeal_id": str(p.appeal_id),
            "audit_id": str(p.audit_id),
            "edition_id": str(p.edition_id),
            "structure_id": str(p.structure_id),
            "item_code": p.item_code,
            "decision": p.decision,
            "revision": p.revision,
            "decided_at": p.decided_at.isoformat(),
        },
    )
