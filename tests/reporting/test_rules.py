"""Reporting's pure rules, without a database."""

from __future__ import annotations

import math
import statistics
from datetime import date
from decimal import Decimal

from services.reporting.access.rules import EditionAccess, may_read_barometer, may_read_results
from services.reporting.laureates.rules import Candidate, decide, eligible
from services.reporting.reports.rules import mask_personal_data
from services.reporting.scorecards.rules import (
    Gap,
    comparability,
    confidence_interval,
    quartile,
    strengths_and_progress,
    withheld_reason,
)
from shared.auth import Principal, Role

D = Decimal


def test_confidence_interval_is_a_t_interval_on_the_audit_scores() -> None:
    scores = [D(60), D(70), D(80), D(90)]
    mean = sum(scores, D(0)) / 4
    ci = confidence_interval(mean, 4, sum(scores, D(0)), sum((s * s for s in scores), D(0)))
    assert ci.low is not None
    assert ci.high is not None
    half = 3.182 * statistics.stdev([60, 70, 80, 90]) / math.sqrt(4)
    assert float(ci.low) == float(mean) - half or abs(float(ci.low) - (75 - half)) < 1e-9
    assert abs(float(ci.high) - (75 + half)) < 1e-9
    assert confidence_interval(D(50), 1, D(50), D(2500)).withheld_reason == "fewer than 2 audits"
    assert confidence_interval(D(50), 3, D(150), None).withheld_reason is not None
    wide = confidence_interval(D(95), 2, D(190), D(100 * 100 + 90 * 90))
    assert wide.high == D(100)  # bounded


def test_small_groups_are_withheld() -> None:
    assert withheld_reason(4, 5) == "fewer than 5 structures in this group"
    assert withheld_reason(5, 5) is None
    assert withheld_reason(None, 5) is not None


def test_quartile_within_the_group() -> None:
    assert [quartile(D(x), D(25), D(50), D(75)) for x in (10, 25, 50, 74, 75, 99)] == [
        1,
        2,
        3,
        3,
        4,
        4,
    ]


def test_comparability_with_the_previous_edition() -> None:
    grids = {"email": frozenset({("email", 1)})}
    assert comparability("1", "1", grids, grids) is None
    assert comparability("2", "1", grids, grids) == "methodology changed (1 → 2)"
    changed = {"email": frozenset({("email", 2)})}
    assert "email grid changed" in (comparability("1", "1", changed, grids) or "")
    assert comparability("1", "1", changed, grids, channel="phone") is None


def test_strengths_and_points_for_progress_are_the_largest_gaps() -> None:
    gaps = [Gap("criterion", k, D(0), D(0), D(g)) for k, g in
            (("a", 5), ("b", -7), ("c", 12), ("d", -1), ("e", 0))]  # fmt: skip
    ahead, behind = strengths_and_progress(gaps, 1)
    assert [g.key for g in ahead] == ["c"]
    assert [g.key for g in behind] == ["b"]


def _c(
    name: str, score: str, audits: int = 13, low: str = "50", processing: str = "60"
) -> Candidate:
    return Candidate(
        structure_id=name, name=name, stratum_code="s", structure_type="city_hall",
        competes=True, score=D(score), audits=audits,
        channel_audits={"email": 4, "phone": 4},
        channel_scores={"email": D(low), "phone": D(90)},
        step_scores={"processing": D(processing)},
    )  # fmt: skip


def test_laureate_by_score_then_tie_breakers_then_ex_aequo() -> None:
    winner = decide([_c("A", "80"), _c("B", "79.99")], lambda c: c.score, "overall score")
    assert [c.name for c in winner.laureates] == ["A"]
    assert winner.rule == "highest overall score: 80.00 (next: 79.99)"
    by_audits = decide([_c("A", "80", 12), _c("B", "80", 13)], lambda c: c.score, "overall score")
    assert [c.name for c in by_audits.laureates] == ["B"]
    assert "then more validated audits (13.00)" in by_audits.rule
    by_lowest = decide([_c("A", "80", low="40"), _c("B", "80", low="45")], lambda c: c.score, "s")
    assert [c.name for c in by_lowest.laureates] == ["B"]
    assert "higher lowest channel score" in by_lowest.rule
    tied = decide([_c("B", "80"), _c("A", "80")], lambda c: c.score, "overall score")
    assert [c.name for c in tied.laureates] == ["A", "B"]
    assert "ex aequo" in tied.rule
    assert decide([], lambda c: c.score, "s").laureates == ()


def test_eligibility_needs_the_competition_and_audits_per_channel() -> None:
    candidate = _c("A", "80")
    assert eligible(candidate, {"email": 4})
    assert not eligible(candidate, {"email": 5})
    assert not eligible(candidate, {"letter": 1})
    assert not eligible(Candidate("x", "x", "s", "t", False, D(90), 13), {})


def test_personal_data_is_masked_in_remarks() -> None:
    text = "Reçu par Mme Dupont puis M. Jean Martin; écrire à j.martin@ville.fr ou 02 40 41 42 43."
    masked = mask_personal_data(text)
    for leak in ("Dupont", "Jean", "Martin", "j.martin", "02 40"):
        assert leak not in masked
    assert "Mme ***" in masked


def test_access_to_results_follows_the_dispatch_date_and_identity() -> None:
    edition = EditionAccess("scoring", date(2026, 11, 20), False)
    me = Principal("s1", Role.STRUCTURE)
    assert not may_read_results(me, "s1", edition, date(2026, 11, 19))
    assert may_read_results(me, "s1", edition, date(2026, 11, 20))
    assert not may_read_results(me, "s2", edition, date(2026, 11, 21))
    assert may_read_results(Principal("op", Role.OPERATOR), "s2", edition, date(2020, 1, 1))
    assert not may_read_results(me, "s1", EditionAccess("scoring", None, False), date(2030, 1, 1))
    assert not may_read_barometer(None, edition)
    assert may_read_barometer(None, EditionAccess("published", None, False))
