"""The fieldwork service running in-process against the test's PostgreSQL and NATS, with
helpers to publish registry events and drive tasks over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from services.fieldwork.app import create_app
from shared.contracts.registry import (
    ChannelQuotaV2,
    ChannelWindowV2,
    ContactPointV2,
    PartnerOptInChangedV1,
    RegistrationAcceptedV2,
    SiteV2,
)
from shared.events import Payload, new_event
from tests.helpers import eventually, running

Headers = Callable[..., dict[str, str]]
PARIS = ZoneInfo("Europe/Paris")
ALL_CHANNELS = [
    "email",
    "letter",
    "phone",
    "answering_machine",
    "website",
    "social_network",
    "visit",
]

# The 2017 edition's calendar and quotas (seed), as the registry's v2 event carries them.
WINDOWS_2017 = [
    ChannelWindowV2(channel="website", starts_on=date(2017, 7, 17), ends_on=date(2017, 7, 21)),
    ChannelWindowV2(
        channel="answering_machine", starts_on=date(2017, 7, 24), ends_on=date(2017, 8, 4)
    ),
    *(
        ChannelWindowV2(channel=c, starts_on=date(2017, 9, 4), ends_on=date(2017, 10, 27))
        for c in ("email", "letter", "phone", "visit")
    ),
]
QUOTAS_2017 = [
    ChannelQuotaV2(channel="email", audits_per_site=4),
    ChannelQuotaV2(channel="phone", audits_per_site=4),
    ChannelQuotaV2(channel="answering_machine", audits_per_site=1),
    ChannelQuotaV2(channel="letter", audits_per_site=3),
    ChannelQuotaV2(channel="website", audits_per_site=1),
    ChannelQuotaV2(channel="visit", audits_per_site=2, requires_option="visits"),
]


def registration_v2(
    edition_id: uuid.UUID,
    structure_id: uuid.UUID,
    sites: list[uuid.UUID],
    *,
    options: list[str] | None = None,
    departement: str = "44",
    structure_type: str = "city_hall",
    windows: list[ChannelWindowV2] | None = None,
    quotas: list[ChannelQuotaV2] | None = None,
) -> RegistrationAcceptedV2:
    return RegistrationAcceptedV2(
        registration_id=uuid.uuid4(),
        edition_id=edition_id,
        edition_year=2017,
        structure_id=structure_id,
        structure_name="Mairie de Nantes",
        structure_type=structure_type,
        commune_code="44109",
        departement_code=departement,
        region_code="52",
        population=320_732,
        stratum_code="cities-100k-plus",
        stratum_label="Villes de plus de 100 000 habitants",
        certified=True,
        certifications=["qualivilles"],
        offer="personalised" if options else "standard",
        options=options or [],
        competes_for_trophies=False,
        sites=[
            SiteV2(
                site_id=s,
                name=f"site {i}",
                principal=i == 0,
                commune_code="44109",
                departement_code=departement,
                contacts=[
                    ContactPointV2(channel="email", value=f"accueil{i}@mairie-nantes.fr"),
                    ContactPointV2(channel="phone", value="+33 2 40 41 90 00"),
                    ContactPointV2(
                        channel="letter", value="2 rue de l'Hôtel de Ville, 44000 Nantes"
                    ),
                ],
            )
            for i, s in enumerate(sites)
        ],
        windows=windows if windows is not None else WINDOWS_2017,
        quotas=quotas if quotas is not None else QUOTAS_2017,
    )


def evidence(task: dict[str, Any], *, reply_after_days: int | None = 2, rings: int = 2,
             waiting: int = 30) -> dict[str, Any]:  # fmt: skip
    """Evidence of an audit made at 10:00 (Paris) on its planned day."""
    contacted = datetime.combine(date.fromisoformat(task["planned_on"]), time(10), tzinfo=PARIS)
    out: dict[str, Any] = {"contacted_at": contacted.isoformat(), "rings": rings,
                           "waiting_seconds": waiting, "agent_named": True}  # fmt: skip
    if reply_after_days is not None:
        out["answered_at"] = (contacted + timedelta(days=reply_after_days)).isoformat()
    return out


def best_answers(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best answer to every item the auditor answers (measured ones come from evidence)."""
    answers = []
    for item in items:
        kind = item["answer_type"]
        if kind == "yes_no":
            answers.append({"item_code": item["code"], "value": True})
        elif kind == "scale":
            answers.append({"item_code": item["code"], "value": item["scale_max"]})
        elif kind == "count":
            answers.append({"item_code": item["code"], "value": 0})
    return answers


@dataclass
class Fieldwork:
    client: httpx.AsyncClient
    js: JetStreamContext
    token: Headers

    @property
    def operator(self) -> dict[str, str]:
        return self.token("operator")

    async def publish(self, payload: Payload, event_id: uuid.UUID | None = None) -> None:
        event = new_event(payload, edition=getattr(payload, "edition_id", None))
        if event_id is not None:
            event = event.model_copy(update={"id": event_id})
        await self.js.publish(event.subject, event.model_dump_json().encode(),
                              headers={"Nats-Msg-Id": str(event.id)})  # fmt: skip

    async def call(self, method: str, path: str, *, expect: int = 200,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> Any:  # fmt: skip
        r = await self.client.request(method, path, headers=headers or self.operator, **kwargs)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        if r.headers.get("content-type", "").startswith("application/problem+json"):
            assert r.status_code >= 400
        return r.json()

    async def all_tasks(self, edition_id: uuid.UUID, **params: Any) -> list[dict[str, Any]]:
        body = await self.call("GET", f"/v1/editions/{edition_id}/tasks",
                               params={"limit": 500, **params})  # fmt: skip
        items: list[dict[str, Any]] = body["items"]
        return items

    async def planned(self, edition_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            tasks = await self.all_tasks(edition_id)
            return tasks if len(tasks) >= count else None

        return await eventually(probe)

    async def opt_in(self, structure_id: uuid.UUID, client_id: str, *, given: bool = True) -> None:
        """The registry announces an opt-in (or its withdrawal); wait until fieldwork has it."""
        await self.publish(
            PartnerOptInChangedV1(
                structure_id=structure_id, client_id=client_id, opted_in=given,
                changed_by="operator-test", changed_at=datetime.now(UTC),
            )
        )  # fmt: skip

        async def probe() -> bool:
            info: ConsumerInfo = await self.js.consumer_info("REGISTRY", "fieldwork-opt-ins")
            return info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(probe)

    async def drained(self) -> None:
        """Every REGISTRY message delivered so far has been handled and acknowledged."""

        async def probe() -> bool:
            info: ConsumerInfo = await self.js.consumer_info("REGISTRY", "fieldwork-registry")
            return info.num_pending == 0 and info.num_ack_pending == 0

        await eventually(probe)

    async def auditor(self, pseudonym: str, *, departement: str = "44",
                      channels: list[str] | None = None, capacity: int = 20,
                      linked: list[uuid.UUID] | None = None) -> str:  # fmt: skip
        body = await self.call("POST", "/v1/auditors", expect=201, json={
            "pseudonym": pseudonym, "home_departement_code": departement,
            "channels": channels or ALL_CHANNELS, "weekly_capacity": capacity,
            "linked_structure_ids": [str(s) for s in linked or []]})  # fmt: skip
        auditor_id: str = body["id"]
        return auditor_id

    async def submit(self, task: dict[str, Any], auditor: dict[str, str], *, expect: int = 200,
                     **evidence_args: Any) -> Any:  # fmt: skip
        detail = await self.call("GET", f"/v1/tasks/{task['id']}", headers=auditor)
        return await self.call(
            "POST", f"/v1/tasks/{task['id']}/submission", headers=auditor, expect=expect,
            json={"answers": best_answers(detail["grid"]["items"]),
                  "evidence": evidence(task, **evidence_args), "remarks": "Reçu par Mme Dupont."},
        )  # fmt: skip

    async def stream(self, subject: str) -> list[dict[str, Any]]:
        """Every event of a subject on the FIELDWORK stream so far (payloads, in order)."""
        import json

        found: list[dict[str, Any]] = []
        info = await self.js.stream_info("FIELDWORK")
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await self.js.get_msg("FIELDWORK", seq)
            if message.subject == subject:
                found.append(json.loads(message.data or b"{}")["payload"])
        return found


@asynccontextmanager
async def fieldwork_app(settings: Any, token: Headers, nats_url: str) -> AsyncIterator[Fieldwork]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        async with running(create_app(settings)) as client:
            yield Fieldwork(client=client, js=js, token=token)
    finally:
        await nc.close()


@pytest.fixture
async def fw(make_settings: Any, token: Headers, nats_url: str) -> AsyncIterator[Fieldwork]:
    async with fieldwork_app(make_settings("fieldwork"), token, nats_url) as app:
        yield app
