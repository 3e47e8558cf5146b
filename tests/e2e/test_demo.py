"""The demo of `make run`, loaded through the API of the four real services: its audits are
planned on dated working days inside the windows of its edition's calendar."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date

import httpx
import pytest

from barometer_cli.demo import DEMO_STRUCTURES, load_demo
from services.fieldwork.calendar.rules import is_working_day
from tests.conftest import Infra
from tests.e2e.conftest import System


async def test_the_demo_plans_dated_tasks_from_its_edition_calendar(
    system: System, token: Callable[..., dict[str, str]], infra: Infra,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("BAROMETER_DATA_DIR", str(infra.data_dir))  # the demo signs auditor tokens
    operator = token("operator")
    raw = operator["Authorization"].removeprefix("Bearer ")
    links = await asyncio.to_thread(load_demo, system.urls, raw, say=lambda _: None)
    scorecard = links.scorecard
    async with httpx.AsyncClient(timeout=30, headers=operator) as http:
        card = await http.get(scorecard)
        assert card.status_code == 200
        edition_id = scorecard.split("/editions/")[1].split("/")[0]
        base = system.urls["fieldwork"]
        settings = (await http.get(f"{base}/v1/editions/{edition_id}/fieldwork-settings")).json()
        spans: dict[str, list[tuple[date, date]]] = {}
        for window in settings["windows"]:
            spans.setdefault(window["channel"], []).append(
                (date.fromisoformat(window["starts_on"]), date.fromisoformat(window["ends_on"]))
            )
        tasks = (await http.get(f"{base}/v1/editions/{edition_id}/tasks",
                                params={"limit": 500})).json()["items"]  # fmt: skip
    assert len(tasks) >= 13 * len(DEMO_STRUCTURES)
    for task in tasks:
        day = date.fromisoformat(task["planned_on"])
        assert any(a <= day <= b for a, b in spans[task["channel"]]), task
        assert is_working_day(day, None), task  # the demo sites follow the national calendar
    assert {t["status"] for t in tasks} >= {"planned", "validated"}
