"""Grid files: parse and check a grid written in YAML, with messages naming file, item and field.

A grid file holds `code`, `version`, `channel`, `rules_version` and `items`; each item has the
fields of `GridItemV2` (the published contract). Pure: the caller reads the file.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml
from pydantic import ValidationError

from services.fieldwork.channels import CHANNELS
from shared.contracts.fieldwork import MEASURED_TYPES, GridItemV2, GridPublishedV1

# Criteria of the Qualivilles, Marianne and Accueil Service Public Local standards (DOMAIN.md).
CRITERIA = frozenset(
    {
        "accessibility_opening_hours",
        "reactivity",
        "answer_quality",
        "processing_delays",
        "information_reliability",
        "signage",
        "orientation",
        "courtesy",
        "waiting",
        "personalisation",
        "transfer",
        "complaint_handling",
        "website_quality",
    }
)
GRID_KEYS = ("code", "version", "channel", "rules_version", "items")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


class GridFileError(ValueError):
    """A grid file that cannot be loaded; `problems` name the file, item and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _exact(value: Any) -> Any:
    """YAML floats as exact decimals (0.1 stays 0.1), recursively."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def _item_problems(item: GridItemV2) -> list[str]:
    """Checks beyond the contract's types: the rule fits the answer type."""
    problems: list[str] = []
    rule = item.rule
    if item.criterion not in CRITERIA:
        problems.append(f"field criterion: unknown criterion {item.criterion!r}")
    if (item.scale_max is not None) != (item.answer_type == "scale"):
        problems.append("field scale_max: required for a scale answer, and only for it")
    if item.answer_type == "free_text":
        if rule is not None:
            problems.append("field rule: a free_text item is never scored (rule: null)")
        if item.weight != 0:
            problems.append("field weight: a free_text item weighs 0")
        return problems
    if rule is None:
        return [*problems, "field rule: required (points per answer, or a curve)"]
    if item.answer_type in MEASURED_TYPES:
        if rule.points:
            problems.append("field rule.points: a measured answer is scored by a curve")
        if not rule.curve:
            problems.append("field rule.curve: a measured answer needs at least one step")
        bounds = [step.up_to for step in rule.curve]
        if bounds != sorted(set(bounds)):
            problems.append("field rule.curve: `up_to` must strictly increase")
        best = max([s.points for s in rule.curve] + [rule.otherwise_points], default=Decimal(0))
    else:
        expected = (
            {"true", "false"}
            if item.answer_type == "yes_no"
            else {str(n) for n in range(0, (item.scale_max or 0) + 1)}
        )
        if set(rule.points) != expected:
            problems.append(
                f"field rule.points: needs exactly the answers {sorted(expected)}, "
                f"has {sorted(rule.points)}"
            )
        if rule.curve:
            problems.append("field rule.curve: only measured answers are scored by a curve")
        best = max(rule.points.values(), default=Decimal(0))
    if item.weight > 0 and best <= 0:
        problems.append("field rule: no answer earns points, yet the item weighs more than 0")
    return problems


def parse_grid(source: str, text: str) -> GridPublishedV1:
    """The grid a YAML text describes; `source` (a file name) prefixes every message."""
    try:
        raw = _exact(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise GridFileError([f"{source}: not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise GridFileError([f"{source}: a grid file is a mapping with {', '.join(GRID_KEYS)}"])
    problems = [f"{source}: field {k}: unknown field" for k in raw if k not in GRID_KEYS]
    problems += [f"{source}: field {k}: missing" for k in GRID_KEYS if k not in raw]
    if problems:
        raise GridFileError(problems)
    code, channel = raw["code"], raw["channel"]
    if not isinstance(code, str) or not CODE.match(code):
        problems.append(f"{source}: field code: lower-case letters, digits and _ (2-60)")
    if channel not in CHANNELS:
        problems.append(f"{source}: field channel: {channel!r} is not one of {sorted(CHANNELS)}")
    if not isinstance(raw["items"], list) or not raw["items"]:
        raise GridFileError([*problems, f"{source}: field items: a non-empty list of items"])
    items: list[GridItemV2] = []
    seen: set[str] = set()
    for position, entry in enumerate(raw["items"], start=1):
        name = entry.get("code") if isinstance(entry, dict) else None
        where = f"{source}: item {position}" + (f" ({name})" if name else "")
        try:
            item = GridItemV2.model_validate(entry)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or "(item)"
                problems.append(f"{where}: field {field}: {error['msg']}")
            continue
        if not CODE.match(item.code):
            problems.append(f"{where}: field code: lower-case letters, digits and _ (2-60)")
        if item.code in seen:
            problems.append(f"{where}: field code: {item.code!r} appears twice in the grid")
        seen.add(item.code)
        problems += [f"{where}: {p}" for p in _item_problems(item)]
        items.append(item)
    if problems:
        raise GridFileError(problems)
    try:
        return GridPublishedV1(
            code=code,
            version=raw["version"],
            channel=channel,
            rules_version=str(raw["rules_version"]),
            items=items,
        )
    except ValidationError as exc:
        raise GridFileError(
            [
                f"{source}: field {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors()
            ]
        ) from exc
