"""Trophy rules (pure): eligibility, one laureate per category with written tie-breakers, and
the mentions; every result says which rule decided it. The rules propose, the operator
confirms by publishing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from services.reporting.readmodel.rules import CategoryRule, MentionRule


@dataclass(frozen=True)
class Candidate:
    structure_id: str
    name: str
    stratum_code: str
    structure_type: str
    competes: bool
    score: Decimal | None
    audits: int
    channel_audits: Mapping[str, int] = field(default_factory=dict)
    channel_scores: Mapping[str, Decimal] = field(default_factory=dict)
    step_scores: Mapping[str, Decimal] = field(default_factory=dict)
    criterion_scores: Mapping[str, Decimal] = field(default_factory=dict)
    participation_rate: Decimal | None = None


Measure = Callable[[Candidate], Decimal | None]


@dataclass(frozen=True)
class TieBreaker:
    label: str
    measure: Measure


def _lowest_channel(c: Candidate) -> Decimal | None:
    return min(c.channel_scores.values()) if c.channel_scores else None


TIE_BREAKERS: tuple[TieBreaker, ...] = (
    TieBreaker("more validated audits", lambda c: Decimal(c.audits)),
    TieBreaker("higher lowest channel score", _lowest_channel),
    TieBreaker("higher score on the processing step", lambda c: c.step_scores.get("processing")),
)


@dataclass(frozen=True)
class Decision:
    laureates: tuple[Candidate, ...]
    rule: str


def _shown(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def eligibility_rule(min_audits_per_channel: Mapping[str, int]) -> str:
    needs = ", ".join(f"{n} on {c}" for c, n in sorted(min_audits_per_channel.items()))
    return "competes for the trophies, has an overall score" + (
        f", and at least these validated audits: {needs}" if needs else ""
    )


def eligible(candidate: Candidate, min_audits_per_channel: Mapping[str, int]) -> bool:
    return (
        candidate.competes
        and candidate.score is not None
        and all(candidate.channel_audits.get(c, 0) >= n for c, n in min_audits_per_channel.items())
    )


def decide(candidates: Sequence[Candidate], measure: Measure, label: str) -> Decision:
    """The highest `measure`; ties go through TIE_BREAKERS in order; still tied: ex aequo."""
    valued = [(c, v) for c in candidates if (v := measure(c)) is not None]
    if not valued:
        return Decision((), "no eligible candidate")
    best = max(v for _, v in valued)
    tied = [c for c, v in valued if v == best]
    if len(tied) == 1:
        others = sorted((v for _, v in valued if v != best), reverse=True)
        runner = f" (next: {_shown(others[0])})" if others else " (sole eligible candidate)"
        return Decision((tied[0],), f"highest {label}: {_shown(best)}{runner}")
    steps = [f"{len(tied)} tied on {label} at {_shown(best)}"]
    for breaker in TIE_BREAKERS:
        values = [(c, breaker.measure(c)) for c in tied]
        known = [v for _, v in values if v is not None]
        if not known:
            continue
        top = max(known)
        kept = [c for c, v in values if v == top]
        if len(kept) < len(tied):
            steps.append(f"then {breaker.label} ({_shown(top)})")
            tied = kept
        if len(tied) == 1:
            return Decision((tied[0],), "; ".join(steps))
    steps.append("still tied after every tie-breaker: ex aequo")
    return Decision(tuple(sorted(tied, key=lambda c: c.name)), "; ".join(steps))


def in_category(candidate: Candidate, category: CategoryRule) -> bool:
    return candidate.stratum_code in category.strata or (
        candidate.structure_type in category.structure_types
    )


def mention_measure(rule: MentionRule) -> Measure:
    if rule.dimension == "participation_rate":
        return lambda c: c.participation_rate

    def mean_of(c: Candidate) -> Decimal | None:
        source = {
            "channel": c.channel_scores,
            "journey_step": c.step_scores,
            "criterion": c.criterion_scores,
        }[rule.dimension]
        found = [source[k] for k in rule.keys if k in source]
        return sum(found, Decimal(0)) / len(found) if found else None

    return mean_of


def mention_label(rule: MentionRule) -> str:
    if rule.dimension == "participation_rate":
        return "citizen participation rate"
    return f"mean {rule.dimension.replace('_', ' ')} score over {', '.join(rule.keys)}"
