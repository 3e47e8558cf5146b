"""Event payloads: the contracts between services, one module per producer, versioned, data only.

A payload model never changes once published; a change is a new version (`...V2`) registered
beside the old one, so consumers can read both while producers are upgraded one at a time.
"""

from shared.contracts import fieldwork, registry, scoring
from shared.contracts.base import Payload

EVENT_PAYLOADS: dict[str, type[Payload]] = {
    **registry.PAYLOADS,
    **fieldwork.PAYLOADS,
    **scoring.PAYLOADS,
}

__all__ = ["EVENT_PAYLOADS", "Payload"]
