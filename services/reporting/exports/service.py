"""Exports of every structure's figures for the operator: CSV streamed, and XLSX."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.exports import repository as repo
from services.reporting.exports.rules import COLUMNS, cells
from services.reporting.readmodel.repository import edition_exists
from shared.auth import Principal
from shared.errors import NotFound

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def log_export(
    session: AsyncSession, principal: Principal, edition_id: uuid.UUID, kind: str
) -> None:
    await repo.record_export(session, principal, edition_id, kind)


async def ensure_edition(session: AsyncSession, edition_id: uuid.UUID) -> None:
    if not await edition_exists(session, edition_id):
        raise NotFound(f"edition {edition_id} is unknown to reporting")


async def csv_lines(
    factory: async_sessionmaker[AsyncSession], edition_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """The CSV in chunks, read through its own transaction (the response outlives the
    request's session)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    async with factory() as session, session.begin():
        async for row in repo.stream_rows(session, edition_id):
            writer.writerow(cells(row))
            if buffer.tell() > 64_000:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


async def xlsx(session: AsyncSession, edition_id: uuid.UUID) -> bytes:
    rows = [COLUMNS, *[tuple(cells(r)) async for r in repo.stream_rows(session, edition_id)]]

    def build() -> bytes:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("scorecards")
        for row in rows:
            sheet.append(list(row))
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    return await asyncio.to_thread(build)
