"""A thin client over the four services as real processes, and the audit answers the e2e
tests submit."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx

from barometer_cli.demo import answer_grid, evidence_for
from tests.e2e.conftest import System

Headers = Callable[..., dict[str, str]]


class Api:
    """Thin client over the four services, failing loudly on any unexpected status."""

    def __init__(self, system: System, token: Headers) -> None:
        self.urls = system.urls
        self.token = token
        self.operator = token("operator")
        self.http = httpx.AsyncClient(timeout=30)

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        expect: int = 200,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        response = await self.http.request(
            method, self.urls[service] + path, headers=headers or self.operator, **kwargs
        )
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    async def register(self, edition_id: str, name: str, commune: str) -> dict[str, Any]:
        structure = await self.call(
            "POST", "registry", "/v1/structures", expect=201,
            json={"name": name, "type": "city_hall", "commune_code": commune},
        )  # fmt: skip
        registration = await self.call(
            "POST", "registry", f"/v1/editions/{edition_id}/registrations", expect=201,
            json={"structure_id": structure["id"]},
        )  # fmt: skip
        assert registration["stratum"]["code"]  # derived, never typed in
        accepted = await self.call(
            "POST", "registry",
            f"/v1/editions/{edition_id}/registrations/{registration['id']}/accept",
        )  # fmt: skip
        assert accepted["status"] == "accepted"
        return {**structure, "stratum": registration["stratum"]}

    async def tasks(self, edition_id: str, structure_id: str) -> list[dict[str, Any]]:
        body = await self.call(
            "GET", "fieldwork", f"/v1/editions/{edition_id}/tasks",
            params={"structure_id": structure_id, "limit": 100},
        )  # fmt: skip
        items: list[dict[str, Any]] = body["items"]
        return items

    async def auditor(self, pseudonym: str) -> dict[str, Any]:
        auditor: dict[str, Any] = await self.call(
            "POST", "fieldwork", "/v1/auditors", expect=201,
            json={"pseudonym": pseudonym, "home_departement_code": "44", "weekly_capacity": 50,
                  "channels": ["email", "letter", "phone", "answering_machine", "website"]},
        )  # fmt: skip
        return auditor

    async def audit(
        self,
        task_id: str,
        auditor_id: str,
        answers: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        quality: float = 0.6,
    ) -> None:
        """Assign, read, submit (as the auditor) and validate (as the operator) one task."""
        auditor = self.token("auditor", subject=auditor_id)
        await self.call(
            "POST", "fieldwork", f"/v1/tasks/{task_id}/assign", json={"auditor_id": auditor_id}
        )
        task = await self.call("GET", "fieldwork", f"/v1/tasks/{task_id}", headers=auditor)
        rng = AlwaysBest() if quality == 1.0 else random.Random(task_id)
        evidence = evidence_for(task, rng, quality)
        await self.call(
            "POST", "fieldwork", f"/v1/tasks/{task_id}/submission", headers=auditor,
            json={"answers": answers(task["grid"]["items"]), "evidence": evidence},
        )  # fmt: skip
        validated = await self.call("POST", "fieldwork", f"/v1/tasks/{task_id}/validate")
        assert validated["status"] == "validated"

    async def scorecard(
        self, edition_id: str, structure_id: str, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        response = await self.http.get(
            f"{self.urls['reporting']}/v1/editions/{edition_id}/structures/{structure_id}/scorecard",
            headers=headers or self.operator,
        )
        return response.json() if response.status_code == 200 else None


def all_yes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item fully satisfied."""
    return answer_grid(items, AlwaysBest(), 1.0)


class AlwaysBest(random.Random):
    """A draw that always gives the best answer (yes, top of the scale, no transfer)."""

    def random(self) -> float:
        return 0.0

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        return mu


def random_answers(rng: random.Random) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def answer(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return answer_grid(items, rng, 0.6)

    return answer


async def new_edition(api: Api, year: int) -> str:
    edition = await api.call(
        "POST", "registry", "/v1/editions", expect=201,
        json={"year": year, "number": year - 2011, "name": f"E2E {year}"},
    )  # fmt: skip
    await api.call(
        "POST", "registry", f"/v1/editions/{edition['id']}/transitions",
        json={"to": "registration_open"},
    )  # fmt: skip
    return str(edition["id"])
