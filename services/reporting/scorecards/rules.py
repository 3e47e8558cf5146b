"""Pure rules of a scorecard: withholding of small groups, quartile, gap, the 95% confidence
interval of a structure's score, comparability with the previous edition, and rounding.

Scores arrive exact (10 decimals); answers show them rounded half-up to 2 decimals, as JSON
numbers. Percentile ranks are shown to 1 decimal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

CENT = Decimal("0.01")
TENTH = Decimal("0.1")

# Student's t, two-sided 95% (0.975 quantile), by degrees of freedom; beyond 30 the next
# tabulated value at or below is used (conservative), and 1.960 beyond 120.
_T975: dict[int, str] = {
    1: "12.706", 2: "4.303", 3: "3.182", 4: "2.776", 5: "2.571", 6: "2.447", 7: "2.365",
    8: "2.306", 9: "2.262", 10: "2.228", 11: "2.201", 12: "2.179", 13: "2.160", 14: "2.145",
    15: "2.131", 16: "2.120", 17: "2.110", 18: "2.101", 19: "2.093", 20: "2.086", 21: "2.080",
    22: "2.074", 23: "2.069", 24: "2.064", 25: "2.060", 26: "2.056", 27: "2.052", 28: "2.048",
    29: "2.045", 30: "2.042", 40: "2.021", 60: "2.000", 120: "1.980",
}  # fmt: skip
CI_METHOD = (
    "95% Student t-interval on the structure's audit scores: centre ± t(0.975, n-1)·s/√n, "
    "where n is the number of audits and s their sample standard deviation (from the sum and "
    "sum of squares of the audit scores); bounded to [0, 100]; given from 2 audits on"
)


def display(value: Decimal | None, step: Decimal = CENT) -> float | None:
    """A figure as shown: rounded half-up, as a JSON number."""
    if value is None:
        return None
    return float(value.quantize(step, rounding=ROUND_HALF_UP))


def t_quantile(degrees: int) -> Decimal:
    if degrees < 1:
        raise ValueError("a t-interval needs at least 1 degree of freedom")
    if degrees in _T975:
        return Decimal(_T975[degrees])
    if degrees > 120:
        return Decimal("1.960")
    return Decimal(_T975[max(d for d in _T975 if d <= degrees)])


@dataclass(frozen=True)
class Interval:
    low: Decimal | None
    high: Decimal | None
    withheld_reason: str | None = None


def confidence_interval(
    centre: Decimal, audits: int, total: Decimal, sum_squares: Decimal | None
) -> Interval:
    """95% t-interval around `centre` from n audits whose scores sum to `total` and whose
    squares sum to `sum_squares`."""
    if sum_squares is None:
        return Interval(None, None, "the audit scores' dispersion was not provided")
    if audits < 2:
        return Interval(None, None, "fewer than 2 audits")
    with localcontext() as ctx:
        ctx.prec = 40
        n = Decimal(audits)
        variance = max((sum_squares - total * total / n) / (n - 1), Decimal(0))
        half = t_quantile(audits - 1) * (variance / n).sqrt()
        return Interval(max(centre - half, Decimal(0)), min(centre + half, Decimal(100)))


def withheld_reason(structures: int | None, minimum: int) -> str | None:
    """Why a comparison group is not shown, or None: a group smaller than the edition's
    minimum would let its members deduce one another's scores."""
    if structures is None or structures < minimum:
        return f"fewer than {minimum} structures in this group"
    return None


def quartile(score: Decimal, q1: Decimal, median: Decimal, q3: Decimal) -> int:
    """1 (bottom quarter, below q1) to 4 (top quarter, at or above q3) within the group."""
    if score >= q3:
        return 4
    if score >= median:
        return 3
    if score >= q1:
        return 2
    return 1


def comparability(
    methodology: str,
    previous_methodology: str,
    grids: Mapping[str, frozenset[tuple[str, int]]],
    previous_grids: Mapping[str, frozenset[tuple[str, int]]],
    channel: str | None = None,
) -> str | None:
    """Why a figure cannot be compared with the previous edition's, or None when it can: a
    different methodology, or (for the channels concerned) different grid versions."""
    if methodology != previous_methodology:
        return f"methodology changed ({previous_methodology} → {methodology})"
    channels = [channel] if channel is not None else sorted(set(grids) & set(previous_grids))
    for name in channels:
        now, before = grids.get(name), previous_grids.get(name)
        if now is not None and before is not None and now != before:
            return f"the {name} grid changed ({_grids(before)} → {_grids(now)})"
    return None


def _grids(grids: frozenset[tuple[str, int]]) -> str:
    return ", ".join(f"{code} v{version}" for code, version in sorted(grids))


@dataclass(frozen=True)
class Gap:
    dimension: str
    key: str
    score: Decimal
    reference: Decimal
    gap: Decimal


def strengths_and_progress(gaps: list[Gap], count: int) -> tuple[list[Gap], list[Gap]]:
    """The largest positive gaps to the reference (strengths) and the largest negative ones
    (points for progress); ties broken by key so the synthesis is stable."""
    ahead = sorted((g for g in gaps if g.gap > 0), key=lambda g: (-g.gap, g.dimension, g.key))
    behind = sorted((g for g in gaps if g.gap < 0), key=lambda g: (g.gap, g.dimension, g.key))
    return ahead[:count], behind[:count]
