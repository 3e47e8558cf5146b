"""The personalised report: the scorecard plus remarks, perceived quality, evolution, and a
synthesis of strengths and points for progress."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.readmodel.repository import EditionView
from services.reporting.readmodel.rules import settings_of
from services.reporting.reports import repository as repo
from services.reporting.reports.rules import mask_personal_data
from services.reporting.scorecards.repository import structure_head
from services.reporting.scorecards.rules import Gap, display, strengths_and_progress
from services.reporting.scorecards.service import scorecard_document

PERSONALISED = "personalised"


def _gaps(entries: list[dict[str, Any]], dimension: str) -> list[Gap]:
    gaps = []
    for entry in entries:
        for group in ("stratum", "sample"):
            comparison = entry[group]
            if not comparison["withheld"]:
                gaps.append(
                    Gap(
                        dimension,
                        entry["key"],
                        Decimal(str(entry["score"])),
                        Decimal(str(comparison["mean"])),
                        Decimal(str(comparison["gap_to_mean"])),
                    )
                )
                break
    return gaps


def _gap_out(gap: Gap) -> dict[str, Any]:
    return {
        "dimension": gap.dimension,
        "key": gap.key,
        "score": display(gap.score),
        "reference_mean": display(gap.reference),
        "gap": display(gap.gap),
    }


def _perceived(perceived: dict[str, Any] | None) -> dict[str, Any]:
    if not perceived:
        return {"withheld": True, "reason": "no perceived-quality answers received"}
    if not perceived.get("published"):
        return {
            "withheld": True,
            "reason": "fewer answers than the edition's minimum for a perception analysis",
            "responses": perceived.get("responses", 0),
        }
    keys = ("responses", "agent_responses", "consultations", "participants")
    out: dict[str, Any] = {"withheld": False, **{k: perceived.get(k) for k in keys}}
    for key in ("satisfaction_index", "agent_index"):
        value = perceived.get(key)
        out[key] = None if value is None else display(Decimal(str(value)))
    rate = perceived.get("participation_rate")
    out["participation_rate"] = (
        None if rate is None else display(Decimal(str(rate)), Decimal("0.0001"))
    )
    return out


async def report_document(
    session: AsyncSession, view: EditionView, structure_id: uuid.UUID, *, operator: bool
) -> dict[str, Any] | None:
    """None when there is nothing to report (no figures, or a structure not on the
    personalised offer, unless the operator asks)."""
    card = await scorecard_document(session, view, structure_id)
    if card is None or (card["structure"]["offer"] != PERSONALISED and not operator):
        return None
    settings = settings_of(view.settings)
    head = await structure_head(session, view.edition_id, structure_id)
    strengths, progress = strengths_and_progress(
        _gaps(card["criteria"], "criterion") + _gaps(card["journey_steps"], "journey_step"),
        settings.strengths_count,
    )
    remarks = [
        {"channel": channel, "validated_at": at.isoformat(), "remark": mask_personal_data(text)}
        for channel, at, text in await repo.remarks(session, view.edition_id, structure_id)
    ]
    history = [
        {"year": year, "edition": name, "score": display(score)}
        for year, name, score in await repo.overall_history(session, view.edition_id, structure_id)
    ]
    return card | {
        "report": "personalised",
        "remarks": remarks,
        "perceived_quality": _perceived(head.perceived if head else None),
        "synthesis": {
            "reference": "the stratum's mean (the sample's where the stratum is withheld)",
            "strengths": [_gap_out(g) for g in strengths],
            "points_for_progress": [_gap_out(g) for g in progress],
        },
        "evolution": history,
    }
