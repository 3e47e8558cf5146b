"""Every query of scoring's aggregates: set-based, one statement per step of a batch."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

from pydantic_core import to_json
from sqlalchemy import (
    ARRAY,
    Column,
    Table,
    Uuid,
    bindparam,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import (
    Audit,
    Cell,
    EditionSettings,
    EditionState,
    Grid,
    GroupStats,
    StructureScore,
)

AUDITS = cast(Table, Audit.__table__)
CELLS = cast(Table, Cell.__table__)
STRUCTURES = cast(Table, StructureScore.__table__)
GROUPS = cast(Table, GroupStats.__table__)
GRIDS = cast(Table, Grid.__table__)
STATES = cast(Table, EditionState.__table__)

MAX_ROWS_PER_STATEMENT = 1000  # keeps bind parameters under asyncpg's 32,767


def lock_key(kind: str, value: object) -> int:
    """A stable signed 64-bit advisory-lock key for an entity."""
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock(
    session: AsyncSession, *, shared: Iterable[int] = (), exclusive: Iterable[int] = ()
) -> None:
    """Transaction-scoped advisory locks, taken in key order (no deadlock between batches):
    `unnest` keeps the order of the array, which is sorted."""
    for function, keys in (
        ("pg_advisory_xact_lock_shared", sorted(set(shared))),
        ("pg_advisory_xact_lock", sorted(set(exclusive))),
    ):
        if keys:
            await session.execute(
                text(f"SELECT count({function}(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                {"keys": keys},
            )


def _pg_type(column: Column[Any]) -> str:
    return str(column.type.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


def _array_literal(values: Sequence[Any]) -> str:
    return "{" + ",".join(str(v) for v in values) + "}"


async def unnest_upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    updates: dict[str, str],
) -> None:
    """`INSERT ... SELECT FROM unnest(<one array per column>) ON CONFLICT DO UPDATE`: a whole
    batch of rows in one statement, one bind parameter per column (PostgreSQL plans and runs
    it once, where an executemany runs the statement once per row). Array and JSON columns
    travel as text and are cast per row, since `unnest` would flatten nested arrays."""
    if not rows:
        return
    names = list(rows[0])
    params: dict[str, Any] = {}
    sources, selects = [], []
    for i, name in enumerate(names):
        column = table.c[name]
        kind = _pg_type(column)
        values = [row[name] for row in rows]
        if isinstance(column.type, ARRAY):
            params[f"p{i}"] = [None if v is None else _array_literal(v) for v in values]
            sources.append(f"CAST(:p{i} AS text[])")
            selects.append(f"CAST(c{i} AS {kind})")
        elif isinstance(column.type, JSONB):
            params[f"p{i}"] = [None if v is None else to_json(v).decode() for v in values]
            sources.append(f"CAST(:p{i} AS text[])")
            selects.append(f"CAST(c{i} AS jsonb)")
        else:
            params[f"p{i}"] = values
            sources.append(f"CAST(:p{i} AS {kind}[])")
            selects.append(f"c{i}")
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(sources)}) AS u({aliases}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO "
        + (
            "NOTHING"
            if not updates
            else "UPDATE SET " + ", ".join(f"{k} = {v}" for k, v in updates.items())
        )
    )
    await session.execute(text(sql), params)


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), MAX_ROWS_PER_STATEMENT):
        yield rows[start : start + MAX_ROWS_PER_STATEMENT]


# --- editions -------------------------------------------------------------------------------


async def edition_settings(session: AsyncSession, edition_id: uuid.UUID) -> EditionSettings | None:
    found: EditionSettings | None = await session.get(EditionSettings, edition_id)
    return found


async def edition_settings_of(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> Sequence[EditionSettings]:
    return (
        await session.scalars(
            select(EditionSettings).where(EditionSettings.edition_id.in_(edition_ids))
        )
    ).all()


async def save_edition_settings(session: AsyncSession, values: dict[str, Any]) -> None:
    update_values = {k: v for k, v in values.items() if k != "edition_id"}
    await session.execute(
        insert(EditionSettings)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[EditionSettings.edition_id],
            set_={**update_values, "updated_at": func.now()},
        )
    )


async def create_edition_states(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(STATES).on_conflict_do_nothing(), list(rows))


async def edition_states(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID], *, for_update: bool = False
) -> Sequence[EditionState]:
    query = select(EditionState).where(EditionState.edition_id.in_(edition_ids))
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query.execution_options(populate_existing=True))).all()


# --- grids ----------------------------------------------------------------------------------


async def grids(session: AsyncSession, keys: Iterable[tuple[str, int]]) -> Sequence[Any]:
    wanted = list(keys)
    if not wanted:
        return []
    return (
        await session.execute(
            select(Grid.code, Grid.version, Grid.body).where(
                tuple_(Grid.code, Grid.version).in_(wanted)
            )
        )
    ).all()


async def insert_grids(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(GRIDS).on_conflict_do_nothing(), list(rows))


async def list_grids(
    session: AsyncSession, *, after: tuple[str, int] | None, limit: int
) -> Sequence[Grid]:
    query = select(Grid).order_by(Grid.code, Grid.version).limit(limit)
    if after is not None:
        query = query.where(tuple_(Grid.code, Grid.version) > after)
    return (await session.scalars(query)).all()


# --- audits ---------------------------------------------------------------------------------


async def stored_audits(session: AsyncSession, audit_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    if not audit_ids:
        return []
    t = AUDITS
    return (await session.execute(select(t).where(t.c.audit_id.in_(audit_ids)))).all()


async def pending_audits(
    session: AsyncSession, grid_keys: Sequence[tuple[str, int]]
) -> Sequence[Audit]:
    if not grid_keys:
        return []
    return (
        await session.scalars(
            select(Audit)
            .where(
                Audit.status == "pending",
                tuple_(Audit.grid_code, Audit.grid_version).in_(grid_keys),
            )
            .execution_options(populate_existing=True)
        )
    ).all()


async def upsert_audits(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    await unnest_upsert(
        session, AUDITS, rows, conflict=["audit_id"],
        updates={**{c: f"excluded.{c}" for c in rows[0] if c != "audit_id"}, "scored_at": "now()"},
    )  # fmt: skip


async def audits_page(
    session: AsyncSession,
    edition_id: uuid.UUID,
    *,
    structure_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[Audit]:
    query = select(Audit).where(Audit.edition_id == edition_id).order_by(Audit.audit_id)
    if structure_id is not None:
        query = query.where(Audit.structure_id == structure_id)
    if after is not None:
        query = query.where(Audit.audit_id > after)
    return (await session.scalars(query.limit(limit))).all()


async def structure_audits(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> Sequence[Audit]:
    return (
        await session.scalars(
            select(Audit)
            .where(
                Audit.edition_id == edition_id,
                Audit.structure_id == structure_id,
                Audit.status == "scored",
            )
            .order_by(Audit.channel, Audit.audit_id)
        )
    ).all()


async def audit(session: AsyncSession, edition_id: uuid.UUID, audit_id: uuid.UUID) -> Audit | None:
    found: Audit | None = await session.scalar(
        select(Audit).where(Audit.edition_id == edition_id, Audit.audit_id == audit_id)
    )
    return found


async def audits_after(
    session: AsyncSession, edition_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[Audit]:
    query = (
        select(Audit)
        .where(Audit.edition_id == edition_id, Audit.status == "scored")
        .order_by(Audit.audit_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Audit.audit_id > after)
    return (await session.scalars(query.execution_options(populate_existing=True))).all()


async def count_scored_audits(session: AsyncSession, edition_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Audit)
            .where(Audit.edition_id == edition_id, Audit.status == "scored")
        )
        or 0
    )


# --- cells ----------------------------------------------------------------------------------


async def add_to_cells(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add deltas to cells (created at their first audit): one statement per batch."""
    arrays = {
        f"{level}_{part}": f"add_{kind}_arrays(cells.{level}_{part}, excluded.{level}_{part})"
        for level in ("item", "criterion", "step")
        for part, kind in (("totals", "numeric"), ("counts", "int"))
    }
    await unnest_upsert(
        session, CELLS, rows,
        conflict=[c.name for c in CELLS.primary_key],
        updates={
            "audits": "cells.audits + excluded.audits",
            "score_total": "cells.score_total + excluded.score_total",
            "score_squares": "cells.score_squares + excluded.score_squares",
            **arrays,
        },
    )  # fmt: skip


def _units(column: str) -> str:
    """A numeric(40,10) array as bigint units of 10^-10, in its order (exact: a cell's sums
    stay far below 2^63 units; an overflow would fail the statement, never round)."""
    return (
        f"ARRAY(SELECT (v * 10000000000)::bigint FROM unnest(c.{column}) WITH ORDINALITY"
        f" AS u(v, i) ORDER BY i) AS {column}"
    )


_CELLS_IN_UNITS = text(
    "SELECT c.structure_id, c.site_id, c.channel, c.grid_code, c.grid_version, c.audits,"
    " (c.score_total * 10000000000)::bigint AS score_total, c.score_squares, "
    + ", ".join(
        _units(f"{level}_totals") + f", c.{level}_counts" for level in ("item", "criterion", "step")
    )
    + " FROM cells c WHERE c.generation = :generation AND c.edition_id = :edition_id"
    " AND c.structure_id = ANY(CAST(:ids AS uuid[]))"
)


async def cells_of(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    structure_ids: Sequence[uuid.UUID],
) -> Sequence[Any]:
    """The cells of these structures as plain rows, their score sums (`score_total`,
    `*_totals`) as integers in units of 10^-10 (what `rules.structure_figures` adds up), the
    squares as stored."""
    return (
        await session.execute(
            _CELLS_IN_UNITS,
            {"generation": generation, "edition_id": edition_id, "ids": list(structure_ids)},
        )
    ).all()


async def structure_ids_with_cells(
    session: AsyncSession, generation: int, edition_id: uuid.UUID
) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(Cell.structure_id)
            .where(Cell.generation == generation, Cell.edition_id == edition_id)
            .distinct()
        )
    ).all()


# --- structures and groups ------------------------------------------------------------------


async def structure_rows(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    structure_ids: Sequence[uuid.UUID],
) -> Sequence[StructureScore]:
    return (
        await session.scalars(
            select(StructureScore)
            .where(
                StructureScore.generation == generation,
                StructureScore.edition_id == edition_id,
                StructureScore.structure_id.in_(structure_ids),
            )
            .execution_options(populate_existing=True)
        )
    ).all()


async def structure_attributes_of(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    structure_ids: Sequence[uuid.UUID],
) -> Sequence[Any]:
    """What a batch needs of the structures it touches (not their figures), as plain rows."""
    t = STRUCTURES
    return (
        await session.execute(
            select(
                t.c.structure_id,
                t.c.stratum_code,
                t.c.structure_type,
                t.c.certified,
                t.c.attributes_as_of,
                t.c.version,
            ).where(
                t.c.generation == generation,
                t.c.edition_id == edition_id,
                t.c.structure_id == func.any(bindparam("ids", type_=ARRAY(Uuid()))),
            ),
            {"ids": list(structure_ids)},
        )
    ).all()


async def upsert_structures(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    keys = {"generation", "edition_id", "structure_id"}
    if not rows:
        return
    await unnest_upsert(
        session, STRUCTURES, rows, conflict=sorted(keys),
        updates={**{c: f"excluded.{c}" for c in rows[0] if c not in keys}, "updated_at": "now()"},
    )  # fmt: skip


def _group_sums_sql(quantiles: Sequence[tuple[int, int]]) -> str:
    """One statement: per wanted group (kind, key), exact sums over its structures and the
    scores at the ranks `rules.quantile_positions` names (first, last, around each quantile:
    `ordered[r + 1]`, NULL past the end), so no score list leaves PostgreSQL."""
    picks = ", ".join(
        f"ordered[({a} * (scored - 1)) / {b} + 1], ordered[({a} * (scored - 1)) / {b} + 2]"
        for a, b in quantiles
    )
    known = "(stratum_code <> '' OR structure_type <> '')"  # else in the sample only
    return f"""
WITH m AS (
  SELECT score, audits, stratum_code, structure_type, certified FROM structure_scores
  WHERE generation = :generation AND edition_id = :edition_id
), g AS (
  SELECT 'sample' AS kind, '' AS key, score, audits FROM m
  UNION ALL SELECT 'stratum', stratum_code, score, audits FROM m WHERE {known}
  UNION ALL SELECT 'structure_type', structure_type, score, audits FROM m WHERE {known}
  UNION ALL SELECT 'certified', CASE WHEN certified THEN 'true' ELSE 'false' END, score, audits
    FROM m WHERE {known}
), agg AS (
  SELECT g.kind, g.key, count(score) AS scored, coalesce(sum(audits), 0) AS audits,
    coalesce(sum(score), 0) AS total, coalesce(sum(score * score), 0) AS squares,
    count(*) FILTER (WHERE score >= :threshold) AS performing,
    array_agg(score ORDER BY score) FILTER (WHERE score IS NOT NULL) AS ordered
  FROM g JOIN unnest(CAST(:kinds AS text[]), CAST(:keys AS text[])) AS w(kind, key)
    ON w.kind = g.kind AND w.key = g.key
  GROUP BY g.kind, g.key
)
SELECT kind, key, scored, audits, total, squares, performing,
  ARRAY[ordered[1], ordered[scored], {picks}] AS picked
FROM agg"""


async def group_sums(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    wanted: Sequence[tuple[str, str]],
    threshold: Decimal,
    quantiles: Sequence[tuple[int, int]],
) -> Sequence[Any]:
    """Per wanted group that has structures: (kind, key, scored, audits, total, squares,
    performing, picked) — see `_group_sums_sql`. A group without structures is absent."""
    if not wanted:
        return []
    return (
        await session.execute(
            text(_group_sums_sql(quantiles)),
            {"generation": generation, "edition_id": edition_id, "threshold": threshold,
             "kinds": [k for k, _ in wanted], "keys": [k for _, k in wanted]},
        )
    ).all()  # fmt: skip


async def structures_page(
    session: AsyncSession,
    generation: int,
    edition_id: uuid.UUID,
    *,
    after: uuid.UUID | None,
    limit: int,
    stratum_code: str | None = None,
) -> Sequence[StructureScore]:
    s = StructureScore
    query = (
        select(s)
        .where(s.generation == generation, s.edition_id == edition_id)
        .order_by(s.structure_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(s.structure_id > after)
    if stratum_code is not None:
        query = query.where(s.stratum_code == stratum_code)
    return (await session.scalars(query)).all()


async def mark_groups_dirty(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert(GROUPS)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[
                GroupStats.generation,
                GroupStats.edition_id,
                GroupStats.kind,
                GroupStats.key,
            ],
            set_={"dirty": True},
        ),
        [{**r, "dirty": True} for r in rows],
    )


async def due_groups(
    session: AsyncSession, generation: int, edition_id: uuid.UUID, *, older_than_seconds: float
) -> Sequence[GroupStats]:
    """Dirty groups not refreshed for `older_than_seconds`, locked (in key order)."""
    g = GroupStats
    query = (
        select(g)
        .where(g.generation == generation, g.edition_id == edition_id, g.dirty.is_(True))
        .order_by(g.kind, g.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if older_than_seconds > 0:
        query = query.where(
            or_(
                g.refreshed_at.is_(None),
                g.refreshed_at
                < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, older_than_seconds),
            )
        )
    return (await session.scalars(query)).all()


async def dirty_editions(session: AsyncSession) -> Sequence[Any]:
    g = GroupStats
    return (
        await session.execute(
            select(g.generation, g.edition_id).where(g.dirty.is_(True)).distinct()
        )
    ).all()


async def save_groups(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store refreshed groups clean (one executemany)."""
    if not rows:
        return
    t = GROUPS
    await session.execute(
        update(t)
        .where(
            t.c.generation == bindparam("b_generation"),
            t.c.edition_id == bindparam("b_edition_id"),
            t.c.kind == bindparam("b_kind"),
            t.c.key == bindparam("b_key"),
        )
        .values(
            structures=bindparam("b_structures"),
            audits=bindparam("b_audits"),
            figures=bindparam("b_figures"),
            dirty=False,
            refreshed_at=func.now(),
        ),
        [{f"b_{k}": v for k, v in row.items()} for row in rows],
    )


async def group_rows(
    session: AsyncSession, generation: int, edition_id: uuid.UUID
) -> Sequence[GroupStats]:
    g = GroupStats
    return (
        await session.scalars(
            select(g)
            .where(g.generation == generation, g.edition_id == edition_id)
            .order_by(g.kind, g.key)
        )
    ).all()


async def delete_generation(session: AsyncSession, edition_id: uuid.UUID, generation: int) -> None:
    from sqlalchemy import delete

    for model in (Cell, StructureScore, GroupStats):
        await session.execute(
            delete(model).where(model.generation == generation, model.edition_id == edition_id)
        )


async def structure_attributes(session: AsyncSession, edition_id: uuid.UUID) -> Sequence[Any]:
    """Each structure's stratum, type and certification, from its latest validated scored audit."""
    a = Audit
    return (
        await session.execute(
            select(
                a.structure_id,
                a.stratum_code,
                a.structure_type,
                a.certified,
                a.validated_at,
                a.audit_id,
            )
            .where(a.edition_id == edition_id, a.status == "scored")
            .order_by(a.structure_id, a.validated_at.desc(), a.audit_id.desc())
            .ext(distinct_on(a.structure_id))
        )
    ).all()


async def running_rescores(session: AsyncSession) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(EditionState.edition_id).where(EditionState.rescore_status == "running")
        )
    ).all()
