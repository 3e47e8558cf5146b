"""Fieldwork end to end within the service: registrations planned from REGISTRY events, tasks
assigned, submitted and validated over HTTP, validated audits announced on FIELDWORK."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import nats
from nats.js import JetStreamContext

from services.fieldwork.app import create_app
from shared.contracts.fieldwork import AuditValidatedV1
from shared.contracts.registry import RegistrationAcceptedV1, SiteRef
from shared.events import new_event
from shared.messaging import ensure_stream
from tests.helpers import eventually, running

Headers = Callable[..., dict[str, str]]

PHONE_ANSWERS: list[dict[str, Any]] = [
    {"item_code": "phone_picked_up_within_5_rings", "value": 3},
    {"item_code": "phone_agent_gives_name", "value": True},
    {"item_code": "phone_greeting", "value": False},
    {"item_code": "phone_hold_within_60_seconds", "value": None, "not_applicable": True},
    {"item_code": "phone_transfer_first_attempt", "value": True},
    # 1 must stay the number 1 all the way to the event, never become `true`.
    {"item_code": "phone_answer_clarity", "value": 1},
]


def registration(
    edition_id: uuid.UUID, structure_id: uuid.UUID, sites: list[uuid.UUID], offer: str
) -> RegistrationAcceptedV1:
    return RegistrationAcceptedV1(
        registration_id=uuid.uuid4(),
        edition_id=edition_id,
        structure_id=structure_id,
        structure_type="city_hall",
        commune_code="35238",
        population=222_485,
        stratum_code="city_over_100k",
        stratum_label="Cities over 100,000 inhabitants",
        certified=True,
        offer=offer,
        sites=[SiteRef(site_id=s, name=f"site {i}", principal=i == 0) for i, s in enumerate(sites)],
    )


@dataclass
class Fieldwork:
    client: httpx.AsyncClient
    js: JetStreamContext
    token: Headers

    @property
    def operator(self) -> dict[str, str]:
        return self.token("operator")

    async def publish(
        self, payload: RegistrationAcceptedV1, event_id: uuid.UUID | None = None
    ) -> None:
        event = new_event(payload, edition=payload.edition_id)
        if event_id is not None:
            event = event.model_copy(update={"id": event_id})
        await self.js.publish(event.subject, event.model_dump_json().encode(),
                              headers={"Nats-Msg-Id": str(event.id)})  # fmt: skip

    async def all_tasks(self, edition_id: uuid.UUID, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get(f"/v1/editions/{edition_id}/tasks",
                                  params={"limit": 500, **params}, headers=self.operator)  # fmt: skip
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def planned(self, edition_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            tasks = await self.all_tasks(edition_id)
            return tasks if len(tasks) >= count else None

        return await eventually(probe)

    async def drained(self) -> None:
        """Every REGISTRY message delivered so far has been handled and acknowledged."""

        async def probe() -> bool:
            info = await self.js.consumer_info("REGISTRY", "fieldwork-registry")
            return info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(probe)

    async def auditor(self, pseudonym: str, linked: list[uuid.UUID] | None = None) -> str:
        r = await self.client.post("/v1/auditors", headers=self.operator, json={
            "pseudonym": pseudonym, "home_commune_code": "35238",
            "linked_structure_ids": [str(s) for s in linked or []]})  # fmt: skip
        assert r.status_code == 201, r.text
        auditor_id: str = r.json()["id"]
        return auditor_id


@asynccontextmanager
async def fieldwork(make_settings: Any, token: Headers, nats_url: str) -> AsyncIterator[Fieldwork]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "registry")
        await ensure_stream(js, "fieldwork")
        async with running(create_app(make_settings("fieldwork"))) as client:
            yield Fieldwork(client=client, js=js, token=token)
    finally:
        await nc.close()


async def test_a_registration_is_planned_once(make_settings, token, nats_url) -> None:
    edition_id, structure_id, site_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    payload = registration(edition_id, structure_id, [site_id], "standard")
    async with fieldwork(make_settings, token, nats_url) as fw:
        event_id = uuid.uuid4()
        await fw.publish(payload, event_id)
        tasks = await fw.planned(edition_id, 13)
        await fw.publish(payload, event_id)  # the same event again
        await fw.publish(payload)  # the same registration under a new event id
        await fw.drained()
        info = await fw.js.consumer_info("REGISTRY", "fieldwork-registry")
        assert info.delivered.stream_seq == 2  # JetStream dropped the exact duplicate only
        tasks = await fw.all_tasks(edition_id)
        assert len(tasks) == 13
        assert {t["status"] for t in tasks} == {"planned"}
        assert {t["site_id"] for t in tasks} == {str(site_id)}
        assert {t["structure_id"] for t in tasks} == {str(structure_id)}
        assert all(t["auditor_id"] is None for t in tasks)
        channels = [(t["channel"], t["sequence"]) for t in tasks]
        assert sorted(c for c, _ in channels).count("email") == 4
        assert ("letter", 3) in channels
        assert ("visit", 1) not in channels


async def test_personalised_sites_get_visits_and_pages_walk_every_task(
    make_settings, token, nats_url
) -> None:
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    other_edition = uuid.uuid4()
    sites = [uuid.uuid4(), uuid.uuid4()]
    async with fieldwork(make_settings, token, nats_url) as fw:
        await fw.publish(registration(edition_id, structure_id, sites, "personalised"))
        await fw.publish(registration(other_edition, uuid.uuid4(), [uuid.uuid4()], "standard"))
        await fw.planned(edition_id, 30)
        await fw.planned(other_edition, 13)

        visits = await fw.all_tasks(edition_id, channel="visit")
        assert len(visits) == 4
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
            r = await fw.client.get(f"/v1/editions/{edition_id}/tasks", params=params,
                                    headers=fw.operator)  # fmt: skip
            assert r.status_code == 200, r.text
            body = r.json()
            seen += [t["id"] for t in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == 5
        assert len(seen) == len(set(seen)) == 30
        assert seen == [t["id"] for t in await fw.all_tasks(edition_id)]

        r = await fw.client.get(f"/v1/editions/{edition_id}/tasks",
                                params={"cursor": "not-a-cursor"}, headers=fw.operator)  # fmt: skip
        assert r.status_code == 422
        r = await fw.client.get(f"/v1/editions/{edition_id}/tasks",
                                params={"limit": 501}, headers=fw.operator)  # fmt: skip
        assert r.status_code == 422
        r = await fw.client.get(f"/v1/editions/{edition_id}/tasks",
                                params={"status": "assigned"}, headers=fw.operator)  # fmt: skip
        assert r.json() == {"items": [], "next_cursor": None}


async def test_an_audit_from_assignment_to_validation(make_settings, token, nats_url) -> None:
    edition_id, structure_id, site_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with fieldwork(make_settings, token, nats_url) as fw:
        validated = await fw.js.subscribe("fieldwork.audit.validated.v1", stream="FIELDWORK")
        await fw.publish(registration(edition_id, structure_id, [site_id], "standard"))
        tasks = await fw.planned(edition_id, 13)
        task = next(t for t in tasks if t["channel"] == "phone" and t["sequence"] == 1)
        auditor_id = await fw.auditor("Marianne M.")
        me = token("auditor", subject=auditor_id)

        r = await fw.client.post(f"/v1/tasks/{task['id']}/assign", headers=fw.operator,
                                 json={"auditor_id": auditor_id})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "assigned"
        assert r.json()["auditor_id"] == auditor_id

        r = await fw.client.get(f"/v1/tasks/{task['id']}", headers=me)
        assert r.status_code == 200, r.text
        grid = r.json()["grid"]
        assert (grid["code"], grid["version"], grid["channel"]) == ("phone", 1, "phone")
        assert [i["code"] for i in grid["items"]] == [a["item_code"] for a in PHONE_ANSWERS]
        assert r.json()["submission"] is None

        submission = {"answers": PHONE_ANSWERS, "remarks": "Friendly, but no name given.",
                      "evidence": {"contacted_at": "2026-09-08T09:12:00+02:00",
                                   "answered_at": "2026-09-08T09:12:20+02:00", "rings": 3}}  # fmt: skip
        r = await fw.client.post(f"/v1/tasks/{task['id']}/submission", headers=me, json=submission)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "submitted"
        assert r.json()["submission"]["evidence"]["rings"] == 3

        # Returned for correction, then submitted again.
        r = await fw.client.post(f"/v1/tasks/{task['id']}/return", headers=fw.operator,
                                 json={"reason": "Say whether you were put on hold."})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "returned"
        r = await fw.client.post(f"/v1/tasks/{task['id']}/validate", headers=fw.operator)
        assert r.status_code == 409
        r = await fw.client.post(f"/v1/tasks/{task['id']}/submission", headers=me, json=submission)
        assert r.status_code == 200, r.text

        r = await fw.client.post(f"/v1/tasks/{task['id']}/validate", headers=fw.operator)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "validated"
        assert r.json()["validated_at"] is not None
        r = await fw.client.post(f"/v1/tasks/{task['id']}/validate", headers=fw.operator)
        assert r.status_code == 409
        assert r.headers["content-type"].startswith("application/problem+json")

        message = await validated.next_msg(timeout=10)
        envelope = json.loads(message.data)
        assert envelope["producer"] == "fieldwork"
        assert envelope["edition"] == str(edition_id)
        event = AuditValidatedV1.model_validate(envelope["payload"])
        assert event.audit_id == uuid.UUID(task["id"])
        assert (event.structure_id, event.site_id, event.channel) == (
            structure_id,
            site_id,
            "phone",
        )
        assert event.grid.code == "phone"
        assert len(event.grid.items) == 6
        assert event.grid.items[0].target == Decimal(5)
        answers = {a.item_code: a for a in event.answers}
        assert answers["phone_answer_clarity"].value == Decimal(1)
        assert not isinstance(answers["phone_answer_clarity"].value, bool)
        assert answers["phone_agent_gives_name"].value is True
        assert answers["phone_hold_within_60_seconds"].not_applicable
        # Auditors stay anonymous: nothing in the event says who audited.
        assert auditor_id not in message.data.decode()
        assert "Marianne" not in message.data.decode()

        r = await fw.client.post(f"/v1/tasks/{task['id']}/cancel", headers=fw.operator)
        assert r.status_code == 409


async def test_a_linked_auditor_is_refused(make_settings, token, nats_url) -> None:
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    async with fieldwork(make_settings, token, nats_url) as fw:
        await fw.publish(registration(edition_id, structure_id, [uuid.uuid4()], "standard"))
        task = (await fw.planned(edition_id, 13))[0]
        linked = await fw.auditor("Works there", linked=[structure_id])
        r = await fw.client.get(f"/v1/auditors/{linked}", headers=fw.operator)
        assert r.json()["linked_structure_ids"] == [str(structure_id)]

        r = await fw.client.post(f"/v1/tasks/{task['id']}/assign", headers=fw.operator,
                                 json={"auditor_id": linked})  # fmt: skip
        assert r.status_code == 409
        assert "linked" in r.json()["detail"]
        r = await fw.client.get(f"/v1/tasks/{task['id']}", headers=fw.operator)
        assert r.json()["status"] == "planned"
        assert r.json()["auditor_id"] is None

        r = await fw.client.post(f"/v1/tasks/{task['id']}/assign", headers=fw.operator,
                                 json={"auditor_id": str(uuid.uuid4())})  # fmt: skip
        assert r.status_code == 404

        r = await fw.client.post(f"/v1/tasks/{task['id']}/cancel", headers=fw.operator)
        assert r.json()["status"] == "cancelled"
        free = await fw.auditor("Independent")
        r = await fw.client.post(f"/v1/tasks/{task['id']}/assign", headers=fw.operator,
                                 json={"auditor_id": free})  # fmt: skip
        assert r.status_code == 409


async def test_answers_that_do_not_fit_the_grid_are_refused(make_settings, token, nats_url) -> None:
    edition_id = uuid.uuid4()
    async with fieldwork(make_settings, token, nats_url) as fw:
        await fw.publish(registration(edition_id, uuid.uuid4(), [uuid.uuid4()], "standard"))
        tasks = await fw.planned(edition_id, 13)
        task = next(t for t in tasks if t["channel"] == "phone")
        auditor_id = await fw.auditor("Careless")
        await fw.client.post(f"/v1/tasks/{task['id']}/assign", headers=fw.operator,
                             json={"auditor_id": auditor_id})  # fmt: skip
        me = token("auditor", subject=auditor_id)
        bad = [dict(a) for a in PHONE_ANSWERS[1:]]  # the rings are not answered
        bad[0]["value"] = 1  # a yes/no item given a number
        bad[4]["value"] = 7  # beyond the 0-4 scale
        bad.append({"item_code": "made_up", "value": True})
        r = await fw.client.post(f"/v1/tasks/{task['id']}/submission", headers=me,
                                 json={"answers": bad})  # fmt: skip
        assert r.status_code == 422
        problems = r.json()["problems"]
        assert "phone_picked_up_within_5_rings: no answer" in problems
        assert "phone_agent_gives_name: expects yes/no (true or false)" in problems
        assert "phone_answer_clarity: expects a value from 0 to 4" in problems
        assert any(p.startswith("made_up:") for p in problems)
        r = await fw.client.get(f"/v1/tasks/{task['id']}", headers=me)
        assert r.json()["status"] == "assigned"

        r = await fw.client.post(f"/v1/tasks/{task['id']}/submission", headers=me,
                                 json={"answers": PHONE_ANSWERS, "surprise": 1})  # fmt: skip
        assert r.status_code == 422
        for evidence in (
            {"note": "a\u0000b"},
            {"contacted_at": "2026-09-10T10:00:00Z", "answered_at": "2026-09-09T10:00:00Z"},
        ):
            r = await fw.client.post(
                f"/v1/tasks/{task['id']}/submission",
                headers=me,
                json={"answers": PHONE_ANSWERS, "evidence": evidence},
            )
            assert r.status_code == 422, evidence
        # A timestamp without a UTC offset is ambiguous: refused with the field named (it once
        # reached a naive/aware comparison and answered 500).
        r = await fw.client.post(
            f"/v1/tasks/{task['id']}/submission",
            headers=me,
            json={"answers": PHONE_ANSWERS, "evidence": {
                "contacted_at": "2017-10-25T10:00:00+02:00",
                "answered_at": "2017-10-26T09:00:00"}},
        )  # fmt: skip
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert "answered_at" in r.text
        huge = [dict(a) for a in PHONE_ANSWERS]
        huge[0]["value"] = 1e30
        r = await fw.client.post(f"/v1/tasks/{task['id']}/submission", headers=me,
                                 json={"answers": huge})  # fmt: skip
        assert r.status_code == 422
        r = await fw.client.get(f"/v1/tasks/{task['id']}", headers=me)
        assert r.json()["submission"] is None


async def test_refusals_are_problems(make_settings, token, nats_url) -> None:
    edition_id = uuid.uuid4()
    async with fieldwork(make_settings, token, nats_url) as fw:
        await fw.publish(registration(edition_id, uuid.uuid4(), [uuid.uuid4()], "standard"))
        task = (await fw.planned(edition_id, 13))[0]
        url = f"/v1/tasks/{task['id']}"
        auditor_id = await fw.auditor("Assigned one")
        other = await fw.auditor("Someone else")
        await fw.client.post(f"{url}/assign", headers=fw.operator, json={"auditor_id": auditor_id})

        r = await fw.client.post(f"{url}/assign", content=b'{"auditor_id": ',
                                 headers={**fw.operator, "Content-Type": "application/json"})  # fmt: skip
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await fw.client.get(f"/v1/tasks/{uuid.uuid4()}", headers=fw.operator)
        assert r.status_code == 404
        r = await fw.client.post(f"/v1/tasks/{uuid.uuid4()}/validate", headers=fw.operator)
        assert r.status_code == 404
        r = await fw.client.get(f"/v1/auditors/{uuid.uuid4()}", headers=fw.operator)
        assert r.status_code == 404
        r = await fw.client.get("/v1/tasks/not-a-uuid", headers=fw.operator)
        assert r.status_code == 422
        r = await fw.client.get(f"/v1/editions/{edition_id}/tasks")
        assert r.status_code == 401
        r = await fw.client.get(f"/v1/editions/{edition_id}/tasks", headers=token("structure"))
        assert r.status_code == 403
        r = await fw.client.post("/v1/auditors", headers=token("auditor", subject=auditor_id),
                                 json={"pseudonym": "Self-made"})  # fmt: skip
        assert r.status_code == 403
        r = await fw.client.post(
            "/v1/auditors", headers=fw.operator, json={"pseudonym": "Someone else"}
        )
        assert r.status_code == 409

        intruder = token("auditor", subject=other)
        r = await fw.client.get(url, headers=intruder)
        assert r.status_code == 403
        r = await fw.client.post(f"{url}/submission", headers=intruder,
                                 json={"answers": []})  # fmt: skip
        assert r.status_code == 403
        r = await fw.client.post(f"{url}/validate", headers=token("auditor", subject=auditor_id))
        assert r.status_code == 403
        r = await fw.client.post(f"{url}/validate", headers=fw.operator)
        assert r.status_code == 409  # assigned, not submitted


async def test_grids_are_seeded_per_channel(make_settings, token, nats_url) -> None:
    async with fieldwork(make_settings, token, nats_url) as fw:
        r = await fw.client.get("/v1/grids", headers=token("auditor"))
        assert r.status_code == 200
        grids = r.json()
        assert {g["channel"] for g in grids} == {
            "email", "phone", "answering_machine", "letter", "website", "social_network", "visit"
        }  # fmt: skip
        assert all(g["version"] == 1 and 3 <= g["item_count"] <= 6 for g in grids)

        r = await fw.client.get("/v1/grids/email/versions/1", headers=fw.operator)
        assert r.status_code == 200
        first = r.json()["items"][0]
        assert first["answer_type"] == "max_duration"
        assert Decimal(first["target"]) == 5
        r = await fw.client.get("/v1/grids/email/versions/2", headers=fw.operator)
        assert r.status_code == 404
        r = await fw.client.get("/v1/grids/email/versions/99999999999", headers=fw.operator)
        assert r.status_code == 422
        r = await fw.client.get("/v1/grids/e%00mail/versions/1", headers=fw.operator)
        assert r.status_code == 422
        r = await fw.client.get("/v1/grids", headers=token("structure"))
        assert r.status_code == 403
