"""Fieldwork's pure rules, without a database: working days, grid files, scenarios, planning,
assignment, task transitions, answer and evidence checks, name masking."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.fieldwork.auditors.rules import (
    AuditorProfile,
    OpenTask,
    Workload,
    assign_automatically,
    pseudonym_key,
)
from services.fieldwork.calendar.rules import is_working_day, working_days_after
from services.fieldwork.channels import CHANNELS
from services.fieldwork.grids.rules import GridFileError, parse_grid
from services.fieldwork.grids.service import shipped_grids
from services.fieldwork.plans.rules import (
    DEFAULT_QUOTAS,
    PlannedTask,
    PlanningError,
    Window,
    default_windows,
    plan_site,
    site_counts,
    with_scenarios,
)
from services.fieldwork.scenarios.rules import choose_scenarios, spread_scenarios
from services.fieldwork.scenarios.service import catalogue
from services.fieldwork.statuses import TaskStatus
from services.fieldwork.submissions.rules import (
    Facts,
    Given,
    check_answers,
    evidence_problems,
    measures,
)
from services.fieldwork.tasks.rules import TRANSITIONS, IllegalTransition, next_status
from services.fieldwork.voice.rules import mask_names

STRUCTURE_TYPES = [
    "city_hall",
    "intercommunality",
    "departement",
    "region",
    "france_services",
    "ccas",
    "library",
    "tourist_office",
    "general_administration",
    "health_social_security",
    "social_care",
    "social_housing",
    "security",
    "postal",
    "culture_sport",
    "employment",
    "water_energy",
    "local_transport",
    "education_training",
    "chambers",
]


# --- working days -----------------------------------------------------------------------------


def test_working_days_skip_weekends_and_public_holidays() -> None:
    # Thursday 13 July 2017 -> Monday 17 July: 14 July (national day) and a weekend between.
    assert working_days_after(date(2017, 7, 13), date(2017, 7, 17), "44") == 1
    assert working_days_after(date(2017, 7, 13), date(2017, 7, 13), "44") == 0
    # Friday -> Monday: 1 working day.
    assert working_days_after(date(2017, 9, 8), date(2017, 9, 11), "44") == 1
    # Two full weeks: 10 working days.
    assert working_days_after(date(2017, 9, 4), date(2017, 9, 18), None) == 10
    assert not is_working_day(date(2017, 11, 1), "75")  # All Saints' Day
    assert not is_working_day(date(2017, 9, 9), "75")  # a Saturday


def test_alsace_moselle_has_two_more_holidays() -> None:
    # Good Friday 14 April 2017 and 26 December are holidays in 57, 67 and 68 only.
    for departement in ("57", "67", "68"):
        assert not is_working_day(date(2017, 4, 14), departement)
        assert not is_working_day(date(2017, 12, 26), departement)
        assert working_days_after(date(2017, 4, 13), date(2017, 4, 18), departement) == 1
    assert is_working_day(date(2017, 4, 14), "69")
    assert working_days_after(date(2017, 4, 13), date(2017, 4, 18), "69") == 2  # Fri, Tue


# --- grid files -------------------------------------------------------------------------------


def test_every_default_grid_loads_with_8_to_20_items() -> None:
    grids = [g for _, g in shipped_grids()]
    assert {g.channel for g in grids} == CHANNELS
    for grid in grids:
        assert 8 <= len(grid.items) <= 20, grid.code
        assert {i.journey_step for i in grid.items} == {
            "access", "reception_information_orientation", "processing",
        }  # fmt: skip
        for item in grid.items:
            assert item.label_fr
            assert item.label_en
    by_code = {i.code: i for g in grids for i in g.items}
    # The Marianne commitments: 5 rings, e-mail within 5 working days, letter within 15.
    assert by_code["phone_rings"].rule is not None
    assert by_code["phone_rings"].rule.curve[0].up_to == 5
    assert by_code["email_reply_delay"].rule is not None
    assert by_code["email_reply_delay"].rule.curve[0].up_to == 5
    assert by_code["letter_reply_delay"].rule is not None
    assert by_code["letter_reply_delay"].rule.curve[0].up_to == 15
    assert by_code["phone_agent_named"].answer_type == "yes_no"


GOOD_ITEM = """
  - code: a_item
    label_fr: Un item
    label_en: An item
    criterion: courtesy
    journey_step: access
    answer_type: yes_no
    weight: 1
    rule: {points: {"true": 1, "false": 0}}
"""


def _grid(
    items: str, head: str = "code: gx\nversion: 1\nchannel: phone\nrules_version: '1'\n"
) -> str:
    return head + "items:" + items


def _problems(text: str) -> list[str]:
    with pytest.raises(GridFileError) as caught:
        parse_grid("custom.yaml", text)
    return caught.value.problems


def test_a_good_grid_file_parses_with_exact_decimals() -> None:
    text = _grid(GOOD_ITEM.replace("weight: 1", "weight: 0.1"))
    grid = parse_grid("custom.yaml", text)
    assert grid.items[0].weight == Decimal("0.1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("code: [unclosed", "custom.yaml: not valid YAML"),
        (_grid(GOOD_ITEM) + "extra: 1\n", "custom.yaml: field extra: unknown field"),
        ("code: g\nversion: 1\nchannel: phone\nitems: []\n", "custom.yaml: field rules_version: missing"),
        (_grid(GOOD_ITEM, "code: gx\nversion: 1\nchannel: fax\nrules_version: '1'\n"),
         "custom.yaml: field channel: 'fax' is not one of"),
        (_grid(GOOD_ITEM.replace("answer_type: yes_no", "answer_type: colour")),
         "custom.yaml: item 1 (a_item): field answer_type:"),
        (_grid(GOOD_ITEM.replace("    weight: 1\n", "")), "custom.yaml: item 1 (a_item): field weight: Field required"),
        (_grid(GOOD_ITEM.replace('"false": 0', '"no": 0')),
         "custom.yaml: item 1 (a_item): field rule.points: needs exactly the answers"),
        (_grid(GOOD_ITEM.replace("criterion: courtesy", "criterion: charm")),
         "custom.yaml: item 1 (a_item): field criterion: unknown criterion 'charm'"),
        (_grid(GOOD_ITEM + GOOD_ITEM), "custom.yaml: item 2 (a_item): field code: 'a_item' appears twice"),
        (_grid(GOOD_ITEM.replace("answer_type: yes_no", "answer_type: delay_working_days")),
         "custom.yaml: item 1 (a_item): field rule.curve: a measured answer needs at least one step"),
        (_grid(GOOD_ITEM.replace("answer_type: yes_no", "answer_type: free_text")),
         "custom.yaml: item 1 (a_item): field rule: a free_text item is never scored"),
        (_grid(GOOD_ITEM.replace("answer_type: yes_no", "answer_type: scale")),
         "custom.yaml: item 1 (a_item): field scale_max: required for a scale answer"),
    ],
)  # fmt: skip
def test_grid_file_errors_name_the_file_item_and_field(text: str, expected: str) -> None:
    problems = _problems(text)
    assert any(p.startswith(expected) for p in problems), problems


# --- scenarios --------------------------------------------------------------------------------


def test_the_catalogue_covers_every_structure_type_and_channel() -> None:
    scenarios = catalogue()
    common = [s for s in scenarios if s.common]
    assert len(common) >= 3
    for kind in STRUCTURE_TYPES:
        assert any(kind in s.structure_types for s in scenarios), kind
    for channel in CHANNELS:  # every channel has a common scenario to fall back on
        assert any(channel in s.channels for s in common), channel


def test_a_site_gets_2_or_3_common_scenarios_and_1_specific_all_played() -> None:
    for seed in range(20):
        chosen = choose_scenarios(catalogue(), "city_hall", random.Random(seed))
        assert 2 <= sum(s.common for s in chosen) <= 3
        assert [s.code for s in chosen if not s.common] == ["city_hall_birth_certificate"]
        channels = ["email"] * 4 + ["phone"] * 4 + ["letter"] * 3 + ["website", "answering_machine"]
        codes = spread_scenarios(channels, chosen, catalogue())
        assert {s.code for s in chosen} <= set(codes)  # every chosen scenario is played


# --- plans ------------------------------------------------------------------------------------

WINDOWS_2017 = default_windows(2017)  # the seed's 2017 calendar


def test_quotas_give_13_remote_audits_and_2_visits_with_the_option() -> None:
    assert site_counts(DEFAULT_QUOTAS, []) == {
        "email": 4, "phone": 4, "answering_machine": 1, "letter": 3, "website": 1,
    }  # fmt: skip
    assert sum(site_counts(DEFAULT_QUOTAS, ["visits"]).values()) == 15


def test_a_site_plan_is_dated_on_distinct_working_days_inside_the_windows() -> None:
    counts = site_counts(DEFAULT_QUOTAS, ["visits"])
    tasks = plan_site(site_key="s1", departement_code="44", counts=counts,
                      windows=WINDOWS_2017, seed=7)  # fmt: skip
    assert Counter(t.channel for t in tasks) == counts
    spans = {w.channel: (w.starts_on, w.ends_on) for w in WINDOWS_2017}
    for task in tasks:
        first, last = spans[task.channel]
        assert first <= task.planned_on <= last
        assert is_working_day(task.planned_on, "44")
    for channel in counts:
        days = [t.planned_on for t in tasks if t.channel == channel]
        assert len(days) == len(set(days))  # never twice on one day
        assert [t.sequence for t in tasks if t.channel == channel] == list(range(1, len(days) + 1))
        assert days == sorted(days)
    # Spread: the 4 e-mails fall in the 4 quarters of the 4 Sept-27 Oct window.
    emails = [t.planned_on for t in tasks if t.channel == "email"]
    quarter = (date(2017, 10, 27) - date(2017, 9, 4)) / 4
    for n, day in enumerate(emails):
        assert date(2017, 9, 4) + quarter * n - timedelta(days=3) <= day
        assert day <= date(2017, 9, 4) + quarter * (n + 1) + timedelta(days=3)


def test_planning_is_deterministic_for_a_seed() -> None:
    counts = site_counts(DEFAULT_QUOTAS, [])

    def make(seed: int) -> list[PlannedTask]:
        return plan_site(site_key="s", departement_code=None, counts=counts,
                         windows=WINDOWS_2017, seed=seed)  # fmt: skip

    assert make(1) == make(1)
    assert make(1) != make(2)


def test_holidays_are_never_planned() -> None:
    # May 2017 has three holidays (1, 8 and 25 May) and Whit Monday 5 June.
    window = [Window("email", date(2017, 5, 1), date(2017, 6, 5))]
    holidays = {date(2017, 5, 1), date(2017, 5, 8), date(2017, 5, 25), date(2017, 6, 5)}
    for seed in range(50):
        tasks = plan_site(site_key="s", departement_code="57", counts={"email": 20},
                          windows=window, seed=seed)  # fmt: skip
        assert not {t.planned_on for t in tasks} & holidays
        assert all(t.planned_on.weekday() < 5 for t in tasks)


def test_too_few_working_days_or_no_window_is_a_planning_error() -> None:
    window = [Window("website", date(2017, 7, 17), date(2017, 7, 21))]  # 5 working days
    with pytest.raises(PlanningError, match="5 free working day"):
        plan_site(
            site_key="s", departement_code=None, counts={"website": 6}, windows=window, seed=0
        )
    with pytest.raises(PlanningError, match="no window"):
        plan_site(site_key="s", departement_code=None, counts={"visit": 1}, windows=window, seed=0)


def test_kept_days_are_avoided_when_re_planning() -> None:
    window = [Window("website", date(2017, 7, 17), date(2017, 7, 21))]
    taken = {
        "website": {date(2017, 7, 17), date(2017, 7, 18), date(2017, 7, 19), date(2017, 7, 20)}
    }
    tasks = plan_site(site_key="s", departement_code=None, counts={"website": 1}, windows=window,
                      seed=3, taken=taken, first_sequence={"website": 5})  # fmt: skip
    assert [(t.planned_on, t.sequence) for t in tasks] == [(date(2017, 7, 21), 5)]


def test_tasks_get_scenarios_compatible_with_their_channel() -> None:
    counts = site_counts(DEFAULT_QUOTAS, ["visits"])
    tasks = plan_site(site_key="s", departement_code=None, counts=counts,
                      windows=WINDOWS_2017, seed=1)  # fmt: skip
    dated, chosen = with_scenarios(tasks, site_key="s", structure_type="library",
                                   catalogue=catalogue(), seed=1)  # fmt: skip
    scenarios = {s.code: s for s in catalogue()}
    assert len(dated) == 15
    for task in dated:
        assert task.scenario_code is not None
        assert task.channel in scenarios[task.scenario_code].channels
    assert "library_registration" in chosen


# --- auditors and assignment ------------------------------------------------------------------


def test_pseudonyms_compare_without_case_or_accents() -> None:
    assert pseudonym_key("Éloïse  MARTIN") == pseudonym_key("eloise martin")
    assert pseudonym_key("Zoé") != pseudonym_key("Zoe B")


def _auditor(departement: str = "44", channels: str = "email phone visit", capacity: int = 10,
             linked: frozenset[uuid.UUID] = frozenset(), active: bool = True) -> AuditorProfile:  # fmt: skip
    return AuditorProfile(uuid.uuid4(), departement, frozenset(channels.split()), capacity,
                          linked, active)  # fmt: skip


def _task(channel: str, day: date, site: uuid.UUID | None = None,
          structure: uuid.UUID | None = None, departement: str = "44") -> OpenTask:  # fmt: skip
    return OpenTask(uuid.uuid4(), structure or uuid.uuid4(), site or uuid.uuid4(), channel, day,
                    departement)  # fmt: skip


def test_assignment_respects_every_constraint_and_balances_load() -> None:
    monday = date(2017, 9, 4)
    structure, site = uuid.uuid4(), uuid.uuid4()
    linked = _auditor(linked=frozenset({structure}))
    elsewhere = _auditor(departement="35")
    free = _auditor(capacity=2)
    other = _auditor(capacity=2)
    tasks = [
        _task("email", monday, site, structure),
        _task("email", monday + timedelta(days=1), site, structure),
        _task("email", monday + timedelta(days=2), site, structure),
        _task("visit", monday, departement="44"),
        _task("visit", monday, departement="29"),  # nobody lives in Finistère
        _task("phone", monday + timedelta(days=3)),
        _task("phone", monday + timedelta(days=3)),
    ]
    assigned, refused = assign_automatically(tasks, [linked, elsewhere, free, other], Workload())
    by_task = {t.id: t for t in tasks}
    assert linked.id not in {assigned.get(t.id) for t in tasks if t.structure_id == structure}
    for task_id, auditor_id in assigned.items():
        if by_task[task_id].channel == "visit":
            assert auditor_id in {linked.id, free.id, other.id}  # residents of 44 only
    # Never one auditor twice on one site and channel: the third e-mail of the site goes to
    # the auditor living in 35 (remote channels need no residence).
    emails = [assigned[t.id] for t in tasks[:3]]
    assert len(set(emails)) == 3
    reasons = {r.task_id: r.reason for r in refused}
    assert "lives in département 29" in reasons[tasks[4].id]
    # Capacity 2 a week for `free` and `other`, 10 for the others; load is balanced.
    loads = Counter(assigned.values())
    assert max(loads.values()) - min(loads.values()) <= 1
    week = Counter((assigned[t.id]) for t in tasks if t.id in assigned)
    assert week[free.id] <= 2
    assert week[other.id] <= 2


def test_an_impossible_assignment_is_reported_with_its_reason() -> None:
    day = date(2017, 9, 4)
    only = _auditor(channels="email", capacity=1)
    tasks = [_task("email", day), _task("email", day), _task("letter", day)]
    assigned, refused = assign_automatically(tasks, [only], Workload())
    assert len(assigned) == 1
    reasons = sorted(r.reason for r in refused)
    assert reasons == [
        "every eligible auditor is at full capacity in week 2017-W36",
        "no active auditor does the letter channel",
    ]
    inactive = _auditor(active=False)
    _, refused = assign_automatically([_task("email", day)], [inactive], Workload())
    assert refused[0].reason == "no active auditor"


# --- task transitions -------------------------------------------------------------------------


def test_every_legal_transition_and_every_illegal_one() -> None:
    for action, moves in TRANSITIONS.items():
        for status in TaskStatus:
            if status in moves:
                assert next_status(action, status) == moves[status]
            else:
                with pytest.raises(IllegalTransition):
                    next_status(action, status)
    assert next_status("submit", TaskStatus.RETURNED) is TaskStatus.SUBMITTED
    with pytest.raises(IllegalTransition, match="cannot validate an audit task that is assigned"):
        next_status("validate", TaskStatus.ASSIGNED)


# --- submissions ------------------------------------------------------------------------------

PHONE = next(g for _, g in shipped_grids() if g.channel == "phone")
EMAIL = next(g for _, g in shipped_grids() if g.channel == "email")


def _good_phone() -> list[Given]:
    answers = []
    for item in PHONE.items:
        if item.answer_type == "yes_no":
            answers.append(Given(item.code, True))
        elif item.answer_type in ("scale",):
            answers.append(Given(item.code, Decimal(item.scale_max or 0)))
        elif item.answer_type == "count":
            answers.append(Given(item.code, Decimal(0)))
    return answers


def test_good_answers_pass_and_measures_fill_the_measured_items() -> None:
    facts = Facts(contacted_at=datetime(2017, 9, 5, 9, tzinfo=UTC), rings=3, waiting_seconds=20)
    answers, problems = check_answers(PHONE, _good_phone(), measures(facts, "44"))
    assert problems == []
    by_code = {a.item_code: a for a in answers}
    assert by_code["phone_rings"].value == Decimal(3)
    assert by_code["phone_waiting"].value == Decimal(20)
    assert "phone_remark" not in by_code  # optional free text, not given


def test_every_answer_check() -> None:
    answers = _good_phone()
    answers[0] = Given("phone_number_findable", Decimal(1))  # a number for yes/no
    answers = [a for a in answers if a.item_code != "phone_greeting"]  # a mandatory item missing
    answers += [
        Given("phone_listening", Decimal(5)),  # answered twice, and out of range
        Given("phone_unknown", True),
        Given("phone_answer_complete", None, not_applicable=True),  # N/A not allowed
        Given("phone_rings", Decimal(2)),  # measured by the service
    ]
    answers = [a for a in answers if a.item_code != "phone_orientation"] + [
        Given("phone_orientation", True, not_applicable=True)  # N/A carrying a value
    ]
    answers = [a for a in answers if a.item_code != "phone_transfers"] + [
        Given("phone_transfers", Decimal("1.5"))  # not a whole count
    ]
    facts = Facts(contacted_at=datetime(2017, 9, 5, 9, tzinfo=UTC))  # no rings in evidence
    _, problems = check_answers(PHONE, answers, measures(facts, None))
    text = "\n".join(problems)
    for expected in (
        "phone_number_findable: expects yes/no",
        "phone_greeting: no answer",
        "phone_listening: answered twice",
        "phone_unknown: not an item of grid phone v1",
        "phone_answer_complete: 'not applicable' is not allowed",
        "phone_rings: measured by the service from evidence.rings; send no value",
        "phone_orientation: a 'not applicable' answer carries no value",
        "phone_transfers: expects a whole number",
        "phone_waiting: needs evidence.waiting_seconds",
    ):
        assert expected in text, text
    scaled = [Given(a.item_code, Decimal(9)) if a.item_code == "phone_listening" else a
              for a in _good_phone()]  # fmt: skip
    _, problems = check_answers(PHONE, scaled,
                                measures(Facts(contacted_at=facts.contacted_at, rings=1,
                                               waiting_seconds=1), None))  # fmt: skip
    assert any("expects a value from 0 to 4" in p for p in problems)


def test_evidence_checks_and_the_reply_delay() -> None:
    windows = default_windows(2017)
    # Contact on Friday 27 October 2017 (last day of the window), reply on Thursday 2 November:
    # the weekend and All Saints' Day (1 November) do not count: Mon 30, Tue 31, Thu 2 = 3.
    contact = datetime(2017, 10, 27, 16, 30, tzinfo=UTC)
    facts = Facts(contacted_at=contact, answered_at=datetime(2017, 11, 2, 8, tzinfo=UTC))
    assert evidence_problems("email", facts, windows) == []
    assert measures(facts, "44")["delay_working_days"] == 3
    late = Facts(contacted_at=datetime(2017, 10, 30, 9, tzinfo=UTC))
    assert evidence_problems("email", late, windows) == [
        "evidence.contacted_at: 2017-10-30 is outside the email window(s) (2017-09-04 to 2017-10-27)"
    ]
    backwards = Facts(contacted_at=contact, answered_at=contact - timedelta(hours=1))
    assert "evidence.answered_at: the reply comes before the contact" in evidence_problems(
        "email", backwards, windows
    )
    # Midnight in Paris is still the previous day in UTC: the day counts in Paris time.
    paris_monday = Facts(contacted_at=datetime(2017, 9, 3, 22, 30, tzinfo=UTC))  # 00:30 Monday
    assert evidence_problems("email", paris_monday, windows) == []
    # No reply: the delay stays None ("no reply"), scored with the curve's otherwise_points.
    answers, problems = check_answers(
        EMAIL,
        [Given(i.code, True) if i.answer_type == "yes_no" else Given(i.code, Decimal(4))
         for i in EMAIL.items if i.answer_type in ("yes_no", "scale")],
        measures(Facts(contacted_at=contact), None),
    )  # fmt: skip
    assert problems == []
    assert next(a for a in answers if a.item_code == "email_reply_delay").value is None


# --- name masking -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "masked"),
    [
        ("Merci à Mme Dupont pour son accueil chaleureux.",
         "Merci à Mme [nom] pour son accueil chaleureux."),
        ("M. Le Gall m'a très bien renseigné sur la carte grise",
         "M. [nom] m'a très bien renseigné sur la carte grise"),
        ("Julien, à l'accueil, a été très patient avec ma mère.",
         "[nom], à l'accueil, a été très patient avec ma mère."),
        ("L\u2019agent s\u2019appelait Kenza et elle était adorable",
         "L\u2019agent s\u2019appelait [nom] et elle était adorable"),
        ("Bien reçue par Sophie Martin au guichet 3, rapide et efficace",
         "Bien reçue par [nom] au guichet 3, rapide et efficace"),
        ("La conseillère, Madame de La Fontaine, a refusé de me répondre !",
         "La conseillère, Madame [nom], a refusé de me répondre !"),
        ("Je suis venue à la mairie de Saint-Étienne, rue Jean-Jaurès, pour mon passeport",
         "Je suis venue à la mairie de Saint-Étienne, rue Jean-Jaurès, pour mon passeport"),
        ("Claire et rapide, la réponse. Attente de 10 minutes seulement.",
         "Claire et rapide, la réponse. Attente de 10 minutes seulement."),
        ("M. le maire était absent, personne pour me recevoir.",
         "M. le maire était absent, personne pour me recevoir."),
        ("Un agent nommé Yohann m'a dit de revenir lundi",
         "Un agent nommé [nom] m'a dit de revenir lundi"),
    ],
)  # fmt: skip
def test_names_in_french_comments_are_masked(comment: str, masked: str) -> None:
    assert mask_names(comment) == masked


def test_grid_files_ship_in_the_package() -> None:
    folder = Path(__file__).parents[2] / "services" / "fieldwork" / "grids" / "data"
    assert len(list(folder.glob("*.yaml"))) == len(CHANNELS)
