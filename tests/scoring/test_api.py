"""Scoring's operator API: settings, re-score trigger and progress, pagination, dead-letter
replay, problem+json for bad input."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring.aggregates.service import BatchOptions, ScoringApplication
from services.scoring.app import create_app
from services.scoring.consumers import DURABLE
from services.scoring.models import tables
from services.scoring.settings import ScoringSettings
from shared.outbox import Outbox
from tests.conftest import SettingsFactory
from tests.helpers import eventually, running
from tests.scoring.factory import apply_like_the_base, audit, event, grid, structure


async def test_settings_rescore_pagination_and_replay(
    make_settings: SettingsFactory,
    token: Callable[..., dict[str, str]],
    scoring_sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = make_settings("scoring", group_refresh_seconds=0, group_settle_seconds=0.1)
    assert isinstance(settings, ScoringSettings)
    app = create_app(settings)
    operator = token("operator")
    edition_id = uuid.uuid4()
    rng = random.Random(3)
    code = f"phone-{edition_id.hex[:8]}"
    structures = [structure(edition_id, i) for i in range(3)]
    events = [event(grid(code, "phone"))] + [
        event(audit(edition_id, s, code, "phone", rng), edition_id)
        for s in structures
        for _ in range(2)
    ]
    scoring = ScoringApplication(Outbox(tables.outbox), BatchOptions())
    await apply_like_the_base(scoring_sessions, scoring, events[:-1])
    async with running(app) as client:
        base = f"/v1/editions/{edition_id}"
        # Settings: defaults, bad input refused as problem+json, then a change.
        got = (await client.get(f"{base}/settings", headers=operator)).json()
        assert got["configured"] is False
        assert Decimal(got["performing_threshold"]) == 80
        bad = await client.put(f"{base}/settings", headers=operator,
                               json={"channel_weights": {"phone": "-1"}})  # fmt: skip
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert "channel_weights.phone" in bad.json()["detail"]
        assert (await client.put(f"{base}/settings", headers=token("auditor"),
                                 json={})).status_code == 403  # fmt: skip
        put = await client.put(f"{base}/settings", headers=operator,
                               json={"performing_threshold": "40", "min_voice_responses": 5})  # fmt: skip
        assert put.status_code == 200, put.text
        before = (await client.get(f"{base}/groups", headers=operator)).json()
        sample = next(g for g in before if g["kind"] == "sample")
        assert Decimal(sample["figures"]["threshold"]) == 80  # in force until the re-score

        # Re-score: 202, progress visible, then the new generation with the new threshold.
        started = await client.post(f"{base}/rescore", headers=operator)
        assert started.status_code == 202, started.text
        assert started.json()["status"] == "running"
        assert started.json()["total"] == 5

        async def done() -> dict[str, Any] | None:
            body = (await client.get(f"{base}/rescore", headers=operator)).json()
            return body if body["status"] == "done" else None

        progress = await eventually(done)
        assert progress["done"] == 5
        assert progress["generation"] == 2
        after = (await client.get(f"{base}/groups", headers=operator)).json()
        sample = next(g for g in after if g["kind"] == "sample")
        assert Decimal(sample["figures"]["threshold"]) == 40
        assert (
            sample["figures"]["mean"]
            == next(g for g in before if g["kind"] == "sample")["figures"]["mean"]
        )  # same audits, same mean to the digit

        # Cursor pagination walks every structure once.
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(f"{base}/structures", headers=operator,
                                     params=params)).json()  # fmt: skip
            seen += [s["structure_id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(str(s["structure_id"]) for s in structures)
        # Each read of per-structure scores is in the access log, newest first.
        log = (await client.get("/v1/access-log", headers=operator,
                                params={"action": "read.structure_scores"})).json()  # fmt: skip
        assert len(log["items"]) >= 2
        assert {(e["actor_role"], e["service"]) for e in log["items"]} == {("operator", "scoring")}
        assert all(e["target"].endswith("/structures") for e in log["items"])
        ids = [e["id"] for e in log["items"]]
        assert ids == sorted(ids, reverse=True)
        wrong = await client.get(f"{base}/structures", headers=operator,
                                 params={"cursor": "nonsense"})  # fmt: skip
        assert wrong.status_code == 422

        # A dead letter whose event is fine now (e.g. it failed on an outage) is replayed once.
        envelope, _ = events[-1]
        async with scoring_sessions() as session, session.begin():
            await session.execute(
                insert(tables.dead_letters).values(
                    consumer=DURABLE, stream="FIELDWORK", stream_sequence=7,
                    subject=envelope.subject, deliveries=10,
                    data=envelope.model_dump_json().encode(), reason="failed 10 times",
                )
            )  # fmt: skip
        letters = (await client.get("/v1/dead-letters", headers=operator)).json()["items"]
        assert len(letters) == 1
        replayed = await client.post(f"/v1/dead-letters/{letters[0]['id']}/replay",
                                     headers=operator)  # fmt: skip
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["replay_outcome"] == "applied"
        again = await client.post(f"/v1/dead-letters/{letters[0]['id']}/replay",
                                  headers=operator)  # fmt: skip
        assert again.status_code == 409
        audits = (await client.get(f"{base}/audits", headers=operator)).json()["items"]
        assert len(audits) == 6
        missing = await client.post("/v1/dead-letters/999999/replay", headers=operator)
        assert missing.status_code == 404
