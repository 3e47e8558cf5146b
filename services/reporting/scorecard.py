"""Pure roll-up of audit scores into a structure's scorecard and its comparisons.

A structure's score is the mean of its audit scores; a stratum's (or the whole sample's)
mean is the mean of its structures' scores, so every structure weighs the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def mean(values: Iterable[Decimal]) -> Decimal | None:
    items = list(values)
    if not items:
        return None
    return (sum(items, Decimal(0)) / len(items)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AuditRow:
    structure_id: str
    channel: str
    score: Decimal


@dataclass(frozen=True)
class Comparison:
    mean: Decimal | None
    structures: int


@dataclass(frozen=True)
class ChannelScore:
    channel: str
    score: Decimal
    audits: int


@dataclass(frozen=True)
class Scorecard:
    score: Decimal | None
    audits: int
    channels: tuple[ChannelScore, ...]
    stratum: Comparison
    sample: Comparison


def structure_scores(audits: Iterable[AuditRow]) -> dict[str, Decimal]:
    """Unrounded means, so that comparisons do not accumulate rounding."""
    by_structure: dict[str, list[Decimal]] = defaultdict(list)
    for audit in audits:
        by_structure[audit.structure_id].append(audit.score)
    return {s: sum(v, Decimal(0)) / len(v) for s, v in by_structure.items()}


def build_scorecard(
    structure_id: str, audits: list[AuditRow], stratum_members: set[str]
) -> Scorecard:
    scores = structure_scores(audits)
    own = [a for a in audits if a.structure_id == structure_id]
    by_channel: dict[str, list[Decimal]] = defaultdict(list)
    for audit in own:
        by_channel[audit.channel].append(audit.score)
    channels = tuple(
        ChannelScore(channel, mean(values) or Decimal(0), len(values))
        for channel, values in sorted(by_channel.items())
    )
    in_stratum = [score for s, score in scores.items() if s in stratum_members]
    own_score = scores.get(structure_id)
    return Scorecard(
        score=None if own_score is None else own_score.quantize(CENT, rounding=ROUND_HALF_UP),
        audits=len(own),
        channels=channels,
        stratum=Comparison(mean(in_stratum), len(in_stratum)),
        sample=Comparison(mean(scores.values()), len(scores)),
    )
