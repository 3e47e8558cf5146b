"""Pure roll-ups: an audit's contribution to its cell, a structure's figures from its cells,
and a group's statistics from its structures' scores.

Every figure is a ratio of exact sums of stored scores, quantized once (`engine.rules.exact`),
so an incremental computation and a from-scratch one agree to the last digit.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, NamedTuple

from services.scoring.engine.rules import WIDE, GridShape, ScoredAudit, exact, ratio

LEVELS = ("item", "criterion", "journey_step")
GROUP_KINDS = ("sample", "stratum", "structure_type", "certified")
DEFAULT_THRESHOLD = Decimal(80)
DEFAULT_MIN_VOICE_RESPONSES = 30


@dataclass(frozen=True)
class ScoringSettings:
    """The edition settings a generation is computed with."""

    performing_threshold: Decimal = DEFAULT_THRESHOLD
    channel_weights: Mapping[str, Decimal] = field(default_factory=dict)  # absent → 1
    min_voice_responses: int = DEFAULT_MIN_VOICE_RESPONSES

    def weight(self, channel: str) -> Decimal:
        return self.channel_weights.get(channel, Decimal(1))

    def as_json(self) -> dict[str, Any]:
        return {
            "performing_threshold": str(self.performing_threshold),
            "channel_weights": {k: str(v) for k, v in sorted(self.channel_weights.items())},
            "min_voice_responses": self.min_voice_responses,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoringSettings:
        return cls(
            performing_threshold=Decimal(data["performing_threshold"]),
            channel_weights={k: Decimal(v) for k, v in data["channel_weights"].items()},
            min_voice_responses=int(data["min_voice_responses"]),
        )


CellKey = tuple[Any, ...]  # (structure_id, site_id, channel, grid_code, grid_version)


@dataclass
class CellDelta:
    """What to add to one cell (negative to withdraw a replaced revision)."""

    audits: int = 0
    score_total: Decimal = Decimal(0)
    totals: dict[str, list[Decimal]] = field(default_factory=dict)
    counts: dict[str, list[int]] = field(default_factory=dict)
    # Sum of the squared audit scores, so a reader can give a confidence interval (exact: a
    # stored score has 10 decimals, its square 20).
    score_squares: Decimal = Decimal(0)

    def add(self, grid: GridShape, scored: ScoredAudit, sign: int) -> None:
        self.audits += sign
        self.score_total += sign * scored.score
        square = WIDE.multiply(scored.score, scored.score)
        self.score_squares = WIDE.add(self.score_squares, square if sign > 0 else -square)
        sizes = {
            "item": len(grid.items),
            "criterion": len(grid.criteria),
            "journey_step": len(grid.journey_steps),
        }
        for level in LEVELS:
            totals = self.totals.setdefault(level, [Decimal(0)] * sizes[level])
            counts = self.counts.setdefault(level, [0] * sizes[level])
            for i, value in enumerate(scored.level_scores(level)):
                if value is not None:
                    totals[i] += sign * value
                    counts[i] += sign


class CellRow(NamedTuple):
    """A cell's sums; score sums as Decimals or as integers in units of 10^-10."""

    site_id: str
    channel: str
    grid_code: str
    grid_version: int
    audits: int
    score_total: Decimal | int
    totals: Mapping[str, Sequence[Decimal | int]]
    counts: Mapping[str, Sequence[int]]
    score_squares: Decimal | None = None  # None: not kept (cells written before it was)


def _weighted(means: Mapping[str, Decimal], settings: ScoringSettings) -> Decimal | None:
    """Mean of channel scores over the audited channels, with the edition's channel weights."""
    weights = {c: settings.weight(c) for c in means}
    total = sum(weights.values(), Decimal(0))
    if total == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return ratio(sum((weights[c] * m for c, m in means.items()), Decimal(0)), total)


# --- exact integer arithmetic for structure figures ----------------------------------------
# Stored scores and their sums have `SCALE` (10) decimals: as integers scaled by 10^10 they
# add exactly, and a mean is one integer division rounded half-even, which is the value
# `ratio` gives (its 60-digit quotient cannot turn a non-tie into a tie or back when the
# divisor is a count of audits), formatted as `str` of that Decimal.

_UNIT = 10**10
_PLAIN = 10**4  # from here on, str(Decimal) of a 10-decimal value is positional, not 1E-7


def scaled(value: Decimal | int) -> int:
    """A stored figure (at most 10 decimals) as an integer count of 10^-10; an int is one
    already (cells read in units, `repository.cells_of`)."""
    if isinstance(value, int):
        return value
    shifted = value.scaleb(10, WIDE)
    out = int(shifted)
    if out != shifted:
        raise ValueError(f"{value} has more than 10 decimals")
    return out


def scaled_squares(value: Decimal) -> int:
    """A sum of squared stored scores (at most 20 decimals) in units of 10^-20."""
    shifted = value.scaleb(20, WIDE)
    out = int(shifted)
    if out != shifted:
        raise ValueError(f"{value} has more than 20 decimals")
    return out


def unscaled(value: int) -> Decimal:
    return Decimal(value).scaleb(-10, WIDE)


def _text(value: int) -> str:
    """`str` of the Decimal `value` x 10^-10 with exponent -10 (what `exact` stores)."""
    if value >= _PLAIN:
        whole, fraction = divmod(value, _UNIT)
        return f"{whole}.{fraction:010d}"
    return str(unscaled(value))


def _mean(total: int, count: int) -> int:
    """round-half-even(total / count), in units of 10^-10."""
    quotient, remainder = divmod(total, count)
    twice = 2 * remainder
    if twice > count or (twice == count and quotient & 1):
        quotient += 1
    return quotient


def _figure(total: int, count: int, squares: Decimal | None = None) -> dict[str, Any]:
    """{score: the mean as stored, audits}; `_mean` and `_text` inlined (the hot loop)."""
    quotient, remainder = divmod(total, count)
    if 2 * remainder > count or (2 * remainder == count and quotient & 1):
        quotient += 1
    if quotient >= _PLAIN:
        whole, fraction = divmod(quotient, _UNIT)
        figure: dict[str, Any] = {"score": f"{whole}.{fraction:010d}", "audits": count}
    else:
        figure = {"score": str(unscaled(quotient)), "audits": count}
    if squares is not None:
        figure["sum_squares"] = str(squares)
    return figure


def structure_figures(
    cells: Iterable[CellRow], grids: Mapping[tuple[str, int], GridShape], settings: ScoringSettings
) -> tuple[Decimal | None, int, dict[str, Any]]:
    """(overall score, audits, figures per channel / site / criterion / step / item).

    Sums run on integers scaled by 10^10 (exact); squares, kept with 20 decimals, on Decimal."""
    channel_sums: dict[str, list[Any]] = {}
    site_sums: dict[str, dict[str, list[Any]]] = {}
    level_sums: dict[str, dict[str, list[int]]] = {level: {} for level in LEVELS}
    audits = 0
    for cell in cells:
        if cell.audits == 0:
            continue
        audits += cell.audits
        total = scaled(cell.score_total)
        site = site_sums.setdefault(cell.site_id, {})
        for bucket in (
            channel_sums.setdefault(cell.channel, [0, 0, Decimal(0)]),
            site.setdefault(cell.channel, [0, 0, Decimal(0)]),
        ):
            bucket[0] += total
            bucket[1] += cell.audits
            # One cell without squares makes its channel's sum unknown (None), never wrong.
            bucket[2] = (
                None
                if bucket[2] is None or cell.score_squares is None
                else (bucket[2] + cell.score_squares)
            )
        names = grids[(cell.grid_code, cell.grid_version)].level_names
        for level in LEVELS:
            sums = level_sums[level]
            for name, level_total, count in zip(
                names[level], cell.totals[level], cell.counts[level], strict=False
            ):
                if count:
                    if type(level_total) is not int:
                        level_total = scaled(level_total)
                    entry = sums.get(name)
                    if entry is None:
                        sums[name] = [level_total, count]
                    else:
                        entry[0] += level_total
                        entry[1] += count
    channel_means = {c: unscaled(_mean(t, n)) for c, (t, n, _) in channel_sums.items()}
    figures: dict[str, Any] = {
        "channels": {c: _figure(t, n, q) for c, (t, n, q) in sorted(channel_sums.items())},
        "sites": {},
    }
    for site_id, channels in sorted(site_sums.items()):
        means = {c: unscaled(_mean(t, n)) for c, (t, n, _) in channels.items()}
        score = _weighted(means, settings)
        figures["sites"][site_id] = {
            "score": None if score is None else str(score),
            "audits": sum(n for _, n, _ in channels.values()),
            "channels": {c: _figure(t, n, q) for c, (t, n, q) in sorted(channels.items())},
        }
    for level in LEVELS:
        figures[level] = {k: _figure(t, n) for k, (t, n) in sorted(level_sums[level].items())}
    return _weighted(channel_means, settings), audits, figures


@dataclass(frozen=True)
class StructurePoint:
    score: Decimal | None
    audits: int


QUANTILES = {"median": (1, 2), "q1": (1, 4), "q3": (3, 4), "p10": (1, 10), "p90": (9, 10)}


def quantile_positions(count: int) -> list[int]:
    """The ranks (0-based, ascending) whose values the group statistics need among `count`
    scores: first, last, and the two around each quantile."""
    ranks = {0, count - 1}
    for numerator, denominator in QUANTILES.values():
        low = numerator * (count - 1) // denominator
        ranks.update(r for r in (low, low + 1) if r < count)
    return sorted(ranks)


@dataclass(frozen=True)
class GroupSums:
    """What a group's statistics are computed from: exact sums (scores in units of 10^-10,
    squares in units of 10^-20) and the scores at `quantile_positions(scored)`."""

    scored: int  # structures with a score
    audits: int  # audits of every structure of the group
    total: int
    squares: int
    performing: int
    at_rank: Mapping[int, int]


def group_statistics(sums: GroupSums, threshold: Decimal) -> dict[str, Any]:
    """Count of structures and audits, mean, median, quartiles, p10/p90, min/max, population
    standard deviation, and the share of structures at or above the performing threshold.

    On integers in units of 10^-10 (exact); the variance is the exact rational
    (n Σx² - (Σx)²) / n², whose square root is taken with 60 digits and stored exactly."""
    out: dict[str, Any] = {"structures": sums.scored, "audits": sums.audits}
    n = sums.scored
    if not n:
        return out
    spread = n * sums.squares - sums.total * sums.total  # n² x variance, in units²
    deviation = WIDE.divide(Decimal(spread), Decimal(n * n)).scaleb(-20, WIDE).sqrt(WIDE)
    out["mean"] = _text(_mean(sums.total, n))
    at = sums.at_rank
    for name, (numerator, denominator) in QUANTILES.items():
        low, fraction = divmod(numerator * (n - 1), denominator)
        value = at[low]
        if low + 1 < n:
            value = _mean(value * denominator + fraction * (at[low + 1] - value), denominator)
        out[name] = _text(value)
    out.update(
        min=_text(at[0]),
        max=_text(at[n - 1]),
        stddev=str(exact(deviation)),
        performing=sums.performing,
        performing_share=_text(_mean(sums.performing * _UNIT, n)),
        threshold=str(threshold),
    )
    return out


def group_figures(members: Iterable[StructurePoint], threshold: Decimal) -> dict[str, Any]:
    """`group_statistics` of a group's structures (their overall scores), from the list."""
    points = list(members)
    scores = sorted(scaled(p.score) for p in points if p.score is not None)
    bar = scaled(threshold)
    sums = GroupSums(
        scored=len(scores),
        audits=sum(p.audits for p in points),
        total=sum(scores),
        squares=sum(x * x for x in scores),
        performing=len(scores) - bisect_left(scores, bar),
        at_rank={r: scores[r] for r in quantile_positions(len(scores))} if scores else {},
    )
    return group_statistics(sums, threshold)


def groups_of(stratum_code: str, structure_type: str, certified: bool) -> list[tuple[str, str]]:
    """The groups a structure belongs to (the sample only when its stratum and type are
    unknown: v1 audits do not carry them, nor the certification)."""
    if not stratum_code and not structure_type:
        return [("sample", "")]
    return [
        ("sample", ""),
        ("stratum", stratum_code),
        ("structure_type", structure_type),
        ("certified", "true" if certified else "false"),
    ]
