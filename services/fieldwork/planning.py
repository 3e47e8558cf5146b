"""Audit planning: which tasks a registered structure's sites get in an edition (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ANSWERING_MACHINE = "answering_machine"
    LETTER = "letter"
    WEBSITE = "website"
    SOCIAL_NETWORK = "social_network"
    VISIT = "visit"


# Audits per site and per edition (seed): 13 remote audits, in this order.
DEFAULT_REMOTE_VOLUME: Mapping[Channel, int] = {
    Channel.EMAIL: 4,
    Channel.PHONE: 4,
    Channel.ANSWERING_MACHINE: 1,
    Channel.LETTER: 3,
    Channel.WEBSITE: 1,
}
# Physical visits per site when the offer includes them (seed: "+400 € per 2 mystery visits").
DEFAULT_VISITS_PER_SITE = 2
OFFERS_WITH_VISITS = frozenset({"personalised"})


@dataclass(frozen=True)
class PlannedTask:
    site_id: uuid.UUID
    channel: Channel
    sequence: int  # 1..n within the site and channel


def plan_tasks(
    sites: Sequence[uuid.UUID],
    offer: str,
    *,
    remote_volume: Mapping[Channel, int] = DEFAULT_REMOTE_VOLUME,
    visits_per_site: int = DEFAULT_VISITS_PER_SITE,
) -> list[PlannedTask]:
    """The audit tasks of each site, in a stable order (site, then channel, then sequence)."""
    volume = dict(remote_volume)
    if offer in OFFERS_WITH_VISITS and visits_per_site > 0:
        volume[Channel.VISIT] = visits_per_site
    planned: list[PlannedTask] = []
    for site_id in dict.fromkeys(sites):  # a site listed twice is still audited once
        for channel, count in volume.items():
            planned.extend(PlannedTask(site_id, channel, n) for n in range(1, count + 1))
    return planned
