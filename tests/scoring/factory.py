"""Synthetic grids, audits and voices for scoring's tests, and a stand-in for the consumer
base's batch path (bulk inbox insert, then the batch's new events to `apply_batch`)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring.aggregates.service import ScoringApplication
from services.scoring.consumers import DURABLE
from services.scoring.models import tables
from shared.contracts.fieldwork import (
    AnswerV2,
    AuditValidatedV2,
    CitizenVoiceReceivedV1,
    GridItemV2,
    GridPublishedV1,
    ScoringRuleV1,
)
from shared.events import EventEnvelope, Payload, new_event

CHANNELS = ("email", "phone", "letter")
STRATA = ("cities-50k-plus", "cities-20k-50k", "cities-under-20k")
TYPES = ("city_hall", "intercommunality")

Event = tuple[EventEnvelope, Payload]


def grid(code: str, channel: str, version: int = 1) -> GridPublishedV1:
    """A grid with every scored answer type, a curve, N/A and an unscored free text."""
    yes_no = ScoringRuleV1(points={"true": Decimal(1), "false": Decimal(0)})
    items = [
        GridItemV2(code="answered", label_fr="Réponse", label_en="Answered",
                   criterion="reactivity", journey_step="processing", answer_type="yes_no",
                   rule=yes_no, weight=Decimal(3)),
        GridItemV2(code="delay", label_fr="Délai", label_en="Delay", criterion="reactivity",
                   journey_step="processing", answer_type="delay_working_days",
                   rule=ScoringRuleV1.model_validate(
                       {"curve": [{"up_to": 5, "points": 1}, {"up_to": 10, "points": "0.5"}],
                        "otherwise_points": 0}),
                   weight=Decimal(2), not_applicable_allowed=True),
        GridItemV2(code="clarity", label_fr="Clarté", label_en="Clarity",
                   criterion="information", journey_step="reception_information_orientation",
                   answer_type="scale", scale_max=4,
                   rule=ScoringRuleV1(points={str(i): Decimal(i) for i in range(5)}),
                   weight=Decimal("1.5"), not_applicable_allowed=True),
        GridItemV2(code="rings", label_fr="Sonneries", label_en="Rings", criterion="access",
                   journey_step="access", answer_type="duration_rings",
                   rule=ScoringRuleV1.model_validate(
                       {"curve": [{"up_to": 5, "points": 2}], "otherwise_points": "0.5"}),
                   weight=Decimal(1)),
        GridItemV2(code="transfers", label_fr="Transferts", label_en="Transfers",
                   criterion="orientation", journey_step="reception_information_orientation",
                   answer_type="count",
                   rule=ScoringRuleV1.model_validate(
                       {"curve": [{"up_to": 0, "points": 1}, {"up_to": 2, "points": "0.3"}],
                        "otherwise_points": 0}),
                   weight=Decimal(1)),
        GridItemV2(code="comment", label_fr="Remarque", label_en="Remark", criterion="other",
                   journey_step="processing", answer_type="free_text", rule=None,
                   weight=Decimal(0), mandatory=False),
    ]  # fmt: skip
    return GridPublishedV1(
        code=code, version=version, channel=channel, rules_version="rules-1", items=items
    )


def answers(rng: random.Random) -> list[AnswerV2]:
    return [
        AnswerV2(item_code="answered", value=rng.random() < 0.6),
        AnswerV2(item_code="delay", not_applicable=True)
        if rng.random() < 0.2
        else AnswerV2(item_code="delay", value=Decimal(rng.randint(0, 15))),
        AnswerV2(item_code="clarity", value=Decimal(rng.randint(0, 4))),
        AnswerV2(item_code="rings", value=Decimal(rng.randint(1, 9))),
        AnswerV2(item_code="transfers", value=Decimal(rng.randint(0, 3))),
        AnswerV2(item_code="comment", value="ok"),
    ]


def structure(edition_id: uuid.UUID, index: int) -> dict[str, Any]:
    return {
        "structure_id": uuid.uuid5(edition_id, f"structure-{index}"),
        "sites": [uuid.uuid5(edition_id, f"site-{index}-{s}") for s in range(1 + index % 2)],
        "stratum_code": STRATA[index % len(STRATA)],
        "structure_type": TYPES[index % len(TYPES)],
        "certified": index % 3 == 0,
    }


def audit(
    edition_id: uuid.UUID,
    s: dict[str, Any],
    grid_code: str,
    channel: str,
    rng: random.Random,
    *,
    audit_id: uuid.UUID | None = None,
    revision: int = 1,
    site: int = 0,
) -> AuditValidatedV2:
    return AuditValidatedV2(
        audit_id=audit_id or uuid.uuid5(edition_id, str(rng.getrandbits(64))),
        revision=revision,
        edition_id=edition_id,
        structure_id=s["structure_id"],
        structure_type=s["structure_type"],
        stratum_code=s["stratum_code"],
        certified=s["certified"],
        site_id=s["sites"][site % len(s["sites"])],
        channel=channel,
        scenario_code=None,
        grid_code=grid_code,
        grid_version=1,
        answers=answers(rng),
        validated_at=datetime(2026, 9, 1, tzinfo=UTC) + timedelta(hours=revision),
    )


def voice(
    edition_id: uuid.UUID, s: dict[str, Any], kind: str, rng: random.Random
) -> CitizenVoiceReceivedV1:
    return CitizenVoiceReceivedV1(
        voice_id=uuid.uuid5(edition_id, str(rng.getrandbits(64))),
        kind=kind,
        edition_id=edition_id,
        structure_id=s["structure_id"],
        site_id=s["sites"][0] if kind == "kiosk_feedback" else None,
        partner="civiliz",
        received_at=datetime(2026, 9, 1, tzinfo=UTC),
        satisfied=rng.random() < 0.7 if kind == "kiosk_feedback" else None,
        satisfaction=Decimal(rng.randint(0, 100)) if kind.endswith("survey") else None,
        participants=rng.randint(0, 50) if kind == "consultation" else None,
        population_reached=rng.randint(50, 500) if kind == "consultation" else None,
    )


def event(payload: Payload, edition_id: uuid.UUID | None = None) -> Event:
    envelope = new_event(payload, edition=edition_id)
    return envelope, payload


async def apply_like_the_base(
    sessions: async_sessionmaker[AsyncSession],
    app: ScoringApplication,
    batch: Sequence[Event],
) -> None:
    """One batch as the batch consumer base applies it: inbox rows in bulk, the new events
    (duplicates dropped, delivery order kept) to the handler, one transaction."""
    async with sessions() as session, session.begin():
        ids = {e.id for e, _ in batch}
        fresh = set(
            (
                await session.scalars(
                    insert(tables.inbox)
                    .values([{"consumer": DURABLE, "event_id": i, "subject": "x"} for i in ids])
                    .on_conflict_do_nothing()
                    .returning(tables.inbox.c.event_id)
                )
            ).all()
        )
        new: list[Event] = []
        for envelope, payload in batch:
            if envelope.id in fresh:
                fresh.discard(envelope.id)
                new.append((envelope, payload))
        if new:
            await app.apply_batch(session, new)
