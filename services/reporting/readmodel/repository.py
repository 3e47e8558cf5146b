"""Every write of the read model, set-based: upserts of what events carry, and the edition-wide
refresh of flattened figures, ranks, percentiles and group statistics."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.models import Audit, Document, Edition, Participant, StructureFigures


async def ensure_edition(session: AsyncSession, edition_id: uuid.UUID, **values: Any) -> None:
    """Create the edition's row if absent (events of other streams may come first), then set
    the given values."""
    statement = insert(Edition).values(edition_id=edition_id, **values)
    if values:
        statement = statement.on_conflict_do_update(
            index_elements=[Edition.edition_id], set_=values
        )
    else:
        statement = statement.on_conflict_do_nothing()
    await session.execute(statement)


async def edition_state(session: AsyncSession, edition_id: uuid.UUID) -> tuple[int, int | None]:
    """(generation, year) of an edition, locking its row: one refresh at a time per edition."""
    row = (
        await session.execute(
            select(Edition.generation, Edition.year)
            .where(Edition.edition_id == edition_id)
            .with_for_update()
        )
    ).one()
    return row.generation, row.year


async def set_generation(session: AsyncSession, edition_id: uuid.UUID, generation: int) -> None:
    await session.execute(
        update(Edition).where(Edition.edition_id == edition_id).values(generation=generation)
    )


async def bump_version(session: AsyncSession, edition_id: uuid.UUID) -> None:
    """Move the version of the edition and of every later one (their "change since the previous
    edition" may read this one): cached answers and ETags of those become stale."""
    year = select(Edition.year).where(Edition.edition_id == edition_id).scalar_subquery()
    await session.execute(
        update(Edition)
        .where((Edition.edition_id == edition_id) | (Edition.year > year))
        .values(version=Edition.version + 1)
    )


async def mark_stale(session: AsyncSession, edition_id: uuid.UUID) -> None:
    await session.execute(
        update(Edition).where(Edition.edition_id == edition_id).values(stale=True)
    )


async def clear_stale(session: AsyncSession, edition_id: uuid.UUID) -> None:
    await session.execute(
        update(Edition).where(Edition.edition_id == edition_id).values(stale=False)
    )


async def claim_stale(session: AsyncSession) -> uuid.UUID | None:
    """An edition to refresh, locked; another replica skips it."""
    found: uuid.UUID | None = await session.scalar(
        select(Edition.edition_id)
        .where(Edition.stale.is_(True))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return found


async def set_dispatch(session: AsyncSession, edition_id: uuid.UUID, day: date | None) -> None:
    await session.execute(
        update(Edition).where(Edition.edition_id == edition_id).values(results_dispatch_on=day)
    )


async def upsert_participant(session: AsyncSession, values: dict[str, Any]) -> None:
    keys = ("edition_id", "structure_id")
    await session.execute(
        insert(Participant)
        .values(**values)
        .on_conflict_do_update(
            index_elements=list(keys), set_={k: v for k, v in values.items() if k not in keys}
        )
    )


async def update_participant(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID, **values: Any
) -> None:
    await session.execute(
        update(Participant)
        .where(Participant.edition_id == edition_id, Participant.structure_id == structure_id)
        .values(**values)
    )


async def upsert_audits(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Keep each audit's highest revision (an older one arriving late changes nothing)."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = list(rows[start : start + ROWS_PER_STATEMENT])
        statement = insert(Audit).values(chunk)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[Audit.audit_id],
                set_={c: statement.excluded[c] for c in chunk[0] if c != "audit_id"},
                where=Audit.revision < statement.excluded.revision,
            )
        )


async def drop_figures(session: AsyncSession, edition_id: uuid.UUID) -> None:
    await session.execute(delete(StructureFigures).where(StructureFigures.edition_id == edition_id))


ROWS_PER_STATEMENT = 1000  # PostgreSQL takes at most 32,767 parameters per statement


async def upsert_figures(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = list(rows[start : start + ROWS_PER_STATEMENT])
        statement = insert(StructureFigures).values(chunk)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[StructureFigures.edition_id, StructureFigures.structure_id],
                set_={
                    c: statement.excluded[c]
                    for c in chunk[0]
                    if c not in ("edition_id", "structure_id")
                },
                # Figures without a version (a re-score's, an older scoring's) always replace.
                where=StructureFigures.version.is_(None)
                | statement.excluded.version.is_(None)
                | (StructureFigures.version < statement.excluded.version)
                | (StructureFigures.generation != statement.excluded.generation),
            )
        )


async def set_perceived(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Perceived quality rides on structures' rows; one UPDATE for the batch (not over the
    figures of a later version)."""
    if not rows:
        return
    await session.execute(
        text(
            "UPDATE structure_figures f SET perceived = p.perceived "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            "AS p(edition_id uuid, structure_id uuid, perceived jsonb, version bigint) "
            "WHERE f.edition_id = p.edition_id AND f.structure_id = p.structure_id "
            "AND (f.version IS NULL OR p.version IS NULL OR f.version <= p.version)"
        ),
        {"rows": _json(rows)},
    )


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


def _quantile(p: str) -> str:
    """Exact linear interpolation between closest ranks (PostgreSQL's percentile_cont, done in
    numeric on the sorted array `a` of `n` scores, since percentile_cont works in float)."""
    pos = f"({p} * (n - 1))"
    low = f"floor({pos})::int"
    return (
        f"(a[{low} + 1] + ({pos} - {low}) * (a[least({low} + 2, n)] - a[{low} + 1]))"
        f"::numeric(14, 10)"
    )


_FLATTEN = """
    SELECT f.edition_id, f.structure_id, 'overall' AS dimension, '' AS key, f.stratum_code,
           f.structure_type, f.certified, f.score, f.audits,
           (f.figures ->> 'overall_sum_squares')::numeric AS sum_squares
      FROM structure_figures f
     WHERE f.edition_id = :edition_id AND f.score IS NOT NULL
    UNION ALL
    SELECT f.edition_id, f.structure_id, d.dimension, e.key, f.stratum_code, f.structure_type,
           f.certified, (e.value ->> 'score')::numeric, (e.value ->> 'audits')::int,
           (e.value ->> 'sum_squares')::numeric
      FROM structure_figures f
     CROSS JOIN (VALUES ('channel', 'channels'), ('journey_step', 'journey_steps'),
                        ('criterion', 'criteria'), ('item', 'items')) AS d(dimension, field)
     CROSS JOIN LATERAL jsonb_each(f.figures -> d.field) AS e
     WHERE f.edition_id = :edition_id
"""

_RANKED = f"""
    INSERT INTO figure_values (edition_id, structure_id, dimension, key, stratum_code,
        structure_type, certified, score, audits, sum_squares, stratum_rank, stratum_size,
        stratum_percentile, sample_rank, sample_size, sample_percentile)
    SELECT edition_id, structure_id, dimension, key, stratum_code, structure_type, certified,
           score, audits, sum_squares,
           rank() OVER (PARTITION BY dimension, key, stratum_code ORDER BY score DESC),
           count(*) OVER (PARTITION BY dimension, key, stratum_code),
           round(100 * ((rank() OVER (PARTITION BY dimension, key, stratum_code ORDER BY score) - 1)
                 + 0.5 * count(*) OVER (PARTITION BY dimension, key, stratum_code, score))
                 / count(*) OVER (PARTITION BY dimension, key, stratum_code), 4),
           rank() OVER (PARTITION BY dimension, key ORDER BY score DESC),
           count(*) OVER (PARTITION BY dimension, key),
           round(100 * ((rank() OVER (PARTITION BY dimension, key ORDER BY score) - 1)
                 + 0.5 * count(*) OVER (PARTITION BY dimension, key, score))
                 / count(*) OVER (PARTITION BY dimension, key), 4)
      FROM ({_FLATTEN}) AS flat
"""

_GROUPS = f"""
    INSERT INTO group_stats (edition_id, kind, group_key, dimension, key, structures, audits,
        mean, median, q1, q3, p10, p90, performing)
    SELECT :edition_id, kind, group_key, dimension, key, n, audits,
           (total / n)::numeric(14, 10), {_quantile("0.5")}, {_quantile("0.25")},
           {_quantile("0.75")}, {_quantile("0.1")}, {_quantile("0.9")}, performing
      FROM (
        SELECT g.kind, g.group_key, v.dimension, v.key, count(*)::int AS n,
               sum(v.audits)::int AS audits, sum(v.score) AS total,
               array_agg(v.score ORDER BY v.score) AS a,
               (count(*) FILTER (WHERE v.score >= :threshold))::int AS performing
          FROM figure_values v
         CROSS JOIN LATERAL (VALUES ('sample', ''), ('stratum', v.stratum_code),
                 ('structure_type', v.structure_type),
                 ('certified', CASE WHEN v.certified THEN 'true' ELSE 'false' END))
               AS g(kind, group_key)
         WHERE v.edition_id = :edition_id
         GROUP BY g.kind, g.group_key, v.dimension, v.key
      ) AS grouped
"""


async def refresh(session: AsyncSession, edition_id: uuid.UUID, threshold: Decimal) -> None:
    """Rebuild the edition's flattened figures with their ranks, then its group statistics:
    three set-based statements, whatever the number of structures."""
    params = {"edition_id": edition_id}
    await session.execute(text("DELETE FROM figure_values WHERE edition_id = :edition_id"), params)
    await session.execute(text(_RANKED), params)
    await session.execute(text("DELETE FROM group_stats WHERE edition_id = :edition_id"), params)
    await session.execute(text(_GROUPS), {**params, "threshold": threshold})


async def structures_count(session: AsyncSession, edition_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(StructureFigures)
            .where(StructureFigures.edition_id == edition_id)
        )
        or 0
    )


async def edition_exists(session: AsyncSession, edition_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Edition.edition_id).where(Edition.edition_id == edition_id))
    return found is not None


async def stored_settings(session: AsyncSession, edition_id: uuid.UUID) -> dict[str, Any]:
    value = await session.scalar(select(Edition.settings).where(Edition.edition_id == edition_id))
    return dict(value or {})


async def store_settings(
    session: AsyncSession, edition_id: uuid.UUID, settings: dict[str, Any]
) -> None:
    await session.execute(
        update(Edition).where(Edition.edition_id == edition_id).values(settings=settings)
    )


# --- what every read needs first: the edition's state and a cached answer ------------------


@dataclass(frozen=True)
class EditionView:
    edition_id: uuid.UUID
    year: int | None
    name: str
    status: str
    results_dispatch_on: date | None
    version: int
    settings: dict[str, Any]
    laureates_published: bool
    cached_version: int | None
    cached_body: bytes | None


async def edition_view(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID, kind: str
) -> EditionView | None:
    """The edition and its cached `kind` answer for a structure (nil UUID for edition-wide
    answers), in one indexed query."""
    row = (
        await session.execute(
            select(
                Edition.edition_id,
                Edition.year,
                Edition.name,
                Edition.status,
                Edition.results_dispatch_on,
                Edition.version,
                Edition.settings,
                Edition.laureates_published_at,
                Document.version.label("cached_version"),
                Document.body,
            )
            .outerjoin(
                Document,
                (Document.edition_id == Edition.edition_id)
                & (Document.structure_id == structure_id)
                & (Document.kind == kind),
            )
            .where(Edition.edition_id == edition_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return EditionView(
        edition_id=row.edition_id,
        year=row.year,
        name=row.name,
        status=row.status,
        results_dispatch_on=row.results_dispatch_on,
        version=row.version,
        settings=dict(row.settings or {}),
        laureates_published=row.laureates_published_at is not None,
        cached_version=row.cached_version,
        cached_body=row.body,
    )


async def store_document(
    session: AsyncSession,
    edition_id: uuid.UUID,
    structure_id: uuid.UUID,
    kind: str,
    version: int,
    body: bytes,
) -> None:
    statement = insert(Document).values(
        edition_id=edition_id, structure_id=structure_id, kind=kind, version=version, body=body
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Document.edition_id, Document.structure_id, Document.kind],
            set_={"version": statement.excluded.version, "body": statement.excluded.body},
            where=Document.version < statement.excluded.version,
        )
    )
