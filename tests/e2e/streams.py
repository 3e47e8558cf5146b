"""Crafted streams of fieldwork events, published straight to JetStream as fieldwork would,
with the faults a durable consumer must absorb: copies, reversed revisions, late grids."""

from __future__ import annotations

import random
import uuid

import nats

from tests.scoring.factory import CHANNELS, Event, audit, event, grid, structure


def phase_events(
    edition_id: uuid.UUID,
    rng: random.Random,
    phase: int,
    codes: dict[str, str],
    *,
    structures: int,
    audits: int,
) -> tuple[list[Event], list[Event]]:
    """(distinct events, messages to publish): every event one to three times, multi-revision
    audits in reverse order of their revisions, grids anywhere among their audits."""
    sites = [structure(edition_id, i) for i in range(structures)]
    singles: list[Event] = [event(grid(codes[c], c)) for c in CHANNELS] if phase == 1 else []
    reversed_runs: list[list[Event]] = []
    for n in range(audits):
        s = rng.choice(sites)
        channel = rng.choice(CHANNELS)
        audit_id = uuid.uuid5(edition_id, f"audit-{phase}-{n}")
        revisions = [
            event(audit(edition_id, s, codes[channel], channel, rng, audit_id=audit_id,
                        revision=r, site=n), edition_id)
            for r in range(1, 4 if n % 4 == 0 else 2)
        ]  # fmt: skip
        if len(revisions) == 1:
            singles.extend(revisions)
        else:
            reversed_runs.append(revisions[::-1])
    distinct = singles + [e for run in reversed_runs for e in run]
    messages = [e for e in singles for _ in range(rng.randint(1, 3))]
    rng.shuffle(messages)
    for run in reversed_runs:  # each revision later in the stream than the one above it
        places = sorted(rng.sample(range(len(messages) + len(run)), len(run)))
        for place, e in zip(places, run, strict=True):
            messages.insert(place, e)
            if rng.random() < 0.5:
                messages.insert(rng.randint(place, len(messages)), e)  # and a later copy
    return distinct, messages


async def publish(nats_url: str, messages: list[Event]) -> None:
    """As separate messages (distinct `Nats-Msg-Id`), so JetStream keeps every copy; the
    stream is `barometer nats setup`'s (set up with the NATS server)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for copy, (envelope, _) in enumerate(messages):
            await js.publish(envelope.subject, envelope.model_dump_json().encode(),
                             headers={"Nats-Msg-Id": f"{envelope.id}/{copy}"})  # fmt: skip
    finally:
        await nc.close()
