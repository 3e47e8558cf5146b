"""The export's stable columns (documented in docs/exports.md) and a row's cells, pure."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COLUMNS: tuple[str, ...] = (
    "edition_id", "structure_id", "structure_name", "structure_type", "stratum_code",
    "certified", "offer", "dimension", "key", "score", "audits",
    "stratum_structures", "stratum_mean", "stratum_median", "stratum_rank",
    "stratum_percentile", "sample_structures", "sample_mean", "sample_median", "sample_rank",
    "sample_percentile",
)  # fmt: skip
_SCORES = frozenset({"score", "stratum_mean", "stratum_median", "sample_mean", "sample_median"})
FOUR = Decimal("0.0001")


def cells(row: Mapping[str, Any]) -> list[Any]:
    """One export line: scores to 4 decimals (half-up), booleans as true/false."""
    out: list[Any] = []
    for column in COLUMNS:
        value = row.get(column)
        if column in _SCORES and value is not None:
            value = Decimal(value).quantize(FOUR, rounding=ROUND_HALF_UP)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif value is not None and column in ("edition_id", "structure_id"):
            value = str(value)
        out.append(value)
    return out
