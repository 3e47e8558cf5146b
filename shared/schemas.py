"""Request bodies are taken as JSON says, without coercion: the base model of every API input.

FastAPI validates a body after `json.loads`, in pydantic's Python mode, where strict mode would
also refuse the ISO strings JSON writes dates, UUIDs, enums and decimals as; lax mode, on the
other hand, turns `"2040"` into a year and `1` into `true`. `StrictRequest` is strict, then
relaxes exactly the types JSON can only carry as text (date, time, datetime, duration, UUID,
enum, decimal, URL), and refuses a number where a date or time is expected. NaN and infinities
are refused (`allow_inf_nan=False`), unknown fields too.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# Types whose JSON form is a string (or, for decimals and enums, a string or a number).
_TEXT_TYPES = frozenset(
    {"date", "datetime", "time", "timedelta", "uuid", "decimal", "enum", "url", "multi-host-url"}
)
# Of those, the ones lax mode would also build from a number (a Unix timestamp, seconds).
_NO_NUMBERS = frozenset({"date", "datetime", "time", "timedelta"})


def _refuse_numbers(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "iso_string_expected", "a date, time or duration is written as an ISO 8601 string"
        )
    return value


def _relax(schema: Any, handler: GetCoreSchemaHandler, seen: set[str]) -> Any:
    """A copy of `schema` where the text types validate leniently (from their JSON string)."""
    if isinstance(schema, list):
        return [_relax(item, handler, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if not isinstance(kind, str):
        kind = None  # a mapping of fields, one of them named `type`
    if kind == "function-before" and schema["function"].get("function") is _refuse_numbers:
        return schema  # a nested StrictRequest, already relaxed
    if kind == "definition-ref":  # enums and recursive models live in shared definitions
        ref = schema["schema_ref"]
        if ref not in seen:
            seen.add(ref)
            target: Any = handler.resolve_ref_schema(schema)
            relaxed = _relax(target, handler, seen)
            target.clear()
            target.update(relaxed)
        return schema
    copy = {
        key: value if key in ("metadata", "serialization") else _relax(value, handler, seen)
        for key, value in schema.items()
    }
    if kind in _TEXT_TYPES:
        copy["strict"] = False
        if kind in _NO_NUMBERS:
            return core_schema.no_info_before_validator_function(_refuse_numbers, copy)
    return copy


class StrictRequest(BaseModel):
    """Base of request bodies: JSON types as written, no NaN or infinity, no unknown field."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        schema: CoreSchema = _relax(handler(source), handler, set())
        return schema


def non_finite_path(document: Any) -> str | None:
    """Where a parsed JSON document holds NaN or an infinity (JSON has neither), if anywhere.
    Iterative: a deeply nested body costs no recursion."""
    pending: list[tuple[str, Any]] = [("body", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return path
        if isinstance(value, dict):
            pending.extend((f"{path}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((f"{path}.{index}", item) for index, item in enumerate(value))
    return None
