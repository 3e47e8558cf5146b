"""The audit plan of a site, as a pure function."""

from __future__ import annotations

import uuid
from collections import Counter

from services.fieldwork.planning import Channel, plan_tasks


def test_standard_offer_plans_13_remote_audits_per_site() -> None:
    site = uuid.uuid4()
    tasks = plan_tasks([site], "standard")
    assert len(tasks) == 13
    assert Counter(t.channel for t in tasks) == {
        Channel.EMAIL: 4,
        Channel.PHONE: 4,
        Channel.ANSWERING_MACHINE: 1,
        Channel.LETTER: 3,
        Channel.WEBSITE: 1,
    }
    assert all(t.site_id == site for t in tasks)


def test_sequences_count_from_one_within_each_channel() -> None:
    tasks = plan_tasks([uuid.uuid4()], "standard")
    emails = [t.sequence for t in tasks if t.channel is Channel.EMAIL]
    assert emails == [1, 2, 3, 4]
    assert len({(t.channel, t.sequence) for t in tasks}) == len(tasks)


def test_personalised_offer_adds_two_visits_per_site() -> None:
    principal, annex = uuid.uuid4(), uuid.uuid4()
    tasks = plan_tasks([principal, annex], "personalised")
    assert len(tasks) == 30
    visits = [(t.site_id, t.sequence) for t in tasks if t.channel is Channel.VISIT]
    assert visits == [(principal, 1), (principal, 2), (annex, 1), (annex, 2)]


def test_standard_offer_has_no_visit() -> None:
    tasks = plan_tasks([uuid.uuid4(), uuid.uuid4()], "standard")
    assert Channel.VISIT not in {t.channel for t in tasks}


def test_a_site_listed_twice_is_planned_once() -> None:
    site = uuid.uuid4()
    assert plan_tasks([site, site], "standard") == plan_tasks([site], "standard")


def test_no_site_no_task() -> None:
    assert plan_tasks([], "personalised") == []


def test_volume_can_be_changed_per_edition() -> None:
    tasks = plan_tasks([uuid.uuid4()], "personalised", remote_volume={Channel.PHONE: 2},
                       visits_per_site=0)  # fmt: skip
    assert [(t.channel, t.sequence) for t in tasks] == [(Channel.PHONE, 1), (Channel.PHONE, 2)]
