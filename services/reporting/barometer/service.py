"""The anonymous national barometer of an edition, from precomputed group statistics."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.barometer import repository as repo
from services.reporting.readmodel.repository import EditionView
from services.reporting.readmodel.rules import settings_of
from services.reporting.scorecards.rules import display, withheld_reason

NIL = uuid.UUID(int=0)  # the cache key of edition-wide answers
GROUP_SECTIONS = {
    "stratum": "strata",
    "structure_type": "structure_types",
    "certified": "certified",
}
DIMENSION_SECTIONS = {
    "channel": "channels",
    "journey_step": "journey_steps",
    "criterion": "criteria",
}


def group_entry(stat: repo.Stat, minimum: int) -> dict[str, Any]:
    figures = stat.figures
    reason = withheld_reason(figures.structures, minimum)
    if reason is not None:
        return {"withheld": True, "reason": reason}
    return {
        "withheld": False,
        "structures": figures.structures,
        "audits": figures.audits,
        "mean": display(figures.mean),
        "median": display(figures.median),
        "q1": display(figures.q1),
        "q3": display(figures.q3),
        "p10": display(figures.p10),
        "p90": display(figures.p90),
        "performing_share": display(
            Decimal(figures.performing) / Decimal(figures.structures), Decimal("0.0001")
        ),
    }


async def barometer_document(session: AsyncSession, view: EditionView) -> dict[str, Any]:
    settings = settings_of(view.settings)
    minimum = settings.min_group_size
    stats = await repo.edition_stats(session, view.edition_id)
    labels = await repo.stratum_labels(session, view.edition_id)
    sample: dict[str, Any] = {"overall": None, **{s: {} for s in DIMENSION_SECTIONS.values()}}
    groups: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in GROUP_SECTIONS.values()}
    for stat in stats:
        entry = group_entry(stat, minimum)
        if stat.kind == "sample":
            if stat.dimension == "overall":
                sample["overall"] = entry
            else:
                sample[DIMENSION_SECTIONS[stat.dimension]][stat.key] = entry
            continue
        if stat.dimension not in ("overall", "channel"):
            continue
        group = groups[GROUP_SECTIONS[stat.kind]].setdefault(
            stat.group_key,
            {"key": stat.group_key, "label": labels.get(stat.group_key, stat.group_key)}
            if stat.kind == "stratum"
            else {"key": stat.group_key},
        )
        if stat.dimension == "overall":
            group["overall"] = entry
        else:
            group.setdefault("channels", {})[stat.key] = entry
    history: dict[uuid.UUID, dict[str, Any]] = {}
    for past in await repo.evolution(session, view.edition_id):
        item = history.setdefault(
            past.edition_id,
            {"edition_id": str(past.edition_id), "year": past.year, "name": past.name,
             "overall": None, "channels": {}},
        )  # fmt: skip
        shown = (
            None
            if withheld_reason(past.structures, minimum)
            else {"structures": past.structures, "mean": display(past.mean),
                  "median": display(past.median)}
        )  # fmt: skip
        if past.dimension == "overall":
            item["overall"] = shown
        else:
            item["channels"][past.key] = shown
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for section, found in groups.items():
        by_kind[section] = sorted(found.values(), key=lambda g: str(g["key"]))
    return {
        "edition": {"id": str(view.edition_id), "year": view.year, "name": view.name,
                    "status": view.status},
        "version": view.version,
        "precision": "scores /100 rounded half-up to 2 decimals; performing_share 0-1 to 4 "
        "decimals (structures at or above the threshold)",
        "min_group_size": minimum,
        "performing_threshold": display(settings.performing_threshold),
        "sample": sample,
        **by_kind,
        "evolution": list(history.values()),
    }  # fmt: skip
