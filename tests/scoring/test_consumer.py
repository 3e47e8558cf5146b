"""Scoring consumes validated audits from JetStream and publishes their scores."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import nats
from nats.js import JetStreamContext

from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from shared.contracts import Payload
from shared.contracts.fieldwork import AnswerV1, AuditValidatedV1, GridItemV1, GridV1
from shared.events import new_event
from tests.conftest import SettingsFactory
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


async def test_validated_audit_is_scored_and_announced(
    make_settings: SettingsFactory, token: Callable[..., dict[str, str]], nats_url: str
) -> None:
    settings = make_settings("scoring")
    assert isinstance(settings, ScoringSettings)
    app = create_app(settings)
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    payload = validated_audit(structure_id, edition_id)
    event = new_event(payload, edition=edition_id)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    updated = await js.subscribe("scoring.scores.updated.v1", stream="SCORING")
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
        message = await updated.next_msg(timeout=10)
        announced = json.loads(message.data)["payload"]
        assert [a["audit_id"] for a in announced["audits"]] == [str(payload.audit_id)]
        assert announced["audits"][0]["score"] == "75.00"
        assert announced["structures"][0]["channels"]["email"] == {
            "score": "75.0000000000",
            "audits": 1,
            "sum_squares": "5625.00000000000000000000",  # for a reader's confidence interval
        }
    await nc.close()


async def publish(
    js: JetStreamContext, payload: Payload, edition_id: uuid.UUID | None = None
) -> uuid.UUID:
    event = new_event(payload, edition=edition_id)
    await js.publish(event.subject, event.model_dump_json().encode(),
                     headers={"Nats-Msg-Id": str(event.id)})  # fmt: skip
    return event.id


async def test_v2_audits_wait_for_their_grid_and_poison_is_dead_lettered(
    make_settings: SettingsFactory, token: Callable[..., dict[str, str]], nats_url: str
) -> None:
    """Audits before their grid wait (parked), then count; a malformed event and an audit that
    does not fit its grid are dead-lettered and listed, the others scored; one is replayed."""
    import random

    from tests.scoring.factory import audit, grid, structure, voice

    settings = make_settings("scoring", group_refresh_seconds=0)
    assert isinstance(settings, ScoringSettings)
    app = create_app(settings)
    edition_id = uuid.uuid4()
    rng = random.Random(5)
    s = structure(edition_id, 0)
    code = f"email-{edition_id.hex[:8]}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    updates = await js.subscribe("scoring.scores.updated.v1", stream="SCORING")
    operator = token("operator")
    async with running(app) as client:
        first = audit(edition_id, s, code, "email", rng)
        await publish(js, first, edition_id)
        second = audit(edition_id, s, code, "email", rng)
        await publish(js, second, edition_id)
        for _ in range(3):
            await publish(js, voice(edition_id, s, "kiosk_feedback", rng), edition_id)

        async def parked() -> dict[str, Any] | None:
            r = await client.get(f"/v1/editions/{edition_id}/audits", headers=operator)
            items = r.json()["items"] if r.status_code == 200 else []
            return r.json() if len(items) == 2 else None

        listed = await eventually(parked)
        assert {a["status"] for a in listed["items"]} == {"pending"}
        await publish(js, grid(code, "email"))
        await js.publish("fieldwork.audit.validated.v2", b"{not json",
                         headers={"Nats-Msg-Id": str(uuid.uuid4())})  # fmt: skip
        unfit = audit(edition_id, s, code, "email", rng)
        unfit.answers[0] = unfit.answers[0].model_copy(update={"value": Decimal(3)})
        await publish(js, unfit, edition_id)

        async def structure_scored() -> dict[str, Any] | None:
            r = await client.get(
                f"/v1/editions/{edition_id}/structures/{s['structure_id']}", headers=operator
            )
            return r.json() if r.status_code == 200 and r.json()["audits"] == 2 else None

        body = await eventually(structure_scored)
        scores = [
            (await client.get(f"/v1/editions/{edition_id}/audits/{a.audit_id}/score",
                              headers=operator)).json()["score_exact"]
            for a in (first, second)
        ]  # fmt: skip
        mean = (Decimal(str(scores[0])) + Decimal(str(scores[1]))) / 2
        assert Decimal(str(body["score"])) == mean.quantize(Decimal("1e-10"))
        assert body["figures"]["channels"]["email"]["audits"] == 2

        async def dead() -> list[dict[str, Any]] | None:
            r = await client.get("/v1/dead-letters", headers=operator)
            return r.json()["items"] if len(r.json()["items"]) == 2 else None

        letters = await eventually(dead)
        reasons = " | ".join(d["reason"] for d in letters)
        assert "malformed envelope" in reasons
        assert "answered: expects yes/no" in reasons
        again = await client.post(f"/v1/dead-letters/{letters[1]['id']}/replay", headers=operator)
        assert again.status_code == 422, again.text  # still does not fit its grid
        assert again.headers["content-type"] == "application/problem+json"

        groups = (await client.get(f"/v1/editions/{edition_id}/groups", headers=operator)).json()
        sample = next(g for g in groups if g["kind"] == "sample")
        assert sample["structures"] == 1
        assert Decimal(sample["figures"]["mean"]) == Decimal(str(body["score"]))

        async def perceived() -> dict[str, Any] | None:
            r = await client.get(f"/v1/editions/{edition_id}/perceived-quality", headers=operator)
            items = r.json()["items"]
            return items[0] if items and items[0]["responses"] == 3 else None

        quality = await eventually(perceived)
        assert quality["published"] is False  # 3 answers, under the default minimum of 30
        assert quality["satisfaction_index"] is None

        seen: dict[str, Any] = {}
        while "structure" not in seen:
            message = await updates.next_msg(timeout=10)
            payload = json.loads(message.data)["payload"]
            for st in payload["structures"]:
                if st["structure_id"] == str(s["structure_id"]) and st["audits"] == 2:
                    seen["structure"] = st
        assert Decimal(seen["structure"]["score"]) == Decimal(str(body["score"]))
    await nc.close()
