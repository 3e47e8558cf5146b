"""Pure scoring rules: an audit's score out of 100 is the weighted points obtained over the
weighted points possible on its applicable items ("not applicable" leaves the denominator).

Arithmetic is exact (`Decimal` with no rounding) up to the audit's score, which is a rational
number; it is stored quantized to `SCALE` decimal places (half-even), and every aggregate is an
exact sum of those stored values divided and quantized the same way, so a figure is
reproducible to the last digit. Display rounds to 2 decimals (half-up) only at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from functools import cached_property

from shared.contracts.fieldwork import (
    MEASURED_TYPES,
    AnswerV1,
    AnswerV2,
    GridItemV2,
    GridPublishedV1,
    GridV1,
    ScoringRuleV1,
    answer_problems,
)

# The semantics of this module; part of every score's methodology version. Bump it when a
# change here could move a figure, so a re-score is told apart from the score it replaces.
ENGINE_VERSION = "engine-1"
SCALE = Decimal("1e-10")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class UnscorableAudit(ValueError):
    """The answers do not fit the grid; the audit cannot be scored."""


Verdict = Decimal | str | UnscorableAudit | None


# 60 significant digits: every intermediate of a score is exact or far below `SCALE`.
WIDE = Context(prec=60, rounding=ROUND_HALF_EVEN)


def exact(value: Decimal) -> Decimal:
    """The stored form of a rational figure: `SCALE` decimals, half-even."""
    return value.quantize(SCALE, context=WIDE)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator / denominator, computed with ample precision then stored exactly."""
    return WIDE.divide(numerator, denominator).quantize(SCALE, context=WIDE)


def display(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class GridShape:
    """A grid as scoring needs it: its items in order, and the index of each item's criterion
    and journey step (aggregates keep per-grid arrays in these orders)."""

    code: str
    version: int
    channel: str
    rules_version: str
    items: tuple[GridItemV2, ...]
    criteria: tuple[str, ...]
    journey_steps: tuple[str, ...]
    # Per item: its maximum points (0 when the item is never scored), computed once.
    max_points: tuple[Decimal, ...] = ()
    # (item index, not applicable, answer type, answer value) -> what the answer gives
    # (`_judge`): it depends on the item and the answer only, and answers take few values.
    points_memo: dict[tuple[int, bool, type, object], Verdict] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @cached_property
    def index_of(self) -> dict[str, int]:
        return {item.code: i for i, item in enumerate(self.items)}

    @cached_property
    def positions(self) -> tuple[tuple[int, int], ...]:
        """Per item: the index of its criterion and of its journey step."""
        criteria = {c: i for i, c in enumerate(self.criteria)}
        steps = {s: i for i, s in enumerate(self.journey_steps)}
        return tuple((criteria[i.criterion], steps[i.journey_step]) for i in self.items)

    @cached_property
    def level_names(self) -> dict[str, list[str]]:
        """Entry names per level, in the orders of the aggregates' arrays."""
        return {
            "item": [f"{self.code}/{item.code}" for item in self.items],
            "criterion": list(self.criteria),
            "journey_step": list(self.journey_steps),
        }

    @property
    def methodology(self) -> str:
        return f"{self.code}:v{self.version}:{self.rules_version}:{ENGINE_VERSION}"


def grid_shape(grid: GridPublishedV1) -> GridShape:
    criteria = tuple(dict.fromkeys(item.criterion for item in grid.items))
    steps = tuple(dict.fromkeys(item.journey_step for item in grid.items))
    return GridShape(
        code=grid.code,
        version=grid.version,
        channel=grid.channel,
        rules_version=grid.rules_version,
        items=tuple(grid.items),
        criteria=criteria,
        journey_steps=steps,
        max_points=tuple(
            _max_points(item, item.rule) if scored_item(item) and item.rule else Decimal(0)
            for item in grid.items
        ),
    )


@dataclass(frozen=True)
class ScoredAudit:
    """An audit's points, overall and per item / criterion / journey step.

    Per-level entries are `(obtained, possible)` in the grid shape's orders, `None` where
    nothing applicable was scored; `score` is 100 x obtained / possible, stored exactly.
    """

    score: Decimal
    obtained: Decimal
    possible: Decimal
    items: tuple[tuple[Decimal, Decimal] | None, ...]
    criteria: tuple[tuple[Decimal, Decimal] | None, ...]
    journey_steps: tuple[tuple[Decimal, Decimal] | None, ...]

    def level_scores(self, level: str) -> tuple[Decimal | None, ...]:
        """Scores /100 of one level's entries (None where not applicable)."""
        entries = {
            "item": self.items,
            "criterion": self.criteria,
            "journey_step": self.journey_steps,
        }[level]
        return tuple(None if e is None else percent(e[0], e[1]) for e in entries)


# (obtained, possible) -> 100 x obtained / possible, stored exactly: per-level entries of
# audits repeat a handful of pairs, so each quotient is computed once (bounded memo).
_PERCENTS: dict[tuple[Decimal, Decimal], Decimal] = {}
_PERCENTS_MAX = 200_000


def percent(obtained: Decimal, possible: Decimal) -> Decimal:
    """`ratio(100 x obtained, possible)`, memoized (the same exact value either way)."""
    key = (obtained, possible)
    found = _PERCENTS.get(key)
    if found is None:
        if len(_PERCENTS) >= _PERCENTS_MAX:
            _PERCENTS.clear()
        found = _PERCENTS[key] = ratio(HUNDRED * obtained, possible)
    return found


def _rule_points(item: GridItemV2, rule: ScoringRuleV1, value: object) -> Decimal:
    """Points of one answer under the item's rule (before weighting)."""
    if item.answer_type in MEASURED_TYPES:
        assert isinstance(value, Decimal)
        for step in sorted(rule.curve, key=lambda s: s.up_to):
            if value <= step.up_to:
                return step.points
        return rule.otherwise_points
    if isinstance(value, bool):
        key = "true" if value else "false"
    else:
        assert isinstance(value, Decimal)
        key = str(int(value))
    if key not in rule.points:
        raise UnscorableAudit(f"{item.code}: the rule gives no points for answer {key!r}")
    return rule.points[key]


def _max_points(item: GridItemV2, rule: ScoringRuleV1) -> Decimal:
    if item.answer_type in MEASURED_TYPES:
        return max([s.points for s in rule.curve] + [rule.otherwise_points])
    return max(rule.points.values(), default=Decimal(0))


def scored_item(item: GridItemV2) -> bool:
    """Whether an item can earn points (free text, weight 0 and rules worth nothing cannot)."""
    rule = item.rule
    return (
        item.answer_type != "free_text"
        and rule is not None
        and item.weight > 0
        and _max_points(item, rule) > 0
    )


def number(value: object) -> Decimal | None:
    """A numeric answer: a Decimal, or a numeric string (a Decimal travels as a JSON string,
    which the contract's `str` branch takes); None when it is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except ArithmeticError:
            return None
        return parsed if parsed.is_finite() else None
    return None


def answer_problems_v2(grid: GridShape, answers: Sequence[AnswerV2]) -> list[str]:
    """What is wrong with a set of answers to a published grid (empty when they can be scored)."""
    problems: list[str] = []
    by_code: dict[str, AnswerV2] = {}
    items = {item.code: item for item in grid.items}
    for answer in answers:
        if answer.item_code not in items:
            problems.append(f"{answer.item_code}: not an item of grid {grid.code} v{grid.version}")
        elif answer.item_code in by_code:
            problems.append(f"{answer.item_code}: answered twice")
        by_code[answer.item_code] = answer
    for item in grid.items:
        given = by_code.get(item.code)
        if given is None:
            if item.mandatory:
                problems.append(f"{item.code}: no answer")
            continue
        if given.not_applicable:
            if not item.not_applicable_allowed:
                problems.append(f"{item.code}: 'not applicable' is not allowed for this item")
            continue
        kind = item.answer_type
        if kind == "free_text":
            continue
        if kind == "yes_no":
            if not isinstance(given.value, bool):
                problems.append(f"{item.code}: expects yes/no (true or false)")
            continue
        value = number(given.value)
        if value is None:
            problems.append(f"{item.code}: expects a number")
        elif kind == "scale" and (
            value != value.to_integral() or not 0 <= value <= (item.scale_max or 0)
        ):
            problems.append(f"{item.code}: expects an integer from 0 to {item.scale_max}")
        elif value < 0:
            problems.append(f"{item.code}: a measured value cannot be negative")
        elif kind == "count" and value != value.to_integral():
            problems.append(f"{item.code}: a count is an integer")
    return problems


# What one answer to one item gives (`_judge`): not scored (None), its weighted points, a
# problem with the answer (the full check then says which), or a rule that has no points.
_NOT_SCORED = None
_PROBLEM = "problem"
_MEMO_MAX = 100_000


def _judge(grid: GridShape, index: int, answer: AnswerV2) -> Verdict:
    """`answer_problems_v2`'s check of one answer, then its weighted points: what
    `score_answers` needs of it, memoized per (item, answer) since answers repeat."""
    value = answer.value
    try:
        key = (index, answer.not_applicable, type(value), value)
        return grid.points_memo[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value (a signalling NaN): judged without the memo
        key = None
    item = grid.items[index]
    verdict: Verdict
    if answer.not_applicable:
        verdict = _NOT_SCORED if item.not_applicable_allowed else _PROBLEM
    elif item.answer_type == "free_text":
        verdict = _NOT_SCORED
    else:
        if item.answer_type == "yes_no":
            number_value: object = value
            fits = isinstance(value, bool)
        else:
            number_value = parsed = number(value)
            fits = parsed is not None and not (
                (
                    item.answer_type == "scale"
                    and (parsed != parsed.to_integral() or not 0 <= parsed <= (item.scale_max or 0))
                )
                or parsed < 0
                or (item.answer_type == "count" and parsed != parsed.to_integral())
            )
        top = grid.max_points[index]
        if not fits:
            verdict = _PROBLEM
        elif top == 0:
            verdict = _NOT_SCORED
        else:
            assert item.rule is not None
            try:
                points = _rule_points(item, item.rule, number_value)
                verdict = WIDE.divide(WIDE.multiply(item.weight, points), top)
            except UnscorableAudit as exc:
                verdict = exc
    if key is not None:
        if len(grid.points_memo) >= _MEMO_MAX:
            grid.points_memo.clear()
        grid.points_memo[key] = verdict
    return verdict


def score_answers(grid: GridShape, answers: Sequence[AnswerV2]) -> ScoredAudit:
    """The audit's points. Answers are judged one by one (memoized); whenever one does not
    fit, `answer_problems_v2` says everything that is wrong, as it always has."""
    index_of = grid.index_of
    by_index: dict[int, AnswerV2] = {}
    for answer in answers:
        index = index_of.get(answer.item_code)
        if index is None or index in by_index:
            return _refuse(grid, answers, None)
        by_index[index] = answer
    items: list[tuple[Decimal, Decimal] | None] = []
    criteria: list[list[Decimal]] = [[Decimal(0), Decimal(0)] for _ in grid.criteria]
    steps: list[list[Decimal]] = [[Decimal(0), Decimal(0)] for _ in grid.journey_steps]
    obtained = possible = Decimal(0)
    for index, item in enumerate(grid.items):
        given = by_index.get(index)
        if given is None:
            if item.mandatory:
                return _refuse(grid, answers, None)
            items.append(None)
            continue
        got = _judge(grid, index, given)
        if got is None:
            items.append(None)
            continue
        if not isinstance(got, Decimal):
            return _refuse(grid, answers, got if isinstance(got, UnscorableAudit) else None)
        items.append((got, item.weight))
        criterion, step = grid.positions[index]
        criteria[criterion][0] += got
        criteria[criterion][1] += item.weight
        steps[step][0] += got
        steps[step][1] += item.weight
        obtained += got
        possible += item.weight
    if possible == 0:
        raise UnscorableAudit("no applicable scored item: the audit has nothing to score")
    return ScoredAudit(
        score=percent(obtained, possible),
        obtained=obtained,
        possible=possible,
        items=tuple(items),
        criteria=tuple(None if b[1] == 0 else (b[0], b[1]) for b in criteria),
        journey_steps=tuple(None if b[1] == 0 else (b[0], b[1]) for b in steps),
    )


def _refuse(
    grid: GridShape, answers: Sequence[AnswerV2], rule_error: UnscorableAudit | None
) -> ScoredAudit:
    """Raise what is wrong: the answers' problems first, else the rule without points (the
    first in the grid's order)."""
    problems = answer_problems_v2(grid, answers)
    if problems:
        raise UnscorableAudit("; ".join(problems))
    if rule_error is None:
        for index, item in enumerate(grid.items):
            answer = next((a for a in answers if a.item_code == item.code), None)
            if answer is not None:
                verdict = _judge(grid, index, answer)
                if isinstance(verdict, UnscorableAudit):
                    rule_error = verdict
                    break
    if rule_error is None:  # pragma: no cover - a problem was found above
        raise UnscorableAudit("the answers do not fit the grid")
    raise UnscorableAudit(str(rule_error))


# --- v1 audits: the grid travels inline, with the first slice's answer types ---------------


def grid_from_v1(grid: GridV1) -> GridPublishedV1:
    """The v1 grid read as a published grid: yes/no 1/0, scale value/max, max_duration as a
    one-step curve (full points up to the target). Journey steps outside the v2 vocabulary
    are kept as they are (v1 accepted any text)."""
    items = []
    for item in grid.items:
        if item.answer_type == "yes_no":
            rule = ScoringRuleV1(points={"true": Decimal(1), "false": Decimal(0)})
            kind = "yes_no"
        elif item.answer_type == "scale":
            top = item.scale_max or 1
            rule = ScoringRuleV1(points={str(i): Decimal(i) for i in range(top + 1)})
            kind = "scale"
        else:
            rule = ScoringRuleV1.model_validate(
                {"curve": [{"up_to": item.target or 0, "points": 1}], "otherwise_points": 0}
            )
            kind = "duration_seconds"
        items.append(
            GridItemV2.model_construct(
                code=item.code,
                label_fr=item.label,
                label_en=item.label,
                criterion=item.criterion,
                journey_step=item.journey_step,  # type: ignore[arg-type]  # v1: any text
                answer_type=kind,  # type: ignore[arg-type]
                scale_max=item.scale_max,
                rule=rule,
                weight=item.weight,
                mandatory=True,
                not_applicable_allowed=item.not_applicable_allowed,
            )
        )
    return GridPublishedV1.model_construct(
        code=grid.code, version=grid.version, channel=grid.channel, rules_version="v1", items=items
    )


def score_v1(grid: GridV1, answers: Sequence[AnswerV1]) -> tuple[GridShape, ScoredAudit]:
    """A v1 audit: the v1 contract's check, then the same engine as v2."""
    problems = answer_problems(grid, list(answers))
    if problems:
        raise UnscorableAudit("; ".join(problems))
    shape = grid_shape(grid_from_v1(grid))
    v2_answers = [
        AnswerV2.model_construct(
            item_code=a.item_code, value=a.value, not_applicable=a.not_applicable
        )
        for a in answers
    ]
    return shape, score_answers(shape, v2_answers)
