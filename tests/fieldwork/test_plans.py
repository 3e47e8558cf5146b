"""Plans from REGISTRY events, against the real PostgreSQL and NATS: exact quotas and dates,
idempotent redelivery, grids published once, re-planning, the default calendar for v1."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from typing import Any

from services.fieldwork.calendar.rules import is_working_day
from shared.contracts.registry import (
    ChannelWindowV2,
    EditionCreatedV1,
    RegistrationAcceptedV1,
    SiteRef,
)
from tests.fieldwork.conftest import Fieldwork, registration_v2

SPANS_2017 = {
    "website": (date(2017, 7, 17), date(2017, 7, 21)),
    "answering_machine": (date(2017, 7, 24), date(2017, 8, 4)),
    "email": (date(2017, 9, 4), date(2017, 10, 27)),
    "letter": (date(2017, 9, 4), date(2017, 10, 27)),
    "phone": (date(2017, 9, 4), date(2017, 10, 27)),
    "visit": (date(2017, 9, 4), date(2017, 10, 27)),
}


def assert_dated(tasks: list[dict[str, Any]], departement: str) -> None:
    for task in tasks:
        day = date.fromisoformat(task["planned_on"])
        first, last = SPANS_2017[task["channel"]]
        assert first <= day <= last, task
        assert is_working_day(day, departement), task
    per_day = Counter((t["site_id"], t["channel"], t["planned_on"]) for t in tasks)
    assert max(per_day.values()) == 1  # never two audits of one channel on a site the same day


async def test_a_site_without_visits_gets_its_13_dated_audits(fw: Fieldwork) -> None:
    edition_id, structure_id, site_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await fw.publish(registration_v2(edition_id, structure_id, [site_id]))
    tasks = await fw.planned(edition_id, 13)
    assert Counter(t["channel"] for t in tasks) == {
        "email": 4, "phone": 4, "answering_machine": 1, "letter": 3, "website": 1,
    }  # fmt: skip
    assert {t["status"] for t in tasks} == {"planned"}
    assert_dated(tasks, "44")
    assert all(t["scenario_code"] for t in tasks)
    settings = await fw.call("GET", f"/v1/editions/{edition_id}/fieldwork-settings")
    assert settings["calendar_source"] == "event"
    assert settings["year"] == 2017


async def test_a_site_with_the_visits_option_gets_2_visits_and_pages_walk_every_task(
    fw: Fieldwork,
) -> None:
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    sites = [uuid.uuid4(), uuid.uuid4()]
    await fw.publish(registration_v2(edition_id, structure_id, sites, options=["visits"],
                                     departement="67"))  # fmt: skip
    tasks = await fw.planned(edition_id, 30)
    assert len(tasks) == 30
    assert Counter(t["channel"] for t in tasks)["visit"] == 4
    assert_dated(tasks, "67")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        body = await fw.call("GET", f"/v1/editions/{edition_id}/tasks",
                             params={"limit": 7, **({"cursor": cursor} if cursor else {})})  # fmt: skip
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [t["id"] for t in tasks]
    r = await fw.client.get(f"/v1/editions/{edition_id}/tasks", params={"cursor": "nope"},
                            headers=fw.operator)  # fmt: skip
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_holidays_inside_a_window_are_never_planned(fw: Fieldwork) -> None:
    # May 2017: 1, 8 and 25 May are public holidays; 20 e-mails over the month's working days.
    windows = [
        ChannelWindowV2(channel="email", starts_on=date(2017, 5, 1), ends_on=date(2017, 5, 31))
    ]
    from shared.contracts.registry import ChannelQuotaV2

    quotas = [ChannelQuotaV2(channel="email", audits_per_site=19)]
    edition_id = uuid.uuid4()
    await fw.publish(registration_v2(edition_id, uuid.uuid4(), [uuid.uuid4()], windows=windows,
                                     quotas=quotas))  # fmt: skip
    tasks = await fw.planned(edition_id, 19)
    days = {t["planned_on"] for t in tasks}
    assert len(days) == 19
    assert not days & {"2017-05-01", "2017-05-08", "2017-05-25"}
    assert all(date.fromisoformat(d).weekday() < 5 for d in days)


async def test_planning_is_idempotent_on_redelivery(fw: Fieldwork) -> None:
    edition_id, structure_id, site_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    payload = registration_v2(edition_id, structure_id, [site_id])
    event_id = uuid.uuid4()
    await fw.publish(payload, event_id)
    first = await fw.planned(edition_id, 13)
    await fw.publish(payload, event_id)  # the same event again (JetStream drops it)
    await fw.publish(payload)  # the same registration under a new event id (the inbox lets it in)
    await fw.drained()
    again = await fw.all_tasks(edition_id)
    assert [(t["id"], t["planned_on"]) for t in again] == [
        (t["id"], t["planned_on"]) for t in first
    ]
    # Each grid version is announced once, however often it is used.
    await fw.publish(registration_v2(edition_id, uuid.uuid4(), [uuid.uuid4()]))
    await fw.planned(edition_id, 26)
    grids = await fw.stream("fieldwork.grid.published.v1")
    assert sorted(g["code"] for g in grids) == [
        "answering_machine", "email", "letter", "phone", "website",
    ]  # fmt: skip
    listed = await fw.call("GET", "/v1/grids")
    assert {g["code"] for g in listed if g["published_at"]} == {g["code"] for g in grids}
    assert len(listed) == 7


async def test_a_v1_registration_is_planned_on_the_default_calendar_of_its_edition(
    fw: Fieldwork,
) -> None:
    edition_id, site_id = uuid.uuid4(), uuid.uuid4()
    await fw.publish(
        EditionCreatedV1(edition_id=edition_id, year=2017, name="2017", status="draft")
    )
    await fw.publish(
        RegistrationAcceptedV1(
            registration_id=uuid.uuid4(), edition_id=edition_id, structure_id=uuid.uuid4(),
            structure_type="library", commune_code="57463", population=116_000,
            stratum_code="s", stratum_label="S", certified=False, offer="personalised",
            sites=[SiteRef(site_id=site_id, name="Médiathèque", principal=True)],
        )
    )  # fmt: skip
    tasks = await fw.planned(edition_id, 15)
    assert_dated(tasks, "57")  # the 2017 calendar: Metz (57) follows Alsace-Moselle's
    assert Counter(t["channel"] for t in tasks)["visit"] == 2


async def test_the_operator_re_plans_a_site_and_an_edition(fw: Fieldwork) -> None:
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    site_a, site_b = uuid.uuid4(), uuid.uuid4()
    await fw.publish(registration_v2(edition_id, structure_id, [site_a, site_b]))
    tasks = await fw.planned(edition_id, 26)
    auditor = await fw.auditor("Replan")
    kept = next(t for t in tasks if t["site_id"] == str(site_a) and t["channel"] == "email")
    await fw.call("POST", f"/v1/tasks/{kept['id']}/assign", json={"auditor_id": auditor})

    out = await fw.call("POST", f"/v1/editions/{edition_id}/sites/{site_a}/replan",
                        json={"seed": 42})  # fmt: skip
    assert out == {"sites": 1, "tasks_planned": 12}
    after = await fw.all_tasks(edition_id)
    assert len(after) == 26
    site_a_tasks = [t for t in after if t["site_id"] == str(site_a)]
    assert kept["id"] in {t["id"] for t in site_a_tasks}  # assigned tasks keep their day
    assert Counter(t["channel"] for t in site_a_tasks)["email"] == 4
    assert_dated(after, "44")
    untouched = {t["id"] for t in tasks if t["site_id"] == str(site_b)}
    assert untouched <= {t["id"] for t in after}

    out = await fw.call("POST", f"/v1/editions/{edition_id}/replan", json={})
    assert out == {"sites": 2, "tasks_planned": 25}
    final = await fw.all_tasks(edition_id)
    assert len(final) == 26
    assert_dated(final, "44")
    r = await fw.client.post(f"/v1/editions/{uuid.uuid4()}/replan", json={}, headers=fw.operator)
    assert r.status_code == 404


async def test_a_v2_event_replaces_an_untouched_plan_made_from_v1(fw: Fieldwork) -> None:
    edition_id, structure_id, site_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await fw.publish(
        RegistrationAcceptedV1(
            registration_id=uuid.uuid4(), edition_id=edition_id, structure_id=structure_id,
            structure_type="city_hall", commune_code="44109", population=320_000,
            stratum_code="s", stratum_label="S", certified=False, offer="standard",
            sites=[SiteRef(site_id=site_id, name="Mairie", principal=True)],
        )
    )  # fmt: skip
    await fw.planned(edition_id, 13)
    # The v2 reading of the same registration brings the visits option and the real calendar.
    await fw.publish(registration_v2(edition_id, structure_id, [site_id], options=["visits"]))
    tasks = await fw.planned(edition_id, 15)
    assert len(tasks) == 15
    assert_dated(tasks, "44")
    settings = await fw.call("GET", f"/v1/editions/{edition_id}/fieldwork-settings")
    assert settings["calendar_source"] == "event"
