"""Cursor pagination: an opaque cursor holding the sort key of the last item of a page.

Lists sort on a stable key that ends with a unique column; the next page starts strictly after
the cursor's key (keyset pagination), so inserts between two calls neither repeat nor skip an
item that was already in the order.
"""

from __future__ import annotations

import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, literal, true, tuple_

from shared.cursors import pack, unpack
from shared.errors import ProblemError

T = TypeVar("T")
Item = TypeVar("Item", bound=BaseModel)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(ProblemError):
    status, slug, title = 400, "invalid-cursor", "Invalid cursor"


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime | date):
        return {
            "t": type(value).__name__,
            "v": value.isoformat() if not isinstance(value, uuid.UUID) else str(value),
        }
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        kind, raw = value.get("t"), str(value.get("v"))
        if kind == "UUID":
            return uuid.UUID(raw)
        if kind == "datetime":
            return datetime.fromisoformat(raw)
        if kind == "date":
            return date.fromisoformat(raw)
        raise ValueError(f"unknown cursor value type {kind!r}")
    return value


def encode_cursor(key: Sequence[Any]) -> str:
    return pack([_plain(v) for v in key])


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The sort key a cursor holds; a 400 problem when it was not made by `encode_cursor`."""
    try:
        values = unpack(cursor)
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError("wrong shape")
        return [_typed(v) for v in values]
    except (ValueError, binascii.Error, TypeError) as exc:
        raise InvalidCursor("the cursor is not one this list returned", field="cursor") from exc


class PageParams(BaseModel):
    limit: int
    cursor: str | None

    def key(self, arity: int) -> list[Any] | None:
        return None if self.cursor is None else decode_cursor(self.cursor, arity)


def _page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1 to 200).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=2000, description="`next_cursor` of the previous page; omit for the first."
        ),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[Item]):
    items: list[Item] = Field(description="This page's items, in the list's stable order.")
    next_cursor: str | None = Field(
        description="Pass it as `cursor` to get the next page; null on the last page."
    )


def paginate(
    rows: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """Split `limit + 1` fetched rows into a page and the cursor of the next one."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, (encode_cursor(key(page[-1])) if more and page else None)


def after(
    columns: Sequence[ColumnElement[Any] | Any], key: Sequence[Any] | None
) -> ColumnElement[bool]:
    """SQL condition: the row's sort key comes strictly after `key` (all columns ascending)."""
    if key is None:
        return true()
    return tuple_(*columns) > tuple_(
        *(literal(v, type_=c.type) for c, v in zip(columns, key, strict=True))
    )
