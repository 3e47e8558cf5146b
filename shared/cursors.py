"""Opaque list cursors: a JSON list of a row's sort key, URL-safe base64 without padding.

Pure (no I/O, no framework), so lists and pure rules alike can build and read them; each list
checks the key it reads back (its length and types) and says how it refuses a bad one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any


def pack(values: Sequence[Any]) -> str:
    """The cursor of a sort key made of JSON values."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(cursor: str) -> Any:
    """What a cursor holds (a list for ours); ValueError when it is not base64 JSON."""
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not a cursor") from exc
