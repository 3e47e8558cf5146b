"""Dead letters: listed for the operator, and replayed one at a time through the same batch
handler as the consumer (in the request's transaction, with the consumer's inbox), once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates.service import ScoringApplication
from services.scoring.consumers import DURABLE
from services.scoring.deadletters import repository as repo
from services.scoring.deadletters.schemas import DeadLetterOut
from services.scoring.pagination import Page, decode_cursor, encode_cursor
from shared.consumer import PermanentEventError
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import UnknownEvent, parse_event


def _out(row: object) -> DeadLetterOut:
    values = {k: getattr(row, k) for k in (
        "id", "consumer", "stream", "stream_sequence", "subject", "deliveries", "reason",
        "received_at", "replayed_at")}  # fmt: skip
    return DeadLetterOut(**values, replay_outcome=getattr(row, "outcome", None))


async def page(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[DeadLetterOut]:
    key = decode_cursor(cursor, 1)
    if key is not None and not key[0].isdigit():
        raise Unprocessable("the cursor is not one this API returned")
    rows = await repo.page(session, after=int(key[0]) if key else None, limit=limit + 1)
    return Page(
        items=[_out(r) for r in rows[:limit]],
        next_cursor=encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None,
    )


async def replay(
    session: AsyncSession, app: ScoringApplication, dead_letter_id: int
) -> DeadLetterOut:
    row = await repo.one(session, dead_letter_id)
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    if row.outcome is not None:
        raise Conflict(f"dead letter {dead_letter_id} was already replayed ({row.outcome})")
    if row.consumer != DURABLE:
        raise Conflict(f"dead letter {dead_letter_id} belongs to consumer {row.consumer}")
    try:
        envelope, payload = parse_event(row.data)
    except UnknownEvent as exc:
        raise Unprocessable(f"the event is still unreadable: {exc}") from exc
    outcome = "duplicate"
    if await repo.mark_processed(session, DURABLE, envelope.id, envelope.subject):
        try:
            await app.apply_batch(session, [(envelope, payload)])
        except PermanentEventError as exc:
            raise Unprocessable(f"the event still cannot be applied: {exc}") from exc
        outcome = "applied"
    await repo.record_replay(session, dead_letter_id, outcome)
    rows = await repo.page(session, after=dead_letter_id - 1, limit=1)
    return _out(rows[0])
