"""Scoring consumes validated audits from JetStream and publishes their scores."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import nats

from services.scoring.app import create_app
from shared.contracts.fieldwork import AnswerV1, AuditValidatedV1, GridItemV1, GridV1
from shared.events import new_event
from shared.messaging import ensure_stream
from tests.helpers import eventually, running


def validated_audit(structure_id: uuid.UUID, edition_id: uuid.UUID) -> AuditValidatedV1:
    grid = GridV1(
        code="email",
        version=1,
        channel="email",
        items=[
            GridItemV1(code="answered", label="Answered within 5 working days",
                       criterion="reactivity", journey_step="processing",
                       answer_type="yes_no", weight=Decimal(3)),
            GridItemV1(code="polite", label="Courteous answer", criterion="courtesy",
                       journey_step="reception", answer_type="yes_no", weight=Decimal(1)),
        ],
    )  # fmt: skip
    return AuditValidatedV1(
        audit_id=uuid.uuid4(),
        edition_id=edition_id,
        structure_id=structure_id,
        site_id=uuid.uuid4(),
        channel="email",
        grid=grid,
        answers=[
            AnswerV1(item_code="answered", value=True),
            AnswerV1(item_code="polite", value=False),
        ],
        validated_at=datetime.now(UTC),
    )


async def test_validated_audit_is_scored_and_announced(make_settings, token, nats_url) -> None:
    app = create_app(make_settings("scoring"))
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    payload = validated_audit(structure_id, edition_id)
    event = new_event(payload, edition=edition_id)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, "fieldwork")
    await ensure_stream(js, "scoring")
    scored = await js.subscribe("scoring.audit.scored.v1", stream="SCORING")
    async with running(app) as client:
        await js.publish(event.subject, event.model_dump_json().encode(),
                         headers={"Nats-Msg-Id": str(event.id)})  # fmt: skip

        async def score() -> dict[str, object] | None:
            r = await client.get(
                f"/v1/editions/{edition_id}/audits/{payload.audit_id}/score",
                headers=token("operator"),
            )
            return r.json() if r.status_code == 200 else None

        body = await eventually(score)
        assert Decimal(str(body["score"])) == Decimal("75.00")
        message = await scored.next_msg(timeout=10)
        announced = json.loads(message.data)
        assert announced["payload"]["audit_id"] == str(payload.audit_id)
        assert announced["payload"]["score"] == "75.00"
    await nc.close()
