"""A structure's scorecard, built from precomputed figures and cached per edition version."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.access.rules import EditionAccess, may_read_results
from services.reporting.readmodel import repository as readmodel
from services.reporting.readmodel.reader import Reader
from services.reporting.readmodel.rules import DIMENSIONS, settings_of
from services.reporting.scorecards import repository as repo
from services.reporting.scorecards.rules import (
    CI_METHOD,
    TENTH,
    comparability,
    confidence_interval,
    display,
    quartile,
    withheld_reason,
)
from shared.auth import Principal, Role
from shared.errors import NotFound

PRECISION = (
    "scores and gaps /100 rounded half-up to 2 decimals (exact to 10 decimals in the read "
    "model); percentile ranks 0-100 to 1 decimal (share of the group below, ties counted half); "
    "ranks 1 = best (ties share a rank); quartile 1 (bottom) to 4 (top) within the stratum"
)
SECTIONS = {
    "channel": "channels",
    "journey_step": "journey_steps",
    "criterion": "criteria",
    "item": "items",
}


def edition_access(view: readmodel.EditionView) -> EditionAccess:
    return EditionAccess(view.status, view.results_dispatch_on, view.laureates_published)


def not_found(edition_id: uuid.UUID, structure_id: uuid.UUID) -> NotFound:
    return NotFound(f"no results of structure {structure_id} in edition {edition_id}")


async def readable_view(
    reader: Reader,
    principal: Principal,
    edition_id: uuid.UUID,
    structure_id: uuid.UUID,
    kind: str,
    today: Any,
) -> readmodel.EditionView:
    """The edition's view when the caller may read this structure's results (a partner: only a
    structure that opted in to it); 404 otherwise, whether the data exists or not. The read is
    written to the access log before the answer leaves."""
    view = await reader.edition_view(edition_id, structure_id, kind)
    if view is None or not may_read_results(
        principal, str(structure_id), edition_access(view), today
    ):
        raise not_found(edition_id, structure_id)
    if principal.role is Role.PARTNER and not await reader.partner_opted_in(
        structure_id, principal.subject
    ):
        raise not_found(edition_id, structure_id)
    await reader.log_access(
        principal, f"read.{kind}", f"edition/{edition_id}/structure/{structure_id}/{kind}",
        structure_id,
    )  # fmt: skip
    return view


async def cached(
    factory: async_sessionmaker[AsyncSession],
    view: readmodel.EditionView,
    structure_id: uuid.UUID,
    kind: str,
    build: Callable[[AsyncSession], Awaitable[dict[str, Any] | None]],
) -> bytes | None:
    """The answer for the edition's current version: cached (no transaction opened), or built
    once in its own transaction and stored."""
    if view.cached_version == view.version and view.cached_body is not None:
        return view.cached_body
    async with factory() as session, session.begin():
        document = await build(session)
        if document is None:
            return None
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        await readmodel.store_document(
            session, view.edition_id, structure_id, kind, view.version, body
        )
    return body


def _comparison(
    value: repo.ValueRow, group: repo.GroupRow | None, minimum: int, *, stratum: bool
) -> dict[str, Any]:
    reason = withheld_reason(group.structures if group else None, minimum)
    if reason is not None or group is None:
        return {"withheld": True, "reason": reason}
    out: dict[str, Any] = {
        "withheld": False,
        "structures": group.structures,
        "mean": display(group.mean),
        "median": display(group.median),
        "gap_to_mean": display(value.score - group.mean),
        "gap_to_median": display(value.score - group.median),
        "rank": value.stratum_rank if stratum else value.sample_rank,
        "percentile_rank": display(
            value.stratum_percentile if stratum else value.sample_percentile, TENTH
        ),
    }
    if stratum:
        out["quartile"] = quartile(value.score, group.q1, group.median, group.q3)
    return out


def _interval(value: repo.ValueRow, total: Decimal) -> dict[str, Any]:
    interval = confidence_interval(value.score, value.audits, total, value.sum_squares)
    if interval.withheld_reason is not None:
        return {"withheld": True, "reason": interval.withheld_reason}
    return {"withheld": False, "low": display(interval.low), "high": display(interval.high)}


def figure_entry(
    value: repo.ValueRow,
    minimum: int,
    total: Decimal,
    change: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "key": value.key,
        "score": display(value.score),
        "audits": value.audits,
        "confidence_interval_95": _interval(value, total),
        "stratum": _comparison(value, value.stratum, minimum, stratum=True),
        "sample": _comparison(value, value.sample, minimum, stratum=False),
        "change": change,
    }


async def scorecard_document(
    session: AsyncSession, view: readmodel.EditionView, structure_id: uuid.UUID
) -> dict[str, Any] | None:
    head = await repo.structure_head(session, view.edition_id, structure_id)
    if head is None:
        return None
    settings = settings_of(view.settings)
    values = await repo.structure_values(session, view.edition_id, structure_id)
    previous = await repo.previous_edition(session, view.edition_id, structure_id)
    grids = await repo.grids_by_channel(
        session, [view.edition_id, *([previous.edition_id] if previous else [])], structure_id
    )
    channel_totals: dict[str, Decimal] = {
        key: Decimal(f["score"]) * f["audits"] for key, f in head.figures["channels"].items()
    }

    def change(value: repo.ValueRow) -> dict[str, Any] | None:
        if previous is None:
            return None
        before = previous.scores.get((value.dimension, value.key))
        if before is None:
            return None
        reason = comparability(
            settings.methodology_version,
            settings_of(previous.settings).methodology_version,
            grids.get(view.edition_id, {}),
            grids.get(previous.edition_id, {}),
            value.key if value.dimension == "channel" else None,
        )
        base: dict[str, Any] = {
            "previous_edition_id": str(previous.edition_id),
            "previous_year": previous.year,
        }
        if reason is not None:
            return base | {"comparable": False, "reason": reason}
        return base | {
            "comparable": True,
            "previous_score": display(before),
            "change": display(value.score - before),
        }

    def total(value: repo.ValueRow) -> Decimal:
        if value.dimension == "overall":
            return sum(channel_totals.values(), Decimal(0))
        if value.dimension == "channel":
            return channel_totals.get(value.key, value.score * value.audits)
        return value.score * value.audits

    entries: dict[str, list[dict[str, Any]]] = {d: [] for d in DIMENSIONS}
    for value in values:
        entries[value.dimension].append(
            figure_entry(value, settings.min_group_size, total(value), change(value))
        )
    overall = entries["overall"][0] if entries["overall"] else None
    return {
        "edition": {"id": str(view.edition_id), "year": view.year, "name": view.name},
        "structure": {
            "id": str(structure_id),
            "name": head.name,
            "type": head.structure_type,
            "certified": head.certified,
            "stratum": {"code": head.stratum_code, "label": head.stratum_label},
            "offer": head.offer,
        },
        "version": view.version,
        "precision": PRECISION,
        "confidence_interval_method": CI_METHOD,
        "min_group_size": settings.min_group_size,
        "overall": overall,
        **{section: entries[d] for d, section in SECTIONS.items()},
    }
