"""`barometer simulate` against the four real services: interrupted after a phase and rerun,
it ends in the same state as one run (no duplicates); the same seed gives the same answers
(so the same exact scores) in another edition (other ids, other planned days); phone beats
letter and certified structures beat the others."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from barometer_cli.simulate import Options, run
from tests.conftest import Infra
from tests.e2e.conftest import System

N = 30


async def _all(http: httpx.AsyncClient, url: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        response = await http.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def _scores(
    http: httpx.AsyncClient, urls: dict[str, str], edition_id: str
) -> dict[tuple[str, str], list[str]]:
    """Each (structure, channel)'s exact audit scores, sorted: equal only for equal answers."""
    found: dict[tuple[str, str], list[str]] = {}
    for score in await _all(http, f"{urls['scoring']}/v1/editions/{edition_id}/audits"):
        found.setdefault((score["structure_id"], score["channel"]), []).append(score["score_exact"])
    return {key: sorted(values) for key, values in found.items()}


@pytest.mark.timeout(1800)  # three runs and a second edition on a shared machine
async def test_simulate_resumes_is_deterministic_and_follows_the_published_results(
    system: System, token: Callable[..., dict[str, str]], infra: Infra,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("BAROMETER_DATA_DIR", str(infra.data_dir))  # signs with the test key
    lines: list[str] = []
    first = Options(structures=N, seed=7, year=2027, until="registrations", concurrency=8)
    await asyncio.to_thread(run, first, system.urls, say=lines.append)
    resumed = Options(structures=N, seed=7, year=2027, concurrency=8)
    report = await asyncio.to_thread(run, resumed, system.urls, say=lines.append)
    known = report.territories  # read once: the next runs reuse them
    assert report.phase("registrations") is not None
    again = await asyncio.to_thread(
        lambda: run(resumed, system.urls, say=lines.append, territories=known)
    )
    assert again.edition_id == report.edition_id
    assert any(line.startswith("fieldwork") for line in lines)

    operator = token("operator")
    async with httpx.AsyncClient(timeout=60, headers=operator) as http:
        edition = report.edition_id
        registry, fieldwork = system.urls["registry"], system.urls["fieldwork"]
        structures = await _all(http, f"{registry}/v1/structures")
        registrations = await _all(http, f"{registry}/v1/editions/{edition}/registrations")
        assert len(structures) == N
        assert len(registrations) == N
        assert {r["status"] for r in registrations} == {"accepted"}
        progress = (await http.get(f"{fieldwork}/v1/editions/{edition}/fieldwork-progress")).json()
        assert progress["structures_planned"] == N
        assert set(progress["tasks"]) == {"validated"}  # every task audited, none twice
        validated = progress["tasks"]["validated"]
        scores = await _all(http, f"{system.urls['scoring']}/v1/editions/{edition}/audits")
        assert len(scores) == validated
        assert {s["revision"] for s in scores} == {1}

        # The same seed in another edition: other ids and planned days, the same answers.
        other = Options(structures=N, seed=7, year=2028, concurrency=8)
        second = await asyncio.to_thread(
            lambda: run(other, system.urls, say=lines.append, territories=known)
        )
        assert second.edition_id != edition
        first_scores = await _scores(http, system.urls, edition)
        assert len(first_scores) >= 5 * N  # five channels per structure
        assert first_scores == await _scores(http, system.urls, second.edition_id)

        by_channel: dict[str, list[float]] = {}
        for score in scores:
            by_channel.setdefault(score["channel"], []).append(float(score["score"]))
        means = {c: statistics.mean(v) for c, v in by_channel.items()}
        assert means["phone"] == max(means.values())
        assert means["letter"] == min(means.values())
        figures = await _all(http, f"{system.urls['scoring']}/v1/editions/{edition}/structures")
        certified = [float(s["score"]) for s in figures if s["certified"]]
        others = [float(s["score"]) for s in figures if not s["certified"]]
        assert certified
        assert others
        assert statistics.mean(certified) > statistics.mean(others)
        assert 50 < statistics.mean(float(s["score"]) for s in figures) < 80
