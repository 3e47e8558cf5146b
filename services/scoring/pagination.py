"""Cursor pagination of scoring's lists: an opaque cursor naming the last key returned."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.cursors import pack, unpack
from shared.errors import Unprocessable

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    return pack([str(k) for k in key])


def decode_cursor(cursor: str | None, parts: int) -> list[str] | None:
    if cursor is None:
        return None
    try:
        key = unpack(cursor)
        if (
            not isinstance(key, list)
            or len(key) != parts
            or not all(isinstance(k, str) for k in key)
        ):
            raise TypeError("bad cursor")
    except (ValueError, TypeError) as exc:
        raise Unprocessable("the cursor is not one this API returned") from exc
    return key
