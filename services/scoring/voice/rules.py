"""Pure perceived-quality figures: a satisfaction index /100 from citizens' answers (a kiosk's
"satisfied" counts 100, "unsatisfied" 0; a survey gives its own /100), agents' perceived
quality apart, and the participation rate of consultations; the indices are withheld below
the edition's minimum response count."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.scoring.engine.rules import ratio

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class VoiceContribution:
    responses: int = 0
    satisfaction_total: Decimal = Decimal(0)
    agent_responses: int = 0
    agent_total: Decimal = Decimal(0)
    consultations: int = 0
    participants: int = 0
    population_reached: int = 0


def contribution(
    kind: str,
    *,
    satisfied: bool | None,
    satisfaction: Decimal | None,
    participants: int | None,
    population_reached: int | None,
) -> VoiceContribution:
    """What one accepted piece of perceived quality adds (nothing when it carries no measure)."""
    if kind == "kiosk_feedback" and satisfied is not None:
        return VoiceContribution(
            responses=1, satisfaction_total=HUNDRED if satisfied else Decimal(0)
        )
    if kind == "citizen_survey" and satisfaction is not None:
        return VoiceContribution(responses=1, satisfaction_total=satisfaction)
    if kind == "agent_survey" and satisfaction is not None:
        return VoiceContribution(agent_responses=1, agent_total=satisfaction)
    if kind == "consultation":
        return VoiceContribution(
            consultations=1,
            participants=participants or 0,
            population_reached=population_reached or 0,
        )
    return VoiceContribution()


@dataclass(frozen=True)
class Perceived:
    responses: int
    published: bool
    satisfaction_index: Decimal | None
    agent_responses: int
    agent_index: Decimal | None
    consultations: int
    participants: int
    population_reached: int
    participation_rate: Decimal | None


def perceived(sums: VoiceContribution, min_responses: int) -> Perceived:
    """Figures published only from `min_responses` answers on (of their own kind)."""
    published = sums.responses >= max(min_responses, 1)
    agents = sums.agent_responses >= max(min_responses, 1)
    rate = None
    if sums.population_reached > 0 and sums.participants >= min_responses:
        rate = ratio(Decimal(sums.participants), Decimal(sums.population_reached))
    return Perceived(
        responses=sums.responses,
        published=published,
        satisfaction_index=ratio(sums.satisfaction_total, Decimal(sums.responses))
        if published
        else None,
        agent_responses=sums.agent_responses,
        agent_index=ratio(sums.agent_total, Decimal(sums.agent_responses)) if agents else None,
        consultations=sums.consultations,
        participants=sums.participants,
        population_reached=sums.population_reached,
        participation_rate=rate,
    )
