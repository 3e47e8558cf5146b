"""Field types the registry's API schemas share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_\-]*$"
    ),
]
TerritoryCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Input(BaseModel):
    """A request body: unknown fields are refused (a typed-in stratum or population is a 422)."""

    model_config = ConfigDict(extra="forbid")
