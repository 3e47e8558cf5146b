"""Pure checks of an edition's scoring settings."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal


def weight_problems(weights: Mapping[str, Decimal]) -> list[str]:
    problems = []
    for channel, weight in sorted(weights.items()):
        if not channel.strip():
            problems.append("channel_weights: a channel name is empty")
        if not weight.is_finite() or weight < 0 or weight > 1000:
            problems.append(f"channel_weights.{channel}: expects a weight from 0 to 1000")
        elif weight != weight.quantize(Decimal("0.0001")):
            problems.append(f"channel_weights.{channel}: at most 4 decimals")
    return problems
