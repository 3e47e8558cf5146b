"""Citizen-voice intake: partners' survey answers, kiosk feedback and consultation summaries,
checked row by row, stored with names in comments masked, each announced to scoring."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.voice import repository
from services.fieldwork.voice.rules import mask_names
from services.fieldwork.voice.schemas import VoiceIn, errors_of
from shared.contracts.fieldwork import CitizenVoiceReceivedV1, VoiceKind
from shared.errors import Unprocessable
from shared.outbox import Outbox

MAX_ROWS = 10_000
Parsed = tuple[int, VoiceIn | None, list[str]]


def parse_ndjson(body: bytes) -> list[Parsed]:
    rows: list[Parsed] = []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unprocessable("the body is not UTF-8 text") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, VoiceIn.model_validate_json(line), []))
        except ValidationError as exc:
            rows.append((number, None, errors_of(exc.errors())))
    return rows


def parse_csv(body: bytes) -> list[Parsed]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("the body is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - set(VoiceIn.model_fields)
    if not reader.fieldnames or unknown:
        raise Unprocessable(
            f"CSV header: unknown column(s) {sorted(unknown)}" if unknown else "CSV: no header"
        )
    rows: list[Parsed] = []
    for number, record in enumerate(reader, start=1):
        # An empty cell is an absent value.
        data = {k: v for k, v in record.items() if k is not None and v not in ("", None)}
        if None in record:
            rows.append((number, None, ["(row): more cells than the header has columns"]))
            continue
        try:
            rows.append((number, VoiceIn.model_validate_strings(data), []))
        except ValidationError as exc:
            rows.append((number, None, errors_of(exc.errors())))
    return rows


async def ingest(
    session: AsyncSession,
    outbox: Outbox,
    kind: VoiceKind,
    partner: str,
    rows: list[Parsed],
    *,
    opted_in_only: bool = True,
) -> tuple[list[uuid.UUID], list[tuple[int, list[str]]]]:
    """Store and announce the good rows; return their ids and the bad rows with their errors.
    With `opted_in_only` (a partner's call), a structure that did not opt in to `partner` is
    refused exactly like an unknown one."""
    if len(rows) > MAX_ROWS:
        raise Unprocessable(f"at most {MAX_ROWS} rows per request")
    pairs = {(v.edition_id, v.structure_id) for _, v, _ in rows if v is not None}
    if opted_in_only:
        reachable = await repository.opted_in_structures(session, partner, {s for _, s in pairs})
        pairs = {(e, s) for e, s in pairs if s in reachable}
    sites = await repository.registered_sites(session, pairs)
    accepted: list[uuid.UUID] = []
    rejected: list[tuple[int, list[str]]] = []
    records: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for number, voice, errors in rows:
        if voice is not None:
            errors = voice.missing_for(kind)
            known = sites.get((voice.edition_id, voice.structure_id))
            if known is None:
                errors.append("structure_id: not a structure registered in this edition")
            elif voice.site_id is not None and voice.site_id not in known:
                errors.append("site_id: not a site of this structure")
        if errors or voice is None:
            rejected.append((number, errors))
            continue
        event = CitizenVoiceReceivedV1(
            voice_id=uuid.uuid4(),
            kind=kind,
            edition_id=voice.edition_id,
            structure_id=voice.structure_id,
            site_id=voice.site_id,
            partner=partner,
            received_at=voice.received_at,
            satisfied=voice.satisfied,
            satisfaction=voice.satisfaction,
            reason=voice.reason,
            comment=mask_names(voice.comment) if voice.comment else None,
            participants=voice.participants,
            population_reached=voice.population_reached,
        )
        records.append(
            {
                "id": event.voice_id,
                "partner": partner,
                "kind": kind,
                "edition_id": event.edition_id,
                "structure_id": event.structure_id,
                "site_id": event.site_id,
                "received_at": event.received_at,
                "data": json.loads(event.model_dump_json()),
                "created_at": now,
            }
        )
        await outbox.add(session, event, edition=event.edition_id)
        accepted.append(event.voice_id)
    await repository.add_records(session, records)
    return accepted, rejected
