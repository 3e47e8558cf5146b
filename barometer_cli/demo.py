"""A small demo edition loaded through the public API, as an operator and auditors would.

Real communes in several strata, accepted registrations, and validated audits on several
channels with plausible answers (seeded, so every load gives the same figures). Loading is
idempotent: when the demo edition exists, nothing is added.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.auth import Role, issue_token
from shared.settings import ServiceSettings, default_data_dir

DEMO_YEAR = 2026
DEMO_NAME = "Baromètre 2026 (démonstration)"
# The 2017 preset (strata, calendar, eligibility, quotas, catalogue) moved to the demo's year.
DEMO_EDITION: dict[str, Any] = {
    "preset": "2017",
    "year": DEMO_YEAR,
    "number": 15,
    "name": DEMO_NAME,
    "max_accepted": 200,
}


def _city_hall(name: str, commune: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "city_hall", "commune_code": commune, **extra}


def _contacts(domain: str, phone: str) -> list[dict[str, str]]:
    return [
        {"channel": "email", "value": f"accueil@{domain}"},
        {"channel": "phone", "value": phone},
        {"channel": "website", "value": f"https://www.{domain}"},
    ]


# Real territories in several 2017 strata; each entry: the structure (as POST /v1/structures
# takes it) and its registration (offer, options, whether every site is audited, trophies).
DEMO_STRUCTURES: list[dict[str, Any]] = [
    {
        "structure": _city_hall(
            "Mairie de Nantes", "44109", siren="214401093",
            certifications=[{"name": "qualivilles", "obtained_on": "2019-05-02"}],
            sites=[
                {"name": "Hôtel de ville de Nantes", "principal": True,
                 "contacts": _contacts("mairie-nantes.fr", "02 40 41 90 00")},
                {"name": "Mairie annexe de Nantes Nord",
                 "contacts": [{"channel": "email", "value": "nord@mairie-nantes.fr"}]},
            ],
        ),
        "registration": {"offer": "personalised", "options": ["visits", "restitution"],
                         "all_sites": True, "competes_for_trophies": True},
    },
    {"structure": _city_hall("Mairie de Rennes", "35238"),
     "registration": {"offer": "standard", "competes_for_trophies": True}},
    {"structure": _city_hall("Mairie d'Angers", "49007"), "registration": {"offer": "standard"}},
    {"structure": _city_hall("Mairie de Saint-Malo", "35288"),
     "registration": {"offer": "standard", "options": ["visits"]}},
    {"structure": _city_hall("Mairie de Saint-Nazaire", "44184"), "registration": {"offer": "standard"}},
    {
        "structure": _city_hall(
            "Mairie de Pornic", "44131",
            sites=[
                {"name": "Hôtel de ville de Pornic", "principal": True,
                 "contacts": _contacts("pornic.fr", "02 40 82 31 13")},
                {"name": "Mairie annexe du Clion-sur-Mer"},
            ],
        ),
        "registration": {"offer": "personalised", "all_sites": True},
    },
    {"structure": _city_hall("Mairie de Guérande", "44069"), "registration": {"offer": "standard"}},
    {"structure": _city_hall("Mairie de Clisson", "44043"), "registration": {"offer": "standard"}},
    {"structure": {"name": "Nantes Métropole", "type": "intercommunality", "epci_siren": "244400404"},
     "registration": {"offer": "standard"}},
    {"structure": {"name": "Département de Loire-Atlantique", "type": "departement",
                   "departement_code": "44"},
     "registration": {"offer": "standard"}},
    {"structure": {"name": "France Services de Châteaubriant", "type": "france_services",
                   "commune_code": "44036"},
     "registration": {"offer": "standard"}},
]  # fmt: skip
PARIS = ZoneInfo("Europe/Paris")
DEMO_CHANNELS = ("email", "phone", "letter", "website", "answering_machine")


class DemoError(RuntimeError):
    pass


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise DemoError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()


MEASURED = ("delay_working_days", "duration_rings", "duration_seconds")  # from the evidence


def answer_grid(
    grid_items: list[dict[str, Any]], rng: random.Random, quality: float
) -> list[dict[str, Any]]:
    """Answers a careful auditor might give to a structure of the given quality (0..1); the
    measured items are left to the service, which reads them from the evidence."""
    answers = []
    for item in grid_items:
        kind = item["answer_type"]
        if kind in MEASURED or kind == "free_text":
            continue
        if kind == "yes_no":
            value: Any = rng.random() < quality
        elif kind == "scale":
            top = int(item["scale_max"])
            value = max(0, min(top, round(rng.gauss(quality * top, top / 4))))
        else:  # count (transfers, clicks): fewer is better
            value = max(0, round(rng.gauss((1 - quality) * 4, 1)))
        answers.append({"item_code": item["code"], "value": value, "not_applicable": False})
    return answers


def evidence_for(task: dict[str, Any], rng: random.Random, quality: float) -> dict[str, Any]:
    """Evidence of an audit made on its planned day, 10:00 in Paris, with a reply some days
    later on the written channels."""
    day = date.fromisoformat(task["planned_on"])
    contacted = datetime.combine(day, dt_time(10, 0), tzinfo=PARIS)
    replied = contacted + timedelta(days=max(0, round(rng.gauss((1 - quality) * 20, 3))))
    return {
        "contacted_at": contacted.isoformat(),
        "answered_at": replied.isoformat(),
        "rings": max(1, round(rng.gauss((1 - quality) * 10, 2))),
        "waiting_seconds": max(0, round(rng.gauss((1 - quality) * 400, 60))),
        "agent_named": rng.random() < quality,
    }


def _wait(probe: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DemoError(f"timed out waiting for {what}")
        time.sleep(0.2)


def load_demo_edition(
    urls: dict[str, str], operator_token: str, *, say: Callable[[str], None]
) -> str:
    """Load the demo (once) and return the scorecard URL of one demo structure."""
    auth = {"Authorization": f"Bearer {operator_token}"}
    registry = httpx.Client(base_url=urls["registry"], headers=auth, timeout=30)
    fieldwork = httpx.Client(base_url=urls["fieldwork"], headers=auth, timeout=30)
    reporting = httpx.Client(base_url=urls["reporting"], headers=auth, timeout=30)

    existing = _check(registry.get("/v1/editions", params={"year": DEMO_YEAR}), "list editions")
    items = existing["items"] if isinstance(existing, dict) else existing
    edition = next((e for e in items if e["name"] == DEMO_NAME), None)
    if edition is not None:
        say("demo edition already loaded; reusing it")
        regs = _check(
            registry.get(
                f"/v1/editions/{edition['id']}/registrations", params={"status": "accepted"}
            ),
            "list registrations",
        )
        reg_items = regs["items"] if isinstance(regs, dict) else regs
        if not reg_items:
            raise DemoError("the demo edition has no accepted registration")
        return f"{urls['reporting']}/v1/editions/{edition['id']}/structures/{reg_items[0]['structure_id']}/scorecard"

    say("loading the demo edition (2017 preset)...")
    edition = _check(registry.post("/v1/editions", json=DEMO_EDITION), "create edition")
    edition_id = edition["id"]
    _check(
        registry.post(f"/v1/editions/{edition_id}/transitions", json={"to": "registration_open"}),
        "open registrations",
    )
    structures = []
    for index, entry in enumerate(DEMO_STRUCTURES):
        key = f"demo-{edition_id}-{index}"
        structure = _register(registry, key, edition_id, entry["structure"], entry["registration"])
        structures.append(structure)

    settings = ServiceSettings(data_dir=default_data_dir())
    auditors = []
    for pseudonym in ("Citoyen mystère A", "Citoyen mystère B"):
        auditor = _check(
            fieldwork.post(
                "/v1/auditors",
                json={
                    "pseudonym": pseudonym,
                    "home_departement_code": "44",
                    "channels": list(DEMO_CHANNELS),
                    "weekly_capacity": 50,
                },
            ),
            "create auditor",
        )
        token = issue_token(settings, role=Role.AUDITOR, subject=auditor["id"])
        auditors.append((auditor["id"], {"Authorization": f"Bearer {token}"}))

    rng = random.Random(2026)
    validated = 0
    for index, structure in enumerate(structures):
        structure_id = structure["id"]
        tasks = _wait(
            lambda: _tasks(fieldwork, edition_id, structure_id),  # noqa: B023 (called at once)
            f"the audit plan of {structure['name']}",
        )
        quality = rng.uniform(0.45, 0.9)
        for channel in DEMO_CHANNELS:
            task = next(t for t in tasks if t["channel"] == channel)
            auditor_id, auditor_auth = auditors[(index + validated) % len(auditors)]
            _check(
                fieldwork.post(f"/v1/tasks/{task['id']}/assign", json={"auditor_id": auditor_id}),
                "assign",
            )
            detail = _check(
                fieldwork.get(f"/v1/tasks/{task['id']}", headers=auditor_auth), "read task"
            )
            _check(
                fieldwork.post(
                    f"/v1/tasks/{task['id']}/submission",
                    json={
                        "answers": answer_grid(detail["grid"]["items"], rng, quality),
                        "evidence": evidence_for(task, rng, quality),
                    },
                    headers=auditor_auth,
                ),
                "submit",
            )
            _check(fieldwork.post(f"/v1/tasks/{task['id']}/validate"), "validate")
            validated += 1
    say(
        f"  {len(structures)} structures, {validated} validated audits on {len(DEMO_CHANNELS)} channels"
    )

    first = structures[0]["id"]
    url = f"/v1/editions/{edition_id}/structures/{first}/scorecard"

    def scored() -> bool:
        response = reporting.get(url)
        if response.status_code != 200:
            return False
        body = response.json()
        return bool(
            body["audits"] == len(DEMO_CHANNELS) and body["sample"]["structures"] == len(structures)
        )

    _wait(scored, "the scorecards to be computed")
    return f"{urls['reporting']}{url}"


def _register(
    registry: httpx.Client, key: str, edition_id: str, body: dict[str, Any], terms: dict[str, Any]
) -> dict[str, Any]:
    """Create a structure, register it as the operator (panel selection) and accept it; an
    Idempotency-Key per step lets a retried load replay instead of duplicating."""
    name = body["name"]
    structure: dict[str, Any] = _check(
        registry.post("/v1/structures", json=body, headers={"Idempotency-Key": f"{key}-s"}),
        f"create {name}",
    )
    sites = [s["id"] for s in structure["sites"]] if terms.get("all_sites") else None
    registration = _check(
        registry.post(
            f"/v1/editions/{edition_id}/registrations",
            json={
                "structure_id": structure["id"],
                "offer": terms["offer"],
                "options": terms.get("options", []),
                "site_ids": sites,
                "competes_for_trophies": terms.get("competes_for_trophies", False),
            },
            headers={"Idempotency-Key": f"{key}-r"},
        ),
        f"register {name}",
    )
    _check(
        registry.post(
            f"/v1/editions/{edition_id}/registrations/{registration['id']}/accept",
            headers={"Idempotency-Key": f"{key}-a"},
        ),
        f"accept {name}",
    )
    return structure


def _tasks(client: httpx.Client, edition_id: str, structure_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/v1/editions/{edition_id}/tasks", params={"structure_id": structure_id, "limit": 100}
    )
    if response.status_code != 200:
        return []
    body = response.json()
    items: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
    return items
