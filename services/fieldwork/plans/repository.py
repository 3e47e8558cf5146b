"""Queries of the plans domain: editions' calendars and settings, site plans, task rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, distinct, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import AuditTask, FieldworkEdition, SitePlan
from services.fieldwork.statuses import TaskStatus

CHUNK = 1000  # rows per statement: far below PostgreSQL's 32,767 bind parameters

TASK_COLUMNS = (
    "id",
    "edition_id",
    "structure_id",
    "site_id",
    "channel",
    "sequence",
    "planned_on",
    "scenario_code",
    "grid_id",
)


async def get_edition(
    session: AsyncSession, edition_id: uuid.UUID, *, lock: bool = False
) -> FieldworkEdition | None:
    query = select(FieldworkEdition).where(FieldworkEdition.edition_id == edition_id)
    if lock:
        query = query.with_for_update()
    found: FieldworkEdition | None = await session.scalar(query)
    return found


async def ensure_edition(session: AsyncSession, edition_id: uuid.UUID) -> FieldworkEdition:
    await session.execute(
        insert(FieldworkEdition).values(edition_id=edition_id).on_conflict_do_nothing()
    )
    edition = await get_edition(session, edition_id, lock=True)
    assert edition is not None
    return edition


async def record_year(session: AsyncSession, edition_id: uuid.UUID, year: int) -> None:
    await session.execute(
        insert(FieldworkEdition)
        .values(edition_id=edition_id, year=year)
        .on_conflict_do_update(index_elements=[FieldworkEdition.edition_id], set_={"year": year})
    )


async def claim_sites(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert the site plans not there yet; returns the sites this call claimed.

    A few rows go in one statement; many (a national edition) are copied into a temporary
    table and inserted from it, since a statement per thousand rows is the slow part.
    """
    if len(rows) <= CHUNK:
        if not rows:
            return set()
        return set(
            await session.scalars(
                insert(SitePlan)
                .values(list(rows))
                .on_conflict_do_nothing()
                .returning(SitePlan.site_id)
            )
        )
    columns = list(rows[0])
    json_columns = {"options", "contacts", "scenario_codes"}
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE site_plan_claims"
            " (LIKE site_plans INCLUDING DEFAULTS) ON COMMIT DROP"
        )
    )
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(
        "site_plan_claims",
        records=[
            tuple(json.dumps(r[c]) if c in json_columns else r[c] for c in columns) for r in rows
        ],
        columns=columns,
    )
    listed = ", ".join(columns)
    claimed = await session.scalars(
        text(
            f"INSERT INTO site_plans ({listed}) SELECT {listed} FROM site_plan_claims"
            " ON CONFLICT DO NOTHING RETURNING site_id"
        )
    )
    found = set(claimed)
    await session.execute(text("DROP TABLE site_plan_claims"))
    return found


async def site_plans(
    session: AsyncSession, edition_id: uuid.UUID, site_ids: Sequence[uuid.UUID] | None = None
) -> list[SitePlan]:
    query = select(SitePlan).where(SitePlan.edition_id == edition_id)
    if site_ids is not None:
        query = query.where(SitePlan.site_id.in_(site_ids))
    return list(await session.scalars(query.order_by(SitePlan.site_id)))


async def kept_tasks(
    session: AsyncSession, edition_id: uuid.UUID, site_ids: Sequence[uuid.UUID] | None
) -> list[tuple[uuid.UUID, str, int, date]]:
    """(site, channel, sequence, day) of the sites' tasks past `planned` (every site: None)."""
    query = select(
        AuditTask.site_id, AuditTask.channel, AuditTask.sequence, AuditTask.planned_on
    ).where(AuditTask.edition_id == edition_id, AuditTask.status != TaskStatus.PLANNED.value)
    if site_ids is not None:
        query = query.where(AuditTask.site_id.in_(site_ids))
    return [(r[0], r[1], r[2], r[3]) for r in (await session.execute(query)).all()]


async def delete_planned(
    session: AsyncSession, edition_id: uuid.UUID, site_ids: Sequence[uuid.UUID] | None
) -> None:
    query = delete(AuditTask).where(
        AuditTask.edition_id == edition_id, AuditTask.status == TaskStatus.PLANNED.value
    )
    if site_ids is not None:
        query = query.where(AuditTask.site_id.in_(site_ids))
    await session.execute(query)


async def insert_tasks(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    """Insert planned tasks (`TASK_COLUMNS` order) with PostgreSQL's COPY: one round trip for
    a whole edition instead of one statement per thousand rows."""
    if not records:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table("audit_tasks", records=records, columns=TASK_COLUMNS)


async def progress(session: AsyncSession, edition_id: uuid.UUID) -> tuple[int, int, dict[str, int]]:
    """(sites planned, their structures, tasks per status) of an edition."""
    sites, structures = (
        await session.execute(
            select(func.count(), func.count(distinct(SitePlan.structure_id))).where(
                SitePlan.edition_id == edition_id
            )
        )
    ).one()
    rows = await session.execute(
        select(AuditTask.status, func.count())
        .where(AuditTask.edition_id == edition_id)
        .group_by(AuditTask.status)
    )
    return int(sites), int(structures), {status: int(n) for status, n in rows.all()}
