"""Laureates of an edition under its written rules; embargoed until the operator publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.laureates import repository as repo
from services.reporting.laureates.rules import (
    Candidate,
    decide,
    eligibility_rule,
    eligible,
    in_category,
    mention_label,
    mention_measure,
)
from services.reporting.readmodel.repository import EditionView
from services.reporting.readmodel.rules import settings_of
from services.reporting.scorecards.rules import display
from shared.errors import NotFound


def _named(candidates: tuple[Candidate, ...]) -> list[dict[str, Any]]:
    return [
        {"structure_id": c.structure_id, "name": c.name, "score": display(c.score)}
        for c in candidates
    ]


async def laureates_document(session: AsyncSession, view: EditionView) -> dict[str, Any]:
    settings = settings_of(view.settings)
    everyone = await repo.candidates(session, view.edition_id)
    pool = [c for c in everyone if eligible(c, settings.min_audits_per_channel)]
    categories = []
    for category in settings.categories:
        members = [c for c in pool if in_category(c, category)]
        decision = decide(members, lambda c: c.score, "overall score")
        categories.append(
            {
                "code": category.code,
                "label": category.label,
                "eligible": len(members),
                "laureates": _named(decision.laureates),
                "decided_by": decision.rule,
            }
        )
    mentions = []
    for mention in settings.mentions:
        decision = decide(pool, mention_measure(mention), mention_label(mention))
        mentions.append(
            {
                "code": mention.code,
                "label": mention.label,
                "laureates": _named(decision.laureates),
                "decided_by": decision.rule,
            }
        )
    return {
        "edition": {"id": str(view.edition_id), "year": view.year, "name": view.name},
        "version": view.version,
        "published": view.laureates_published,
        "eligibility": eligibility_rule(settings.min_audits_per_channel),
        "tie_breakers": "overall score, then more validated audits, then higher lowest channel "
        "score, then higher processing-step score; still tied: ex aequo",
        "categories": categories,
        "mentions": mentions,
    }


async def publish(session: AsyncSession, edition_id: uuid.UUID) -> datetime:
    published = await repo.publish(session, edition_id, datetime.now(UTC))
    if published is None:
        raise NotFound(f"edition {edition_id} is unknown to reporting")
    return published
