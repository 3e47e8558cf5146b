"""What every fieldwork request body shares: strict JSON types, unknown fields refused, text
without NUL."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict

from shared.schemas import StrictRequest


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class Input(StrictRequest):
    """Unknown fields refused, JSON types taken as written (see `StrictRequest`)."""

    model_config = ConfigDict(str_strip_whitespace=True)
