"""A generated edition for reporting's tests: registrations, validated audits and scoring's
figures, published on JetStream as the other services would."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from nats.js import JetStreamContext

from shared.contracts.base import Payload
from shared.contracts.fieldwork import AuditValidatedV2
from shared.contracts.registry import (
    EditionCreatedV1,
    EditionStatusChangedV1,
    PartnerOptInChangedV1,
    RegistrationAcceptedV2,
)
from shared.contracts.scoring import FigureV1, ScoresUpdatedV1, StructureFiguresV1
from shared.events import new_event

TEN = Decimal("1E-10")
CHANNELS = ("email", "phone", "letter", "website")
CRITERIA = ("courtesy", "reactivity", "answer_quality")
STEPS = ("access", "reception_information_orientation", "processing")
STRATA = {  # code: (type, structures)
    "cities-50k-plus": ("city_hall", 90),
    "cities-20k-50k": ("city_hall", 80),
    "cities-under-20k": ("city_hall", 70),
    "france-services": ("france_services", 60),
    "departements": ("departement", 3),  # under the minimum: withheld
}


def exact(value: Decimal) -> Decimal:
    return value.quantize(TEN, rounding=ROUND_HALF_UP)


@dataclass
class Structure:
    structure_id: uuid.UUID
    name: str
    stratum: str
    structure_type: str
    certified: bool
    offer: str
    competes: bool
    audit_scores: dict[str, list[Decimal]] = field(default_factory=dict)
    criteria: dict[str, Decimal] = field(default_factory=dict)
    steps: dict[str, Decimal] = field(default_factory=dict)

    def channel_mean(self, channel: str) -> Decimal:
        scores = self.audit_scores[channel]
        return exact(sum(scores, Decimal(0)) / len(scores))

    @property
    def score(self) -> Decimal:
        means = [self.channel_mean(c) for c in self.audit_scores]
        return exact(sum(means, Decimal(0)) / len(means))

    @property
    def audits(self) -> int:
        return sum(len(v) for v in self.audit_scores.values())

    def figures(self) -> StructureFiguresV1:
        return StructureFiguresV1(
            structure_id=self.structure_id,
            stratum_code=self.stratum,
            structure_type=self.structure_type,
            certified=self.certified,
            audits=self.audits,
            score=self.score,
            channels={
                c: FigureV1(
                    score=self.channel_mean(c), audits=len(s), sum_squares=sum(x * x for x in s)
                )
                for c, s in self.audit_scores.items()
            },
            sites={},
            criteria={k: FigureV1(score=v, audits=self.audits) for k, v in self.criteria.items()},
            journey_steps={k: FigureV1(score=v, audits=self.audits) for k, v in self.steps.items()},
            items={
                f"{c}/answered": FigureV1(score=self.channel_mean(c), audits=len(s))
                for c, s in self.audit_scores.items()
            },
        )


def generate(rng: random.Random, strata: dict[str, tuple[str, int]] = STRATA) -> list[Structure]:
    structures = []
    for stratum, (structure_type, count) in strata.items():
        level = rng.uniform(50, 75)
        for i in range(count):
            s = Structure(
                structure_id=uuid.uuid4(),
                name=f"{structure_type} {stratum} #{i}",
                stratum=stratum,
                structure_type=structure_type,
                certified=rng.random() < 0.4,
                offer="personalised" if i % 3 == 0 else "standard",
                competes=i % 2 == 0,
            )
            for channel in CHANNELS:
                s.audit_scores[channel] = [
                    Decimal(str(round(min(100, max(0, rng.gauss(level, 15))), 2)))
                    for _ in range(rng.randint(1, 4))
                ]
            s.criteria = {k: exact(Decimal(str(rng.uniform(20, 100)))) for k in CRITERIA}
            s.steps = {k: exact(Decimal(str(rng.uniform(20, 100)))) for k in STEPS}
            structures.append(s)
    return structures


async def publish(js: JetStreamContext, payload: Payload, edition_id: uuid.UUID) -> None:
    event = new_event(payload, edition=edition_id)
    await js.publish(
        event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(event.id)}
    )


async def opt_in(js: JetStreamContext, structure_id: uuid.UUID, client_id: str) -> None:
    """The registry announces that a structure opted in to a partner."""
    change = PartnerOptInChangedV1(
        structure_id=structure_id, client_id=client_id, opted_in=True,
        changed_by="operator-test", changed_at=datetime.now(UTC),
    )  # fmt: skip
    event = new_event(change, edition=None)
    await js.publish(
        event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(event.id)}
    )


async def publish_edition(
    js: JetStreamContext,
    edition_id: uuid.UUID,
    year: int,
    structures: list[Structure],
    *,
    dispatch_on: date | None,
    status: str = "scoring",
    grid_version: int = 1,
    generation: int = 1,
) -> None:
    await publish(
        js,
        EditionCreatedV1(edition_id=edition_id, year=year, name=f"Baromètre {year}",
                         status="draft", results_dispatch_on=dispatch_on),
        edition_id,
    )  # fmt: skip
    for s in structures:
        await publish(js, registration(edition_id, year, s), edition_id)
    for s in structures[:40]:
        for channel in CHANNELS:
            await publish(js, audit(edition_id, s, channel, grid_version), edition_id)
    await publish(
        js,
        ScoresUpdatedV1(
            edition_id=edition_id,
            generation=generation,
            full=True,
            structures=[s.figures() for s in structures],
            groups=[],
        ),
        edition_id,
    )
    await set_status(js, edition_id, year, "draft", status)


async def set_status(
    js: JetStreamContext, edition_id: uuid.UUID, year: int, before: str, after: str
) -> None:
    await publish(
        js,
        EditionStatusChangedV1(edition_id=edition_id, year=year, from_status=before,
                               to_status=after, actor_role="operator", actor_subject="op"),
        edition_id,
    )  # fmt: skip


def registration(edition_id: uuid.UUID, year: int, s: Structure) -> RegistrationAcceptedV2:
    return RegistrationAcceptedV2(
        registration_id=uuid.uuid4(), edition_id=edition_id, edition_year=year,
        structure_id=s.structure_id, structure_name=s.name, structure_type=s.structure_type,
        commune_code=None, departement_code=None, region_code=None, population=None,
        stratum_code=s.stratum, stratum_label=s.stratum.replace("-", " ").title(),
        certified=s.certified, certifications=[], offer=s.offer, options=[],
        competes_for_trophies=s.competes, sites=[], windows=[], quotas=[],
    )  # fmt: skip


def audit(edition_id: uuid.UUID, s: Structure, channel: str, grid_version: int) -> AuditValidatedV2:
    return AuditValidatedV2(
        audit_id=uuid.uuid4(), revision=1, edition_id=edition_id, structure_id=s.structure_id,
        structure_type=s.structure_type, stratum_code=s.stratum, certified=s.certified,
        site_id=uuid.uuid4(), channel=channel, scenario_code=None, grid_code=channel,
        grid_version=grid_version, answers=[],
        remarks=f"Accueil {channel} par Mme Dupont, joignable au 02 40 41 42 43.",
        validated_at=datetime.now(UTC),
    )  # fmt: skip
