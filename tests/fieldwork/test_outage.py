"""A validated audit produces exactly one validated event, also when NATS is down at the time
of validation: the event waits in the outbox and flows when NATS is back."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from barometer_cli.embedded import EmbeddedNats
from tests.fieldwork.conftest import Fieldwork, fieldwork_app, registration_v2
from tests.helpers import eventually, nats_setup


async def test_exactly_one_validated_event_when_nats_is_down_at_validation(
    make_settings: Any, token: Any, tmp_path: Path
) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    await nats_setup(server.url)
    try:
        async with fieldwork_app(make_settings("fieldwork", nats_url=server.url), token,
                                 server.url) as fw:  # fmt: skip
            edition_id = uuid.uuid4()
            await fw.publish(registration_v2(edition_id, uuid.uuid4(), [uuid.uuid4()]))
            tasks = await fw.planned(edition_id, 13)
            task = next(t for t in tasks if t["channel"] == "letter")
            auditor = await fw.auditor("Panne")
            await fw.call("POST", f"/v1/tasks/{task['id']}/assign", json={"auditor_id": auditor})
            await fw.submit(task, fw.token("auditor", subject=auditor), reply_after_days=9)

            server.stop()
            validated = await fw.call("POST", f"/v1/tasks/{task['id']}/validate")
            assert validated["status"] == "validated"  # accepted while NATS is down
            await asyncio.sleep(1.0)
            server.start()  # same port, same JetStream store

            async def one_event() -> list[dict[str, Any]] | None:
                events = await _validated(fw)
                return events if events else None

            events = await eventually(one_event, within=60)
            await asyncio.sleep(1.0)  # a duplicate would have arrived by now
            events = await _validated(fw)
            assert [(e["audit_id"], e["revision"]) for e in events] == [(task["id"], 1)]
            assert events[0]["reply_delay_working_days"] is not None
    finally:
        server.stop()


async def _validated(fw: Fieldwork) -> list[dict[str, Any]]:
    try:
        return await fw.stream("fieldwork.audit.validated.v2")
    except Exception:  # the test's own connection may still be reconnecting
        return []
