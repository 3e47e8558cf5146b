"""Pure rules of partner webhooks: signature, stable delivery ids and bodies, backoff, pause,
target URLs, and what each consumed event means to partners."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import uuid
from datetime import UTC, date, datetime

from services.registry.webhooks import rules
from services.registry.webhooks.rules import Occurrence, WebhookEvent
from shared.contracts.fieldwork import AppealDecidedV1
from shared.contracts.registry import EditionStatusChangedV1

WHEN = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def occurrence(structure: uuid.UUID | None = None) -> Occurrence:
    return Occurrence(uuid.uuid4(), WebhookEvent.EDITION_PUBLISHED, WHEN, structure, {"é": 1})


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = '{"id":"x","data":{"name":"Mairie de Nantes"}}'
    expected = hmac.new(b"whsec_k", f"1764086400.{body}".encode(), hashlib.sha256).hexdigest()
    assert rules.signature("whsec_k", 1764086400, body) == "sha256=" + expected
    assert rules.signature("whsec_k", 1764086401, body) != rules.signature(
        "whsec_k", 1764086400, body
    )
    headers = rules.signed_headers(uuid.UUID(int=7), "edition.published", "whsec_k", 1, body)
    assert headers["Webhook-Id"] == str(uuid.UUID(int=7))
    assert headers["Webhook-Signature"] == rules.signature("whsec_k", 1, body)


def test_delivery_ids_and_bodies_are_stable() -> None:
    one, subscription = occurrence(uuid.uuid4()), uuid.uuid4()
    assert rules.delivery_id(one, subscription) == rules.delivery_id(one, subscription)
    assert rules.delivery_id(one, subscription) != rules.delivery_id(one, uuid.uuid4())
    other_structure = Occurrence(one.event_id, one.event_type, WHEN, uuid.uuid4(), one.data)
    assert rules.delivery_id(other_structure, subscription) != rules.delivery_id(one, subscription)
    delivery = rules.delivery_id(one, subscription)
    body = rules.delivery_body(one, delivery)
    assert body == rules.delivery_body(one, delivery)
    assert json.loads(body) == {
        "id": str(delivery), "type": "edition.published", "occurred_at": WHEN.isoformat(),
        "event_id": str(one.event_id), "data": {"é": 1},
    }  # fmt: skip


def test_backoff_doubles_with_bounded_jitter_and_a_cap() -> None:
    rng = random.Random(11)
    for attempts, exact in ((1, 30.0), (2, 60.0), (3, 120.0), (4, 240.0), (20, 3600.0)):
        for _ in range(50):
            delay = rules.retry_delay(attempts, 30.0, 3600.0, rng)
            assert exact <= delay <= exact * 1.25


def test_outcomes_give_up_and_pause() -> None:
    assert rules.outcome_of(204, None).ok
    refused = rules.outcome_of(410, None)
    assert not refused.ok
    assert refused.error == "the receiver answered 410"
    assert not rules.outcome_of(None, "ConnectError: refused").ok
    assert not rules.gives_up(14, 15)
    assert rules.gives_up(15, 15)
    assert not rules.pauses(19, 20)
    assert rules.pauses(20, 20)


def test_target_urls() -> None:
    assert rules.target_url_problem("https://partner.example/hook", "prod") is None
    assert rules.target_url_problem("http://partner.example/hook", "prod") == (
        "the target must use https"
    )
    assert rules.target_url_problem("http://127.0.0.1:9000/hook", "dev") is None
    assert rules.target_url_problem("http://127.0.0.1:9000/hook", "test") is None
    assert rules.target_url_problem("https://u:p@partner.example/", "prod") is not None
    assert rules.target_url_problem("partner.example/hook", "dev") is not None
    assert rules.target_url_problem("ftp://partner.example/", "dev") is not None
    for internal in (
        "127.0.0.1",
        "10.1.2.3",
        "[::1]",
        "169.254.169.254",
        "localhost",
        "db.internal",
    ):
        problem = rules.target_url_problem(f"https://{internal}/hook", "prod")
        assert problem is not None
        assert "public host" in problem
    assert rules.target_url_problem("https://93.184.216.34/hook", "prod") is None


def test_a_publication_is_one_edition_event_and_results_per_accepted_structure() -> None:
    edition, structures = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    changed = EditionStatusChangedV1(
        edition_id=edition, year=2026, from_status="scoring", to_status="published",
        actor_role="operator", actor_subject="op", results_dispatch_on=date(2026, 11, 20),
    )  # fmt: skip
    event = uuid.uuid4()
    published, *results = rules.publication(event, WHEN, changed, structures)
    assert published.event_type is WebhookEvent.EDITION_PUBLISHED
    assert published.structure_id is None
    assert published.data["results_dispatch_on"] == "2026-11-20"
    assert [(r.event_type, r.structure_id) for r in results] == [
        (WebhookEvent.RESULTS_DISPATCHED, s) for s in structures
    ]
    assert results[0].data["structure_id"] == str(structures[0])
    other = changed.model_copy(update={"to_status": "archived", "from_status": "published"})
    assert rules.publication(event, WHEN, other, structures) == []


def test_an_appeal_decision_travels_without_its_reason() -> None:
    decided = AppealDecidedV1(
        appeal_id=uuid.uuid4(), audit_id=uuid.uuid4(), edition_id=uuid.uuid4(),
        structure_id=uuid.uuid4(), item_code="phone_rings", decision="rejected",
        decided_at=WHEN,
    )  # fmt: skip
    found = rules.appeal_decided(uuid.uuid4(), WHEN, decided)
    assert found.structure_id == decided.structure_id
    assert found.data["decision"] == "rejected"
    assert found.data["revision"] is None
    assert "reason" not in found.data
