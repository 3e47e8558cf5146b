"""Submissions: check answers against their grid version, check the evidence, and measure
what the service measures itself (reply delays in working days, rings, waiting time). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.fieldwork.calendar.rules import working_days_after
from services.fieldwork.plans.rules import Window
from shared.contracts.fieldwork import AnswerV2, GridItemV2, GridPublishedV1

PARIS = ZoneInfo("Europe/Paris")
FREE_TEXT_MAX = 2000

# Answer types the service fills from the evidence; the auditor does not send them.
MEASURED_FROM_EVIDENCE = {
    "delay_working_days": "evidence.contacted_at and evidence.answered_at",
    "duration_rings": "evidence.rings",
    "duration_seconds": "evidence.waiting_seconds",
}

Value = bool | Decimal | str | None


@dataclass(frozen=True)
class Facts:
    """The evidence of one audit."""

    contacted_at: datetime
    answered_at: datetime | None = None
    rings: int | None = None
    waiting_seconds: int | None = None
    agent_named: bool | None = None


@dataclass(frozen=True)
class Given:
    item_code: str
    value: Value = None
    not_applicable: bool = False


def local_day(moment: datetime) -> date:
    """The day a moment falls on in metropolitan France (where the calendar is counted)."""
    return moment.astimezone(PARIS).date()


def reply_delay(facts: Facts, departement_code: str | None) -> int | None:
    """Working days after the contact day up to and including the reply day (None: no reply)."""
    if facts.answered_at is None:
        return None
    return working_days_after(
        local_day(facts.contacted_at), local_day(facts.answered_at), departement_code
    )


def evidence_problems(channel: str, facts: Facts, windows: Sequence[Window]) -> list[str]:
    problems: list[str] = []
    day = local_day(facts.contacted_at)
    spans = [(w.starts_on, w.ends_on) for w in windows if w.channel == channel]
    if not any(first <= day <= last for first, last in spans):
        shown = ", ".join(f"{a.isoformat()} to {b.isoformat()}" for a, b in spans) or "none"
        problems.append(
            f"evidence.contacted_at: {day.isoformat()} is outside the {channel} window(s) ({shown})"
        )
    if facts.answered_at is not None and facts.answered_at < facts.contacted_at:
        problems.append("evidence.answered_at: the reply comes before the contact")
    return problems


def measures(facts: Facts, departement_code: str | None) -> dict[str, int | None]:
    return {
        "delay_working_days": reply_delay(facts, departement_code),
        "duration_rings": facts.rings,
        "duration_seconds": facts.waiting_seconds,
    }


def value_problem(item: GridItemV2, value: Value) -> str | None:
    """What is wrong with a value for this item (None when it fits)."""
    kind = item.answer_type
    if kind == "yes_no":
        return None if isinstance(value, bool) else "expects yes/no (true or false)"
    if kind == "free_text":
        if not isinstance(value, str):
            return "expects a text"
        return (
            None if len(value) <= FREE_TEXT_MAX else f"a text of {FREE_TEXT_MAX} characters at most"
        )
    if isinstance(value, bool) or not isinstance(value, Decimal):
        return "expects a number"
    if value != value.to_integral_value():
        return "expects a whole number"
    if kind == "scale" and not (0 <= value <= (item.scale_max or 0)):
        return f"expects a value from 0 to {item.scale_max}"
    if value < 0:
        return "cannot be negative"
    return None


def check_answers(
    grid: GridPublishedV1, given: Sequence[Given], measured: dict[str, int | None]
) -> tuple[list[AnswerV2], list[str]]:
    """The answers to publish (grid order), or the problems that forbid the submission."""
    problems: list[str] = []
    by_code: dict[str, Given] = {}
    items = {item.code: item for item in grid.items}
    for sent in given:
        if sent.item_code not in items:
            problems.append(f"{sent.item_code}: not an item of grid {grid.code} v{grid.version}")
        elif sent.item_code in by_code:
            problems.append(f"{sent.item_code}: answered twice")
        by_code[sent.item_code] = sent
    answers: list[AnswerV2] = []
    scored = 0
    for item in grid.items:
        answer = by_code.get(item.code)
        if answer is not None and answer.not_applicable:
            if not item.not_applicable_allowed:
                problems.append(f"{item.code}: 'not applicable' is not allowed for this item")
            elif answer.value is not None:
                problems.append(f"{item.code}: a 'not applicable' answer carries no value")
            else:
                answers.append(AnswerV2(item_code=item.code, not_applicable=True))
            continue
        source = MEASURED_FROM_EVIDENCE.get(item.answer_type)
        if source is not None:
            if answer is not None:
                problems.append(
                    f"{item.code}: measured by the service from {source}; send no value"
                )
                continue
            value = measured.get(item.answer_type)
            if value is None and item.answer_type != "delay_working_days":
                if item.mandatory:
                    problems.append(f"{item.code}: needs {source}")
                continue
            # A delay without a reply stays None: "no reply", which earns the curve's
            # `otherwise_points`.
            answers.append(
                AnswerV2(item_code=item.code, value=None if value is None else Decimal(value))
            )
            scored += item.weight > 0
            continue
        if answer is None:
            if item.mandatory:
                problems.append(f"{item.code}: no answer")
            continue
        problem = value_problem(item, answer.value)
        if problem is not None:
            problems.append(f"{item.code}: {problem}")
            continue
        answers.append(AnswerV2(item_code=item.code, value=answer.value))
        scored += item.weight > 0
    if not problems and scored == 0:
        problems.append("every scored item is 'not applicable': the audit has nothing to score")
    return answers, problems
