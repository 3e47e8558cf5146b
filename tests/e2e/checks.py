"""What the fault tests end with: the flows settled, then scoring's and reporting's figures
equal to a computation from scratch of the source events (the pure scoring rules on every
validated audit and grid; reporting's ranks and statistics recomputed here, independently)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg

from barometer_cli.catalog import SERVICES
from services.scoring.aggregates.rules import ScoringSettings
from shared.db import create_engine, create_session_factory
from shared.events import parse_event
from tests.scoring.conftest import figures
from tests.scoring.factory import Event
from tests.scoring.reference import from_scratch

TEN = Decimal("1E-10")
SCORING_SUBJECTS = (
    "fieldwork.grid.published.v1",
    "fieldwork.audit.validated.v1",
    "fieldwork.audit.validated.v2",
    "fieldwork.voice.received.v1",
)
AUDIT_SUBJECTS = ("fieldwork.audit.validated.v1", "fieldwork.audit.validated.v2")


async def fieldwork_events(database_url: str) -> list[Event]:
    """Every event fieldwork committed (its outbox keeps them): the source records."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT envelope::text FROM fieldwork.outbox ORDER BY id")
    finally:
        await conn.close()
    return [parse_event(r[0].encode()) for r in rows]


async def _pending(database_url: str, events: list[Event]) -> list[str]:
    """What is still in flight, in words; empty once every flow has settled."""
    ids = {e.id for e, _ in events if e.subject in SCORING_SUBJECTS}
    audits = {e.id for e, _ in events if e.subject in AUDIT_SUBJECTS}
    conn = await asyncpg.connect(database_url)
    try:
        scored = await conn.fetchval(
            "SELECT count(*) FROM scoring.inbox WHERE consumer = 'scoring-fieldwork' "
            "AND event_id = ANY($1::uuid[])",
            list(ids),
        )
        kept = await conn.fetchval(
            "SELECT count(*) FROM reporting.inbox WHERE consumer = 'reporting-fieldwork' "
            "AND event_id = ANY($1::uuid[])",
            list(audits),
        )
        unpublished = await conn.fetchval(
            "SELECT count(*) FROM scoring.outbox WHERE published_at IS NULL"
        )
        updates = await conn.fetchval(
            "SELECT count(*) FROM scoring.outbox WHERE subject = 'scoring.scores.updated.v1'"
        )
        received = await conn.fetchval(
            "SELECT count(*) FROM reporting.inbox WHERE consumer = 'reporting-scores'"
        )
        dirty = await conn.fetchval("SELECT count(*) FROM scoring.group_stats WHERE dirty")
        stale = await conn.fetchval("SELECT count(*) FROM reporting.editions WHERE stale")
        dead = await conn.fetch(
            "SELECT consumer, reason FROM scoring.dead_letters UNION ALL "
            "SELECT consumer, reason FROM reporting.dead_letters"
        )
    finally:
        await conn.close()
    assert not dead, f"dead letters: {[dict(d) for d in dead]}"
    pending = []
    if scored != len(ids):
        pending.append(f"scoring applied {scored} of {len(ids)} events")
    if kept != len(audits):
        pending.append(f"reporting kept {kept} of {len(audits)} audits")
    if unpublished:
        pending.append(f"scoring has {unpublished} events to publish")
    if received != updates:
        pending.append(f"reporting applied {received} of {updates} score updates")
    if dirty:
        pending.append(f"scoring has {dirty} group statistics to refresh")
    if stale:
        pending.append(f"reporting has {stale} editions to refresh")
    return pending


async def until_settled(database_url: str, events: list[Event], within: float = 120) -> None:
    deadline = time.monotonic() + within
    while True:
        pending = await _pending(database_url, events)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled within {within}s: {'; '.join(pending)}")
        await asyncio.sleep(0.2)


async def assert_figures_from_scratch(
    database_url: str, edition_id: uuid.UUID, events: list[Event]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Scoring's structures and groups, and reporting's figures and statistics, equal to the
    digit what `events` give from scratch. Returns the structures' expected figures."""
    expected_structures, expected_groups = from_scratch(events, ScoringSettings())
    assert expected_structures, "the events give no figures at all"
    settings = next(s for s in SERVICES if s.name == "scoring").settings(
        environment="test", database_url=database_url
    )
    engine = create_engine(settings)
    try:
        structures, groups, generation = await figures(create_session_factory(engine), edition_id)
    finally:
        await engine.dispose()
    assert structures == expected_structures, _difference(structures, expected_structures)
    assert groups == expected_groups, _difference(groups, expected_groups)
    await _assert_reporting(database_url, edition_id, generation, expected_structures)
    return expected_structures


async def _assert_reporting(
    database_url: str,
    edition_id: uuid.UUID,
    generation: int,
    expected: dict[uuid.UUID, dict[str, Any]],
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        held = await conn.fetchval(
            "SELECT generation FROM reporting.editions WHERE edition_id = $1", edition_id
        )
        rows = await conn.fetch(
            "SELECT structure_id, score, audits, stratum_code, structure_type, certified "
            "FROM reporting.structure_figures WHERE edition_id = $1",
            edition_id,
        )
        stats = await conn.fetch(
            "SELECT kind, group_key, structures, audits, mean, median FROM reporting.group_stats "
            "WHERE edition_id = $1 AND dimension = 'overall'",
            edition_id,
        )
    finally:
        await conn.close()
    assert held == generation
    assert {r["structure_id"]: (r["score"], r["audits"]) for r in rows} == {
        sid: (s["score"], s["audits"]) for sid, s in expected.items()
    }
    got = {(r["kind"], r["group_key"]): dict(r) for r in stats}
    for key, values in _group_statistics(expected.values()).items():
        assert key in got, f"reporting has no statistics for {key}"
        for name, value in values.items():
            assert got[key][name] == value, (key, name, got[key][name], value)
    assert len(got) == len(_group_statistics(expected.values()))


def _difference(got: dict[Any, Any], expected: dict[Any, Any]) -> str:
    """The first few keys that differ, and how (a whole diff would drown the failure)."""
    lines = [f"missing: {sorted(map(str, expected.keys() - got.keys()))[:5]}",
             f"unexpected: {sorted(map(str, got.keys() - expected.keys()))[:5]}"]  # fmt: skip
    for key in [k for k in expected if k in got and got[k] != expected[k]][:3]:
        fields = {f for f in expected[key] if got[key].get(f) != expected[key].get(f)}
        lines.append(f"{key}: " + ", ".join(
            f"{f} {str(got[key].get(f))[:300]} != {str(expected[key].get(f))[:300]}" for f in fields
        ))  # fmt: skip
    return "\n".join(lines)


def _group_statistics(structures: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """Reporting's overall statistics per group, recomputed: count, audits, mean and median
    (linear interpolation between closest ranks), each to 10 decimals."""
    members: dict[tuple[str, str], list[tuple[Decimal, int]]] = defaultdict(list)
    for s in structures:
        if s["score"] is None:
            continue
        point = (Decimal(s["score"]), int(s["audits"]))
        certified = "true" if s["certified"] else "false"
        for key in (("sample", ""), ("stratum", s["stratum_code"]),
                    ("structure_type", s["structure_type"]), ("certified", certified)):  # fmt: skip
            members[key].append(point)
    result = {}
    for key, points in members.items():
        scores = sorted(p[0] for p in points)
        n = len(scores)
        position = Decimal(n - 1) / 2
        low = int(position)
        median = scores[low] + (position - low) * (scores[min(low + 1, n - 1)] - scores[low])
        result[key] = {
            "structures": n,
            "audits": sum(p[1] for p in points),
            "mean": (sum(scores, Decimal(0)) / n).quantize(TEN, ROUND_HALF_UP),
            "median": median.quantize(TEN, ROUND_HALF_UP),
        }
    return result
