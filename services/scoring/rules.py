"""Pure scoring rules: an audit's score is the weighted share of points obtained over the
points possible on its applicable items, out of 100, rounded half-up to 2 decimals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.contracts.fieldwork import AnswerV1, GridItemV1, GridV1, answer_problems

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class UnscorableAudit(ValueError):
    """The answers do not fit the grid; the audit cannot be scored."""


@dataclass(frozen=True)
class ItemPoints:
    item_code: str
    obtained: Decimal
    possible: Decimal


@dataclass(frozen=True)
class AuditScore:
    score: Decimal
    obtained: Decimal
    possible: Decimal
    items: tuple[ItemPoints, ...]


def item_points(item: GridItemV1, answer: AnswerV1) -> ItemPoints | None:
    """Points for one answered item; None when it is not applicable."""
    if answer.not_applicable:
        return None
    value = answer.value
    if item.answer_type == "yes_no":
        share = Decimal(1) if value is True else Decimal(0)
    elif item.answer_type == "scale":
        assert isinstance(value, Decimal)
        assert item.scale_max
        share = value / Decimal(item.scale_max)
    else:  # max_duration: full points within the target, none beyond
        assert isinstance(value, Decimal)
        assert item.target is not None
        share = Decimal(1) if value <= item.target else Decimal(0)
    return ItemPoints(item.code, item.weight * share, item.weight)


def score_audit(grid: GridV1, answers: list[AnswerV1]) -> AuditScore:
    problems = answer_problems(grid, answers)
    if problems:
        raise UnscorableAudit("; ".join(problems))
    by_code = {a.item_code: a for a in answers}
    points = tuple(
        p for item in grid.items if (p := item_points(item, by_code[item.code])) is not None
    )
    obtained = sum((p.obtained for p in points), Decimal(0))
    possible = sum((p.possible for p in points), Decimal(0))
    score = (HUNDRED * obtained / possible).quantize(CENT, rounding=ROUND_HALF_UP)
    return AuditScore(score=score, obtained=obtained, possible=possible, items=points)
