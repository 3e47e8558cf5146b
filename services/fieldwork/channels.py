"""The channels an audit runs on (the names the registry's events use)."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"
    ANSWERING_MACHINE = "answering_machine"
    WEBSITE = "website"
    SOCIAL_NETWORK = "social_network"
    VISIT = "visit"


CHANNELS = frozenset(c.value for c in Channel)
