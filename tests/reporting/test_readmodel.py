"""The read model follows scoring's generations: an older generation changes nothing, a newer
full set replaces the edition's figures; a redelivered event is applied once."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import nats

from services.reporting.app import create_app
from shared.contracts.scoring import ScoresUpdatedV1
from shared.events import new_event
from tests.helpers import eventually, running
from tests.reporting.edition import generate, publish, publish_edition


async def test_generations_and_redeliveries(make_settings: Any, token: Any, nats_url: str) -> None:
    structures = generate(random.Random(5), {"cities-50k-plus": ("city_hall", 12)})
    edition_id = uuid.uuid4()
    operator = token("operator")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    path = f"/v1/editions/{edition_id}/barometer"
    async with running(create_app(make_settings("reporting"))) as client:
        await publish_edition(js, edition_id, 2026, structures, generation=2,
                              dispatch_on=date.today() - timedelta(days=1))  # fmt: skip

        async def sample(count: int) -> Any:
            r = await client.get(path, headers=operator)
            overall = r.json()["sample"]["overall"] if r.status_code == 200 else None
            return overall if overall and overall.get("structures") == count else None

        before = await eventually(lambda: sample(12))
        original = structures[8].score
        # an older generation (a re-score already replaced it) changes nothing
        for s in structures:
            s.audit_scores = {c: [Decimal(0)] for c in s.audit_scores}
        await publish(js, ScoresUpdatedV1(edition_id=edition_id, generation=1, full=True,
                      structures=[s.figures() for s in structures], groups=[]), edition_id)  # fmt: skip
        # a delta of the next generation updates 6 structures and keeps the others
        for s in structures[:6]:
            s.audit_scores = {c: [Decimal(100)] for c in s.audit_scores}
        await publish(js, ScoresUpdatedV1(edition_id=edition_id, generation=3, full=False,
                      structures=[s.figures() for s in structures[:6]], groups=[]), edition_id)  # fmt: skip
        card = f"/v1/editions/{edition_id}/structures/{structures[8].structure_id}/scorecard"

        async def updated() -> Any:
            r = await client.get(
                f"/v1/editions/{edition_id}/structures/{structures[0].structure_id}/scorecard",
                headers=operator,
            )
            return (
                r.json() if r.status_code == 200 and r.json()["overall"]["score"] == 100 else None
            )

        await eventually(updated)
        kept = (await client.get(card, headers=operator)).json()
        assert kept["overall"]["score"] == float(round(original, 2))  # not the stale 0
        assert kept["overall"]["sample"]["structures"] == 12
        # a full set of a newer generation replaces the edition's figures; sent twice
        full = ScoresUpdatedV1(edition_id=edition_id, generation=4, full=True,
                               structures=[s.figures() for s in structures[:6]], groups=[])  # fmt: skip
        event = new_event(full, edition=edition_id)
        for _ in range(2):  # no Nats-Msg-Id: JetStream keeps both, the inbox applies one
            await js.publish(event.subject, event.model_dump_json().encode())
        after = await eventually(lambda: sample(6))
        assert after["mean"] == 100.0
        assert before["structures"] == 12
        assert (await client.get(card, headers=operator)).status_code == 404
    await nc.close()
