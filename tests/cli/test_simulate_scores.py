"""The generator's answers, checked by fieldwork's rules and scored by scoring's engine (pure,
no services): a sample scores like the published results (DOMAIN.md: overall about 62-69,
phone highest, letter lowest, certified structures about 7-8 points above the others), and the
same seed gives the same answers whatever the planned days' ids."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from barometer_cli.simulate import StructureSpec, Territories, audit_of, choose_structures
from services.fieldwork.grids.service import shipped_grids
from services.fieldwork.submissions.rules import Facts, Given, check_answers, measures
from services.scoring.engine.rules import grid_shape, score_answers
from shared.contracts.fieldwork import GridPublishedV1

QUOTAS = {"email": 4, "phone": 4, "letter": 3, "website": 1, "social_network": 1}


def _territories(communes: int = 3000) -> Territories:
    return Territories(
        regions=[{"code": f"{i:02d}", "name": f"R{i}"} for i in range(18)],
        departements=[{"code": f"{i:02d}", "name": f"D{i}"} for i in range(1, 96)],
        epcis=[{"siren": f"2{i:08d}", "name": f"EPCI {i}"} for i in range(1200)],
        communes=[{"code": f"{i:05d}", "name": f"C{i}", "departement_code": f"{i % 95 + 1:02d}",
                   "population": 200 + (i * 7919) % 60_000} for i in range(communes)],
    )  # fmt: skip


def _score(grid: GridPublishedV1, audit: dict[str, Any], departement: str | None) -> Decimal:
    evidence = audit["evidence"]
    from datetime import datetime

    facts = Facts(
        contacted_at=datetime.fromisoformat(evidence["contacted_at"]),
        answered_at=datetime.fromisoformat(evidence["answered_at"])
        if "answered_at" in evidence
        else None,
        rings=evidence["rings"],
        waiting_seconds=evidence["waiting_seconds"],
        agent_named=evidence["agent_named"],
    )
    given = [Given(a["item_code"], a["value"] if isinstance(a["value"], bool)
                   else Decimal(a["value"])) for a in audit["answers"]]  # fmt: skip
    answers, problems = check_answers(grid, given, measures(facts, departement))
    assert problems == []
    return score_answers(grid_shape(grid), answers).score


def _sample(seed: int, count: int) -> tuple[dict[str, list[float]], list[tuple[bool, float]]]:
    grids = {g.channel: g for _, g in shipped_grids()}
    specs = choose_structures(seed, count, _territories(), None, visits=False)
    by_channel: dict[str, list[float]] = {}
    structures: list[tuple[bool, float]] = []
    for n, spec in enumerate(specs):
        channel_means = []
        for channel, audits in QUOTAS.items():
            grid = grids[channel]
            items = [i.model_dump() for i in grid.items]
            scores = [
                float(_score(grid, audit_of(seed, spec, channel, k, date(2027, 6, 2)
                                            + timedelta(days=7 * (n % 10) + k), items),
                             spec.departement_code))
                for k in range(1, audits + 1)
            ]  # fmt: skip
            by_channel.setdefault(channel, []).extend(scores)
            channel_means.append(statistics.mean(scores))
        structures.append((spec.certified, statistics.mean(channel_means)))
    return by_channel, structures


def test_generated_audits_score_like_the_published_results() -> None:
    by_channel, structures = _sample(seed=3, count=400)
    means = {c: statistics.mean(v) for c, v in by_channel.items()}
    overall = statistics.mean(s for _, s in structures)
    certified = statistics.mean(s for c, s in structures if c)
    others = statistics.mean(s for c, s in structures if not c)
    assert 62 <= overall <= 69
    assert max(means, key=means.__getitem__) == "phone"
    assert min(means, key=means.__getitem__) == "letter"
    assert 5 <= certified - others <= 10


def test_the_same_seed_gives_the_same_answers() -> None:
    spec = choose_structures(5, 40, _territories(), None)[7]
    items = [i.model_dump() for _, g in shipped_grids() if g.channel == "email" for i in g.items]
    first = audit_of(5, spec, "email", 2, date(2027, 3, 1), items)
    assert audit_of(5, spec, "email", 2, date(2027, 3, 1), items) == first
    assert audit_of(6, spec, "email", 2, date(2027, 3, 1), items) != first
    assert choose_structures(5, 40, _territories(), None) == choose_structures(
        5, 40, _territories(), None
    )
    assert isinstance(spec, StructureSpec)
