"""Pure scoring rules: every answer type, curves, N/A, exactness, v1 grids, statistics."""

from decimal import Decimal

import pytest

from services.scoring.aggregates.rules import (
    CellDelta,
    CellRow,
    ScoringSettings,
    StructurePoint,
    group_figures,
    structure_figures,
)
from services.scoring.engine.rules import (
    UnscorableAudit,
    display,
    grid_shape,
    score_answers,
    score_v1,
)
from services.scoring.voice.rules import VoiceContribution, contribution, perceived
from shared.contracts.fieldwork import AnswerV1, AnswerV2, GridItemV1, GridV1
from tests.scoring.factory import grid


def v1_grid() -> GridV1:
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


def test_v1_grids_score_as_before() -> None:
    _, result = score_v1(
        v1_grid(),
        [
            AnswerV1(item_code="rings", value=Decimal(3)),
            AnswerV1(item_code="name", value=False),
            AnswerV1(item_code="clarity", value=Decimal(3)),
        ],
    )
    # (2 + 0 + 3 * 3/4) / 6 = 4.25 / 6
    assert display(result.score) == Decimal("70.83")
    assert result.score == Decimal("70.8333333333")
    assert result.possible == Decimal(6)
    _, na = score_v1(
        v1_grid(),
        [
            AnswerV1(item_code="rings", value=Decimal(7)),
            AnswerV1(item_code="name", value=True),
            AnswerV1(item_code="clarity", not_applicable=True),
        ],
    )
    assert display(na.score) == Decimal("33.33")
    assert na.possible == Decimal(3)


def answers(**values: object) -> list[AnswerV2]:
    out = []
    for code, value in values.items():
        if value == "n/a":
            out.append(AnswerV2(item_code=code, not_applicable=True))
        else:
            out.append(AnswerV2(item_code=code, value=value))
    return out


def test_every_answer_type_by_its_rule_and_curve() -> None:
    shape = grid_shape(grid("email", "email"))
    result = score_answers(
        shape,
        answers(answered=True, delay=Decimal(7), clarity=Decimal(2), rings=Decimal(6),
                transfers=Decimal(1), comment="polite"),
    )  # fmt: skip
    # answered 3/3; delay within 10 → 0.5 x 2 = 1; clarity 2/4 x 1.5 = 0.75;
    # rings beyond 5 → 0.5/2 x 1 = 0.25; transfers ≤ 2 → 0.3 x 1; free text not scored.
    assert result.obtained == Decimal("5.3")
    assert result.possible == Decimal("8.5")
    assert result.score == Decimal("62.3529411765")
    assert result.items[-1] is None  # free text
    by_criterion = dict(zip(shape.criteria, result.level_scores("criterion"), strict=True))
    assert by_criterion["reactivity"] == Decimal(80)  # (3 + 1) / 5
    assert by_criterion["other"] is None


def test_not_applicable_leaves_the_denominator_and_numbers_may_travel_as_text() -> None:
    shape = grid_shape(grid("email", "email"))
    result = score_answers(
        shape,
        answers(answered=False, delay="n/a", clarity="4", rings="3", transfers="0"),
    )
    assert result.possible == Decimal("6.5")  # 8.5 less the delay's weight
    assert result.obtained == Decimal("3.5")
    assert result.items[1] is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"answered": True}, "delay: no answer"),
        ({"answered": "yes", "delay": Decimal(1), "clarity": Decimal(1), "rings": Decimal(1),
          "transfers": Decimal(1)}, "answered: expects yes/no"),
        ({"answered": True, "delay": Decimal(1), "clarity": Decimal(5), "rings": Decimal(1),
          "transfers": Decimal(1)}, "clarity: expects an integer from 0 to 4"),
        ({"answered": True, "delay": Decimal(-1), "clarity": Decimal(1), "rings": Decimal(1),
          "transfers": Decimal(1)}, "delay: a measured value cannot be negative"),
        ({"answered": True, "delay": Decimal(1), "clarity": Decimal(1), "rings": "n/a",
          "transfers": Decimal(1)}, "rings: 'not applicable' is not allowed"),
        ({"answered": True, "delay": Decimal(1), "clarity": Decimal(1), "rings": Decimal(1),
          "transfers": Decimal("1.5")}, "transfers: a count is an integer"),
        ({"answered": True, "delay": Decimal(1), "clarity": Decimal(1), "rings": Decimal(1),
          "transfers": Decimal(1), "ghost": True}, "ghost: not an item"),
    ],
)  # fmt: skip
def test_answers_that_do_not_fit_the_grid_are_refused(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(UnscorableAudit, match=message):
        score_answers(grid_shape(grid("email", "email")), answers(**values))


def test_structure_score_is_the_weighted_mean_of_its_channel_scores() -> None:
    shape = grid_shape(grid("g", "email"))
    full = score_answers(shape, answers(answered=True, delay=Decimal(1), clarity=Decimal(4),
                                        rings=Decimal(1), transfers=Decimal(0)))  # fmt: skip
    empty = score_answers(shape, answers(answered=False, delay=Decimal(20), clarity=Decimal(0),
                                         rings=Decimal(9), transfers=Decimal(5)))  # fmt: skip
    assert full.score == 100
    cells = []
    for channel, audits in (("email", [full, empty]), ("phone", [full])):
        delta = CellDelta()
        for a in audits:
            delta.add(shape, a, +1)
        cells.append(CellRow("site", channel, "g", 1, delta.audits, delta.score_total,
                             delta.totals, delta.counts))  # fmt: skip
    email = empty.score / 2 + 50
    overall, count, figures = structure_figures(cells, {("g", 1): shape}, ScoringSettings())
    assert count == 3
    assert overall == ((email + 100) / 2).quantize(Decimal("1e-10"))  # not the mean of audits
    weighted, _, _ = structure_figures(
        cells, {("g", 1): shape},
        ScoringSettings(channel_weights={"email": Decimal(3), "phone": Decimal(1)}),
    )  # fmt: skip
    assert weighted == ((3 * email + 100) / 4).quantize(Decimal("1e-10"))
    assert figures["sites"]["site"]["audits"] == 3


def test_group_statistics() -> None:
    points = [StructurePoint(Decimal(s), 13) for s in (50, 60, 70, 80, 90)] + [
        StructurePoint(None, 0)
    ]
    f = group_figures(points, Decimal(80))
    assert f["structures"] == 5
    assert f["audits"] == 65
    assert Decimal(f["mean"]) == 70
    assert Decimal(f["median"]) == 70
    assert Decimal(f["q1"]) == 60
    assert Decimal(f["q3"]) == 80
    assert Decimal(f["p10"]) == 54  # 50 + 0.4 x 10
    assert Decimal(f["p90"]) == 86
    assert (Decimal(f["min"]), Decimal(f["max"])) == (Decimal(50), Decimal(90))
    assert Decimal(f["stddev"]) == Decimal("14.1421356237")  # sqrt(200)
    assert f["performing"] == 2
    assert Decimal(f["performing_share"]) == Decimal("0.4")
    assert group_figures([], Decimal(80)) == {"structures": 0, "audits": 0}


def test_perceived_quality_is_withheld_below_the_minimum() -> None:
    kiosk_yes = contribution("kiosk_feedback", satisfied=True, satisfaction=None,
                             participants=None, population_reached=None)  # fmt: skip
    survey = contribution("citizen_survey", satisfied=None, satisfaction=Decimal(40),
                          participants=None, population_reached=None)  # fmt: skip
    sums = VoiceContribution(
        responses=kiosk_yes.responses + survey.responses,
        satisfaction_total=kiosk_yes.satisfaction_total + survey.satisfaction_total,
        consultations=1, participants=30, population_reached=120,
    )  # fmt: skip
    shown = perceived(sums, 2)
    assert shown.published
    assert shown.satisfaction_index == 70
    assert shown.participation_rate == Decimal("0.25")
    hidden = perceived(sums, 3)
    assert not hidden.published
    assert hidden.satisfaction_index is None


def test_a_structure_known_only_from_v1_audits_counts_in_the_sample_only() -> None:
    from services.scoring.aggregates.rules import groups_of

    assert groups_of("", "", False) == [("sample", "")]
    assert ("certified", "true") in groups_of("cities-50k-plus", "city_hall", True)
