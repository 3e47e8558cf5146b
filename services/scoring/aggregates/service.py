"""Scoring's application of a batch of events: grids kept, audits scored (or parked until their
grid arrives), cells updated by deltas, touched structures re-derived, touched groups refreshed
(at most every `group_refresh_seconds`), and the new figures announced through the outbox.

Costs per batch: a fixed number of statements (locks, states, grids, stored audits, one upsert
per table); at structure level O(audits in the batch) rows (one cell upsert per audit, one
structure re-derived from its handful of cells); group statistics O(structures of the edition)
per refresh, and a refresh happens at most once per `group_refresh_seconds` per edition
whatever the number of batches, so its cost per audit falls as the rate grows.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates import repository as repo
from services.scoring.aggregates.rules import (
    GROUP_KINDS,
    QUANTILES,
    CellDelta,
    CellRow,
    GroupSums,
    ScoringSettings,
    group_statistics,
    groups_of,
    scaled,
    scaled_squares,
    structure_figures,
)
from services.scoring.engine.rules import (
    GridShape,
    ScoredAudit,
    UnscorableAudit,
    display,
    grid_from_v1,
    grid_shape,
    score_answers,
    score_v1,
)
from services.scoring.models import EditionState
from services.scoring.voice import service as voice_service
from shared.consumer import PermanentEventError
from shared.contracts.fieldwork import (
    AuditValidatedV1,
    AuditValidatedV2,
    CitizenVoiceReceivedV1,
    GridPublishedV1,
    GridV1,
)
from shared.contracts.scoring import (
    AuditScoredV1,
    GroupFiguresV1,
    PerceivedQualityV1,
)
from shared.events import EVENT_PAYLOADS, EventEnvelope, Payload, new_event
from shared.outbox import Outbox

# Keep one scores.updated message well under NATS's 1 MB (a structure's figures ~4 KB).
STRUCTURES_PER_EVENT = 100
AUDITS_PER_EVENT = 1000
SCORES_UPDATED = "scoring.scores.updated.v1"
V1_PREFIX = "v1:"

GridKey = tuple[str, int]

# Grids are immutable once published: their shapes are cached for the process's life.
_shapes: dict[GridKey, GridShape] = {}


class UnscorableAuditEvent(PermanentEventError):
    """An audit whose answers do not fit its grid; names the event so the base can isolate it."""

    def __init__(self, event_id: uuid.UUID, reason: str) -> None:
        super().__init__(f"event {event_id}: {reason}")
        self.event_id = event_id


@dataclass(frozen=True)
class IncomingAudit:
    event_id: uuid.UUID
    subject: str
    payload: AuditValidatedV1 | AuditValidatedV2
    revision: int
    grid_key: GridKey
    stratum_code: str
    structure_type: str
    certified: bool
    raw: Mapping[str, Any] | None = None  # the payload as received (stored as it came)

    @property
    def audit_id(self) -> uuid.UUID:
        return self.payload.audit_id

    @property
    def edition_id(self) -> uuid.UUID:
        return self.payload.edition_id

    @property
    def structure_id(self) -> uuid.UUID:
        return self.payload.structure_id

    @cached_property
    def attributes_key(self) -> str:
        """Which audit's structure attributes (stratum, type, certification) are the latest:
        the later validation, then the audit id."""
        return f"{timestamp_key(self.payload.validated_at)}|{self.audit_id}"

    @property
    def precedence(self) -> tuple[int, str, str]:
        """Which of two events of one audit wins: the higher revision, then the later
        validation, then the event id (so any arrival order gives the same winner)."""
        return (self.revision, timestamp_key(self.payload.validated_at), str(self.event_id))


def timestamp_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def incoming(
    event_id: uuid.UUID, subject: str, payload: Payload, raw: Mapping[str, Any] | None = None
) -> IncomingAudit:
    if isinstance(payload, AuditValidatedV2):
        return IncomingAudit(
            raw=raw,
            event_id=event_id,
            subject=subject,
            payload=payload,
            revision=payload.revision,
            grid_key=(payload.grid_code, payload.grid_version),
            stratum_code=payload.stratum_code,
            structure_type=payload.structure_type,
            certified=payload.certified,
        )
    assert isinstance(payload, AuditValidatedV1)
    # v1 carries neither revision nor groups: a later validation replaces an earlier one, and
    # the structure counts in the sample only (its stratum, type and certification unknown).
    return IncomingAudit(
        raw=raw,
        event_id=event_id,
        subject=subject,
        payload=payload,
        revision=0,
        grid_key=(V1_PREFIX + payload.grid.code, payload.grid.version),
        stratum_code="",
        structure_type="",
        certified=False,
    )


def from_stored(row: Any) -> IncomingAudit:
    raw = json.loads(row.payload)
    payload = EVENT_PAYLOADS[row.subject].model_validate(raw)
    return incoming(row.event_id, row.subject, payload, raw)


def shape_from_body(key: GridKey, body: Mapping[str, Any]) -> GridShape:
    if key[0].startswith(V1_PREFIX):
        shape = grid_shape(grid_from_v1(GridV1.model_validate(body)))
        return dataclasses.replace(shape, code=key[0])
    return grid_shape(GridPublishedV1.model_validate(body))


async def load_shapes(session: AsyncSession, keys: Iterable[GridKey]) -> None:
    """Bring the shapes of these grids into the process's cache (those stored so far)."""
    missing = sorted({k for k in keys if k not in _shapes})
    for row in await repo.grids(session, missing):
        _shapes[(row.code, row.version)] = shape_from_body((row.code, row.version), row.body)


def score(audit: IncomingAudit, shape: GridShape) -> ScoredAudit:
    payload = audit.payload
    try:
        if isinstance(payload, AuditValidatedV1):
            return score_v1(payload.grid, payload.answers)[1]
        return score_answers(shape, payload.answers)
    except UnscorableAudit as exc:
        raise UnscorableAuditEvent(audit.event_id, str(exc)) from exc


@dataclass
class EditionBatch:
    """What one batch changes in one edition."""

    state: EditionState
    settings: ScoringSettings
    structures: set[uuid.UUID] = field(default_factory=set)
    candidates: dict[uuid.UUID, IncomingAudit] = field(default_factory=dict)
    perceived: list[PerceivedQualityV1] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)  # `AuditScoreV1`, JSON form


@dataclass(frozen=True)
class BatchOptions:
    group_refresh_seconds: float = 0.0
    publish_audit_scores: bool = False


class ScoringApplication:
    """`apply_batch` is the consumer's batch handler (the whole batch, one transaction)."""

    def __init__(self, outbox: Outbox, options: BatchOptions | None = None) -> None:
        self.outbox = outbox
        self.options = options or BatchOptions()

    async def apply_batch(
        self, session: AsyncSession, events: Sequence[tuple[EventEnvelope, Payload]]
    ) -> None:
        grids = [p for _, p in events if isinstance(p, GridPublishedV1)]
        voices = [p for _, p in events if isinstance(p, CitizenVoiceReceivedV1)]
        audits = [
            incoming(e.id, e.subject, p, e.payload)
            for e, p in events
            if isinstance(p, AuditValidatedV1 | AuditValidatedV2)
        ]
        winners: dict[uuid.UUID, IncomingAudit] = {}
        for audit in audits:
            held = winners.get(audit.audit_id)
            if held is None or audit.precedence > held.precedence:
                winners[audit.audit_id] = audit
        # Every inline v1 grid becomes a stored grid (prefixed code), so re-derivations find it.
        v1_grids = {
            a.grid_key: a.payload.grid
            for a in winners.values()
            if isinstance(a.payload, AuditValidatedV1)
        }
        edition_ids = sorted(
            {a.edition_id for a in winners.values()} | {v.edition_id for v in voices}
        )
        grid_keys = {(g.code, g.version) for g in grids}
        # Members of the durable apply batches concurrently: a batch storing grids waits for
        # the batches that may park audits (and they for it), so no audit is parked unseen by
        # the batch that brings its grid. Taken first, alone: no deadlock with the others.
        if grids or winners:
            await repo.lock(
                session,
                shared=[] if grids else [repo.lock_key("grids", "")],
                exclusive=[repo.lock_key("grids", "")] if grids else [],
            )
        await repo.lock(
            session,
            shared=[repo.lock_key("edition", e) for e in edition_ids],
            exclusive=[repo.lock_key("audit", a) for a in winners]
            + [repo.lock_key("structure", a.structure_id) for a in winners.values()],
        )
        await repo.insert_grids(
            session,
            [
                {"code": g.code, "version": g.version, "channel": g.channel,
                 "rules_version": g.rules_version, "body": g.model_dump(mode="json")}
                for g in grids
            ]
            + [
                {"code": key[0], "version": key[1], "channel": grid.channel,
                 "rules_version": "v1", "body": grid.model_dump(mode="json")}
                for key, grid in v1_grids.items()
            ],
        )  # fmt: skip
        for g in grids:
            _shapes.setdefault((g.code, g.version), grid_shape(g))
        stored = {row.audit_id: row for row in await repo.stored_audits(session, list(winners))}
        # Audits parked earlier whose grid arrives now (and are not superseded in this batch).
        parked = await repo.pending_audits(session, sorted(grid_keys))
        if parked:
            more = sorted({r.edition_id for r in parked} - set(edition_ids))
            await repo.lock(
                session,
                shared=[repo.lock_key("edition", e) for e in more],
                exclusive=[repo.lock_key("audit", r.audit_id) for r in parked]
                + [repo.lock_key("structure", r.structure_id) for r in parked],
            )
            edition_ids = sorted({*edition_ids, *more})
        changes: list[tuple[IncomingAudit | None, IncomingAudit | None]] = []  # (old, new)
        for audit_id, audit in winners.items():
            row = stored.get(audit_id)
            if row is None:
                changes.append((None, audit))
                continue
            held = from_stored(row)
            if audit.precedence <= held.precedence:
                continue  # an older revision (or a redelivery) arriving late changes nothing
            changes.append((held if row.status == "scored" else None, audit))
        # A parked audit is scored now unless this batch brings a newer revision of it.
        superseded = {new.audit_id for _, new in changes if new is not None}
        revived = [from_stored(row) for row in parked if row.audit_id not in superseded]
        revived_ids = {r.audit_id for r in revived}
        for v1_key, v1_grid in v1_grids.items():
            if v1_key not in _shapes:
                _shapes[v1_key] = shape_from_body(v1_key, v1_grid.model_dump(mode="json"))
        needed = {a.grid_key for pair in changes for a in pair if a is not None}
        await load_shapes(session, needed | {a.grid_key for a in revived})

        states = await self._edition_states(session, edition_ids)
        per_edition: dict[uuid.UUID, EditionBatch] = {
            e: EditionBatch(state=s, settings=ScoringSettings.from_json(s.settings))
            for e, s in states.items()
        }
        deltas: dict[tuple[Any, ...], CellDelta] = defaultdict(CellDelta)
        audit_rows: list[dict[str, Any]] = []
        announced: list[AuditScoredV1] = []  # the per-audit event, when still published

        def contribute(audit: IncomingAudit, scored: ScoredAudit, sign: int) -> None:
            state = per_edition[audit.edition_id].state
            generations = [state.generation]
            cursor = state.rescore_cursor
            replayed = cursor is not None and audit.audit_id <= cursor
            if state.building_generation is not None and replayed:
                # The re-score has replayed this audit already: it follows the change too.
                generations.append(state.building_generation)
            for generation in generations:
                key = (generation, audit.edition_id, audit.structure_id, audit.payload.site_id,
                       audit.payload.channel, *audit.grid_key)  # fmt: skip
                deltas[key].add(_shapes[audit.grid_key], scored, sign)

        for old, new in [*changes, *((None, r) for r in revived)]:
            assert new is not None
            edition = per_edition[new.edition_id]
            if old is not None:
                contribute(old, score(old, _shapes[old.grid_key]), -1)
                edition.structures.add(old.structure_id)
            shape = _shapes.get(new.grid_key)
            try:
                scored = score(new, shape) if shape is not None else None
            except UnscorableAuditEvent as exc:
                if new.audit_id not in revived_ids:
                    raise  # an event of this batch: the base isolates and dead-letters it
                # A parked audit that does not fit its grid must not fail the grid's batch.
                audit_rows.append({**audit_row(new, shape, None), "status": "rejected",
                                   "rejection": str(exc)[:2000]})  # fmt: skip
                continue
            if scored is not None and shape is not None:
                contribute(new, scored, +1)
                edition.structures.add(new.structure_id)
                held = edition.candidates.get(new.structure_id)
                if held is None or attributes_key(new) > attributes_key(held):
                    edition.candidates[new.structure_id] = new
                edition.audits.append(audit_score(new, scored, shape))
                if self.options.publish_audit_scores:
                    announced.append(
                        AuditScoredV1.model_construct(
                            audit_id=new.audit_id,
                            edition_id=new.edition_id,
                            structure_id=new.structure_id,
                            site_id=new.payload.site_id,
                            channel=new.payload.channel,
                            score=display(scored.score),
                            points_obtained=scored.obtained,
                            points_possible=scored.possible,
                        )
                    )
            audit_rows.append(audit_row(new, shape, scored))

        await repo.upsert_audits(session, audit_rows)
        await repo.add_to_cells(session, cell_rows(deltas))
        for edition_id, voice_list in group_by_edition(voices).items():
            per_edition[edition_id].perceived = await voice_service.apply(
                session, voice_list, per_edition[edition_id].settings
            )
        for edition_id, edition in per_edition.items():
            await self._announce(session, edition_id, edition)
        if announced:
            for edition_id, messages in group_by_edition(announced).items():
                await add_many(self.outbox, session, messages, edition=edition_id)

    async def _edition_states(
        self, session: AsyncSession, edition_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, EditionState]:
        if not edition_ids:
            return {}
        states = {s.edition_id: s for s in await repo.edition_states(session, edition_ids)}
        missing = [e for e in edition_ids if e not in states]
        if missing:
            configured = {s.edition_id: s for s in await repo.edition_settings_of(session, missing)}
            await repo.create_edition_states(
                session,
                [
                    {"edition_id": e, "generation": 1,
                     "settings": settings_from_row(configured.get(e)).as_json()}
                    for e in missing
                ],
            )  # fmt: skip
            states = {s.edition_id: s for s in await repo.edition_states(session, edition_ids)}
        return states

    async def _announce(
        self, session: AsyncSession, edition_id: uuid.UUID, edition: EditionBatch
    ) -> None:
        generation = edition.state.generation
        structures = await refresh_structures(
            session, generation, edition_id, sorted(edition.structures), edition.settings,
            edition.candidates,
        )  # fmt: skip
        groups = await refresh_groups(
            session, generation, edition_id, edition.settings,
            touched=touched_groups(structures),
            older_than_seconds=self.options.group_refresh_seconds,
        )  # fmt: skip
        await announce(self.outbox, session, edition_id, generation, structures, groups,
                       edition.perceived, audits=edition.audits)  # fmt: skip


def attributes_key(audit: IncomingAudit) -> str:
    return audit.attributes_key


def settings_from_row(row: Any) -> ScoringSettings:
    if row is None:
        return ScoringSettings()
    return ScoringSettings(
        performing_threshold=row.performing_threshold,
        channel_weights={k: Decimal(v) for k, v in row.channel_weights.items()},
        min_voice_responses=row.min_voice_responses,
    )


EditionPayload = TypeVar("EditionPayload", CitizenVoiceReceivedV1, AuditScoredV1)


def group_by_edition(payloads: Sequence[EditionPayload]) -> dict[uuid.UUID, list[EditionPayload]]:
    out: dict[uuid.UUID, list[EditionPayload]] = defaultdict(list)
    for payload in payloads:
        out[payload.edition_id].append(payload)
    return out


async def add_many(
    outbox: Outbox, session: AsyncSession, payloads: Sequence[Payload], *, edition: uuid.UUID
) -> None:
    """Several outbox rows in one statement. The shared outbox gains `add_many` on the
    throughput branch; until it is merged, the same insert is done here."""
    if hasattr(outbox, "add_many"):
        await outbox.add_many(session, payloads, edition=edition)
        return
    envelopes = [new_event(p, edition=edition) for p in payloads]
    await repo.unnest_upsert(
        session, outbox.table,
        [{"event_id": e.id, "subject": e.subject, "envelope": e.model_dump(mode="json")}
         for e in envelopes],
        conflict=["event_id"], updates={},
    )  # fmt: skip


def audit_score(audit: IncomingAudit, scored: ScoredAudit, shape: GridShape) -> dict[str, Any]:
    """An `AuditScoreV1` in its JSON form (built from values computed here, of the right
    types: no model to validate and dump again)."""
    return {
        "audit_id": audit.audit_id,
        "structure_id": audit.structure_id,
        "site_id": audit.payload.site_id,
        "channel": audit.payload.channel,
        "revision": audit.revision,
        "score": display(scored.score),
        "score_exact": scored.score,
        "methodology": shape.methodology,
    }


def audit_row(
    audit: IncomingAudit, shape: GridShape | None, scored: ScoredAudit | None
) -> dict[str, Any]:
    p = audit.payload
    return {
        "audit_id": p.audit_id,
        "edition_id": p.edition_id,
        "revision": audit.revision,
        "validated_at": p.validated_at,
        "event_id": audit.event_id,
        "subject": audit.subject,
        "payload": to_json(
            audit.raw if audit.raw is not None else p.model_dump(mode="json")
        ).decode(),
        "structure_id": p.structure_id,
        "site_id": p.site_id,
        "channel": p.channel,
        "stratum_code": audit.stratum_code,
        "structure_type": audit.structure_type,
        "certified": audit.certified,
        "grid_code": audit.grid_key[0],
        "grid_version": audit.grid_key[1],
        "status": "scored" if scored is not None else "pending",
        "rejection": None,
        "score": scored.score if scored else None,
        "points_obtained": scored.obtained if scored else None,
        "points_possible": scored.possible if scored else None,
        "methodology": shape.methodology if shape and scored else None,
    }


def cell_rows(deltas: Mapping[tuple[Any, ...], CellDelta]) -> list[dict[str, Any]]:
    rows = []
    for key, delta in sorted(deltas.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        generation, edition_id, structure_id, site_id, channel, grid_code, grid_version = key
        rows.append(
            {
                "generation": generation, "edition_id": edition_id,
                "structure_id": structure_id, "site_id": site_id, "channel": channel,
                "grid_code": grid_code, "grid_version": grid_version,
                "audits": delta.audits, "score_total": delta.score_total,
                "score_squares": delta.score_squares,
                "item_totals": delta.totals["item"], "item_counts": delta.counts["item"],
                "criterion_totals": delta.totals["criterion"],
                "criterion_counts": delta.counts["criterion"],
                "step_totals": delta.totals["journey_step"],
                "step_counts": delta.counts["journey_step"],
            }
        )  # fmt: skip
    return rows


def cell_row(cell: Any) -> CellRow:
    return CellRow(
        site_id=str(cell.site_id),
        channel=cell.channel,
        grid_code=cell.grid_code,
        grid_version=cell.grid_version,
        audits=cell.audits,
        score_total=cell.score_total,
        score_squares=cell.score_squares,
        totals={
            "item": cell.item_totals,
            "criterion": cell.criterion_totals,
            "journey_step": cell.step_totals,
        },
        counts={
            "item": cell.item_counts,
            "criterion": cell.criterion_counts,
            "journey_step": cell.step_counts,
        },
    )


async def refresh_structures(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    structure_ids: Sequence[uuid.UUID],
    settings: ScoringSettings,
    candidates: Mapping[uuid.UUID, IncomingAudit],
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Re-derive structures from their cells; returns (new row, old row's groups) pairs."""
    if not structure_ids:
        return []
    cells: dict[uuid.UUID, list[CellRow]] = defaultdict(list)
    keys: set[GridKey] = set()
    for cell in await repo.cells_of(session, generation, edition_id, structure_ids):
        cells[cell.structure_id].append(cell_row(cell))
        keys.add((cell.grid_code, cell.grid_version))
    await load_shapes(session, keys)
    held = {
        r.structure_id: r
        for r in await repo.structure_attributes_of(session, generation, edition_id, structure_ids)
    }
    out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for structure_id in structure_ids:
        old = held.get(structure_id)
        candidate = candidates.get(structure_id)
        if candidate is not None and (
            old is None or attributes_key(candidate) > old.attributes_as_of
        ):
            attrs = {
                "stratum_code": candidate.stratum_code,
                "structure_type": candidate.structure_type,
                "certified": candidate.certified,
                "attributes_as_of": attributes_key(candidate),
            }
        elif old is not None:
            attrs = {
                "stratum_code": old.stratum_code,
                "structure_type": old.structure_type,
                "certified": old.certified,
                "attributes_as_of": old.attributes_as_of,
            }
        else:
            continue
        overall, audits, figures = structure_figures(cells[structure_id], _shapes, settings)
        row = {
            "generation": generation,
            "edition_id": edition_id,
            "structure_id": structure_id,
            **attrs,
            "audits": audits,
            "score": overall,
            "figures": figures,
            "version": (old.version if old is not None else 0) + 1,
        }
        previous = None
        if old is not None:
            previous = {
                "stratum_code": old.stratum_code,
                "structure_type": old.structure_type,
                "certified": old.certified,
            }
        out.append((row, previous))
    await repo.upsert_structures(session, [row for row, _ in out])
    return out


def touched_groups(
    structures: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
) -> set[tuple[str, str]]:
    touched: set[tuple[str, str]] = set()
    for row, previous in structures:
        for attrs in (row, previous):
            if attrs is not None:
                touched.update(
                    groups_of(attrs["stratum_code"], attrs["structure_type"], attrs["certified"])
                )
    return touched


async def refresh_groups(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    settings: ScoringSettings,
    *,
    touched: set[tuple[str, str]],
    older_than_seconds: float,
) -> list[GroupFiguresV1]:
    """Mark the touched groups dirty; recompute the dirty ones that are due, from every
    structure of the edition (one read), and store them clean."""
    await repo.mark_groups_dirty(
        session,
        [
            {"generation": generation, "edition_id": edition_id, "kind": kind, "key": key}
            for kind, key in sorted(touched)
        ],
    )
    due = await repo.due_groups(
        session, generation, edition_id, older_than_seconds=older_than_seconds
    )
    if not due:
        return []
    figures = await compute_groups(
        session, generation, edition_id, settings, [(g.kind, g.key) for g in due]
    )
    await repo.save_groups(
        session,
        [
            {"generation": generation, "edition_id": edition_id, "kind": kind, "key": key,
             "structures": f["structures"], "audits": f["audits"], "figures": f}
            for (kind, key), f in figures.items()
        ],
    )  # fmt: skip
    return [group_payload(kind, key, f) for (kind, key), f in figures.items()]


async def compute_groups(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    settings: ScoringSettings,
    wanted: Sequence[tuple[str, str]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """The statistics of these groups of a generation, from sums and a few ranked scores
    PostgreSQL computes over the group's structures (`repository.group_sums`): a refresh
    reads a handful of values per group, not every structure of the edition."""
    quantiles = list(QUANTILES.values())
    found: dict[tuple[str, str], GroupSums] = {}
    for row in await repo.group_sums(
        session, generation, edition_id, wanted, settings.performing_threshold, quantiles
    ):
        n = int(row.scored)
        picked = [None if v is None else scaled(v) for v in row.picked]
        at_rank: dict[int, int] = {}
        if n:
            ranks = [0, n - 1] + [
                r for a, b in quantiles for r in (a * (n - 1) // b, a * (n - 1) // b + 1)
            ]
            at_rank = {r: v for r, v in zip(ranks, picked, strict=True) if v is not None}
        found[(row.kind, row.key)] = GroupSums(
            scored=n,
            audits=int(row.audits),
            total=scaled(row.total),
            squares=scaled_squares(row.squares),
            performing=int(row.performing),
            at_rank=at_rank,
        )
    empty = GroupSums(scored=0, audits=0, total=0, squares=0, performing=0, at_rank={})
    return {g: group_statistics(found.get(g, empty), settings.performing_threshold) for g in wanted}


def group_payload(kind: str, key: str, figures: Mapping[str, Any]) -> GroupFiguresV1:
    assert kind in GROUP_KINDS
    return GroupFiguresV1.model_validate({"kind": kind, "key": key, **figures})


def structure_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `StructureFiguresV1` in its JSON form, from a structure row (its figures are built
    in that form by `structure_figures`)."""
    f = row["figures"]
    return {
        "structure_id": row["structure_id"],
        "stratum_code": row["stratum_code"],
        "structure_type": row["structure_type"],
        "certified": row["certified"],
        "audits": row["audits"],
        "score": row["score"],
        "version": row.get("version"),
        "channels": f["channels"],
        "sites": f["sites"],
        "criteria": f["criterion"],
        "journey_steps": f["journey_step"],
        "items": f["item"],
    }


async def announce(
    outbox: Outbox,
    session: AsyncSession,
    edition_id: uuid.UUID,
    generation: int,
    structures: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
    groups: Sequence[GroupFiguresV1],
    perceived: Sequence[PerceivedQualityV1],
    *,
    full: bool = False,
    audits: Sequence[Mapping[str, Any]] = (),
) -> None:
    """One `scoring.scores.updated.v1` per batch and edition (more when it names many
    structures or audits, `STRUCTURES_PER_EVENT` / `AUDITS_PER_EVENT` each; groups and
    perceived quality ride the first). Payloads are built in their JSON form and encoded
    once (`Outbox.add_encoded`); `tests/scoring` checks they read back as the contract."""
    payloads = [structure_payload(row) for row, _ in structures]
    if not payloads and not groups and not perceived and not audits:
        return
    chunks = [
        payloads[i : i + STRUCTURES_PER_EVENT]
        for i in range(0, len(payloads), STRUCTURES_PER_EVENT)
    ]
    audit_chunks = [
        list(audits[i : i + AUDITS_PER_EVENT]) for i in range(0, len(audits), AUDITS_PER_EVENT)
    ]
    first_groups = [g.model_dump(mode="json") for g in groups]
    first_perceived = [p.model_dump(mode="json") for p in perceived]
    messages = [
        {
            "edition_id": edition_id,
            "generation": generation,
            "full": full,
            "structures": chunks[index] if index < len(chunks) else [],
            "groups": first_groups if index == 0 else [],
            "perceived": first_perceived if index == 0 else [],
            "audits": audit_chunks[index] if index < len(audit_chunks) else [],
        }
        for index in range(max(len(chunks), len(audit_chunks), 1))
    ]
    await outbox.add_encoded(session, SCORES_UPDATED, messages, edition=edition_id)


async def settle(
    outbox: Outbox, session: AsyncSession, generation: int, edition_id: uuid.UUID
) -> int:
    """Refresh every dirty group of an edition now (the idle flush after throttled batches)."""
    states = await repo.edition_states(session, [edition_id])
    if not states or states[0].generation != generation:
        return 0
    settings = ScoringSettings.from_json(states[0].settings)
    groups = await refresh_groups(
        session, generation, edition_id, settings, touched=set(), older_than_seconds=0
    )
    await announce(outbox, session, edition_id, generation, [], groups, [])
    return len(groups)
