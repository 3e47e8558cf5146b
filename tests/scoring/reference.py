"""From-scratch figures of a set of events, in memory, with the pure rules only: what the
incremental aggregates must equal whatever the order, duplicates and re-validations."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from services.scoring.aggregates.rules import (
    CellDelta,
    CellRow,
    ScoringSettings,
    StructurePoint,
    group_figures,
    groups_of,
    structure_figures,
)
from services.scoring.aggregates.service import IncomingAudit, attributes_key, incoming, score
from services.scoring.engine.rules import GridShape, grid_shape
from shared.contracts.fieldwork import AuditValidatedV1, AuditValidatedV2, GridPublishedV1
from tests.scoring.factory import Event


def from_scratch(
    events: Iterable[Event], settings: ScoringSettings
) -> tuple[dict[uuid.UUID, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    shapes: dict[tuple[str, int], GridShape] = {}
    winners: dict[uuid.UUID, IncomingAudit] = {}
    for envelope, payload in events:
        if isinstance(payload, GridPublishedV1):
            shapes[(payload.code, payload.version)] = grid_shape(payload)
        elif isinstance(payload, AuditValidatedV1 | AuditValidatedV2):
            audit = incoming(envelope.id, envelope.subject, payload)
            held = winners.get(audit.audit_id)
            if held is None or audit.precedence > held.precedence:
                winners[audit.audit_id] = audit
    cells: dict[tuple[Any, ...], CellDelta] = defaultdict(CellDelta)
    latest: dict[uuid.UUID, IncomingAudit] = {}
    for audit in winners.values():
        shape = shapes.get(audit.grid_key)
        if shape is None:
            continue
        key = (audit.structure_id, audit.payload.site_id, audit.payload.channel, *audit.grid_key)
        cells[key].add(shape, score(audit, shape), +1)
        held = latest.get(audit.structure_id)
        if held is None or attributes_key(audit) > attributes_key(held):
            latest[audit.structure_id] = audit
    by_structure: dict[uuid.UUID, list[CellRow]] = defaultdict(list)
    for (structure_id, site_id, channel, code, version), d in cells.items():
        by_structure[structure_id].append(
            CellRow(str(site_id), channel, code, version, d.audits, d.score_total,
                    {"item": d.totals["item"], "criterion": d.totals["criterion"],
                     "journey_step": d.totals["journey_step"]},
                    {"item": d.counts["item"], "criterion": d.counts["criterion"],
                     "journey_step": d.counts["journey_step"]}, d.score_squares)
        )  # fmt: skip
    structures: dict[uuid.UUID, dict[str, Any]] = {}
    members: dict[tuple[str, str], list[StructurePoint]] = defaultdict(list)
    for structure_id, rows in by_structure.items():
        overall, audits, figures = structure_figures(rows, shapes, settings)
        a = latest[structure_id]
        structures[structure_id] = {
            "stratum_code": a.stratum_code,
            "structure_type": a.structure_type,
            "certified": a.certified,
            "audits": audits,
            "score": overall,
            "figures": figures,
        }
        for group in groups_of(a.stratum_code, a.structure_type, a.certified):
            members[group].append(StructurePoint(overall, audits))
    groups = {
        g: group_figures(points, settings.performing_threshold) for g, points in members.items()
    }
    return structures, groups


def as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
