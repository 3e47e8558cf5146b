"""Pure scoring rules."""

from decimal import Decimal

import pytest

from services.scoring.rules import UnscorableAudit, score_audit
from shared.contracts.fieldwork import AnswerV1, GridItemV1, GridV1


def grid() -> GridV1:
    return GridV1(
        code="phone",
        version=1,
        channel="phone",
        items=[
            GridItemV1(code="rings", label="Picked up within 5 rings", criterion="reactivity",
                       journey_step="access", answer_type="max_duration", weight=Decimal(2),
                       target=Decimal(5)),
            GridItemV1(code="name", label="Agent gives their name", criterion="courtesy",
                       journey_step="reception", answer_type="yes_no", weight=Decimal(1)),
            GridItemV1(code="clarity", label="Clarity of the answer", criterion="information",
                       journey_step="processing", answer_type="scale", weight=Decimal(3),
                       scale_max=4, not_applicable_allowed=True),
        ],
    )  # fmt: skip


def test_weighted_share_of_applicable_points() -> None:
    result = score_audit(
        grid(),
        [
            AnswerV1(item_code="rings", value=Decimal(3)),
            AnswerV1(item_code="name", value=False),
            AnswerV1(item_code="clarity", value=Decimal(3)),
        ],
    )
    # (2 + 0 + 3 * 3/4) / 6 = 4.25 / 6
    assert result.score == Decimal("70.83")
    assert result.possible == Decimal(6)


def test_not_applicable_items_leave_the_denominator() -> None:
    result = score_audit(
        grid(),
        [
            AnswerV1(item_code="rings", value=Decimal(7)),
            AnswerV1(item_code="name", value=True),
            AnswerV1(item_code="clarity", not_applicable=True),
        ],
    )
    assert result.score == Decimal("33.33")
    assert result.possible == Decimal(3)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([AnswerV1(item_code="rings", value=Decimal(1))], "name: no answer"),
        (
            [
                AnswerV1(item_code="rings", value=True),
                AnswerV1(item_code="name", value=True),
                AnswerV1(item_code="clarity", value=Decimal(1)),
            ],
            "rings: expects a number",
        ),
        (
            [
                AnswerV1(item_code="rings", value=Decimal(1)),
                AnswerV1(item_code="name", not_applicable=True),
                AnswerV1(item_code="clarity", value=Decimal(9)),
            ],
            "name: 'not applicable' is not allowed",
        ),
    ],
)
def test_answers_that_do_not_fit_the_grid_are_refused(
    answers: list[AnswerV1], message: str
) -> None:
    with pytest.raises(UnscorableAudit, match=message):
        score_audit(grid(), answers)
