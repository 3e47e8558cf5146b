"""The export's query, streamed from a server-side cursor in stable order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import and_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.reporting.models import FigureValue, GroupStat, Participant, access_log
from shared.access_log import record
from shared.auth import Principal


async def record_export(
    session: AsyncSession, principal: Principal, edition_id: uuid.UUID, kind: str
) -> None:
    await record(
        session, access_log, principal, "read.export", f"edition/{edition_id}/exports/{kind}"
    )


async def stream_rows(
    session: AsyncSession, edition_id: uuid.UUID
) -> AsyncIterator[Mapping[str, Any]]:
    stratum, sample = aliased(GroupStat), aliased(GroupStat)

    def joined(alias: Any, kind: str, key: Any) -> Any:
        return and_(
            alias.edition_id == FigureValue.edition_id, alias.kind == kind,
            alias.group_key == key, alias.dimension == FigureValue.dimension,
            alias.key == FigureValue.key,
        )  # fmt: skip

    statement = (
        select(
            FigureValue.edition_id,
            FigureValue.structure_id,
            Participant.structure_name,
            FigureValue.structure_type,
            FigureValue.stratum_code,
            FigureValue.certified,
            Participant.offer,
            FigureValue.dimension,
            FigureValue.key,
            FigureValue.score,
            FigureValue.audits,
            stratum.structures.label("stratum_structures"),
            stratum.mean.label("stratum_mean"),
            stratum.median.label("stratum_median"),
            FigureValue.stratum_rank,
            FigureValue.stratum_percentile,
            sample.structures.label("sample_structures"),
            sample.mean.label("sample_mean"),
            sample.median.label("sample_median"),
            FigureValue.sample_rank,
            FigureValue.sample_percentile,
        )
        .outerjoin(
            Participant,
            (Participant.edition_id == FigureValue.edition_id)
            & (Participant.structure_id == FigureValue.structure_id),
        )
        .outerjoin(stratum, joined(stratum, "stratum", FigureValue.stratum_code))
        .outerjoin(sample, joined(sample, "sample", literal("")))
        .where(FigureValue.edition_id == edition_id)
        .order_by(FigureValue.structure_id, FigureValue.dimension, FigureValue.key)
        .execution_options(yield_per=2000)
    )
    result = await session.stream(statement)
    async for row in result.mappings():
        yield dict(row)
