"""API models of perceived quality."""

from __future__ import annotations

from shared.contracts.scoring import PerceivedQualityV1

PerceivedOut = PerceivedQualityV1
