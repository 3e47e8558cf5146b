"""Reporting queues its access-log rows off the read's path: none is lost on a clean shutdown,
and the operator's query sees every read made before it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.reporting.app import create_app
from shared.auth import Principal, Role
from tests.helpers import running


async def test_queued_reads_are_written_on_shutdown(make_settings: Any, token: Any) -> None:
    settings = make_settings("reporting")
    app = create_app(settings)
    structure = uuid.uuid4()
    reader = Principal(subject=str(structure), role=Role.STRUCTURE)
    async with running(app) as client:
        for n in range(3):
            await app.state.reader.log_access(reader, "read.scorecard", f"target/{n}", structure)
        seen = await client.get("/v1/access-log", headers=token("operator"))
        assert [e["target"] for e in seen.json()["items"]] == ["target/2", "target/1", "target/0"]
        for n in range(3, 6):  # queued, not yet written when the service stops
            await app.state.reader.log_access(reader, "read.report", f"target/{n}", structure)
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT action, target, structure_id, actor_role FROM reporting.access_log ORDER BY id"
        )
    finally:
        await conn.close()
    assert [r["target"] for r in rows] == [f"target/{n}" for n in range(6)]
    assert {(r["structure_id"], r["actor_role"]) for r in rows} == {(structure, "structure")}
