"""A small demo edition loaded through the public API, as an operator and auditors would.

Real communes in several strata, accepted registrations, and validated audits on several
channels with plausible answers (seeded, so every load gives the same figures). Loading is
idempotent: when the demo edition exists, nothing is added.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.auth import Role, issue_token
from shared.settings import ServiceSettings, default_data_dir

# Two editions of the 2017 preset (strata, calendar, eligibility, quotas, catalogue) moved to
# their years: the earlier one published, so the barometer shows an evolution.
DEMO_EDITIONS: list[dict[str, Any]] = [
    {"preset": "2017", "year": 2025, "number": 14, "name": "Baromètre 2025 (démonstration)",
     "max_accepted": 200},
    {"preset": "2017", "year": 2026, "number": 15, "name": "Baromètre 2026 (démonstration)",
     "max_accepted": 200},
]  # fmt: skip
DEMO_YEAR = 2026
DEMO_NAME = DEMO_EDITIONS[-1]["name"]
DEMO_EDITION = DEMO_EDITIONS[-1]
PUBLISHED_PATH = ("registration_closed", "fieldwork", "scoring", "published")


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
    *({"structure": _city_hall(f"Mairie {name}", code),
       "registration": {"offer": "standard", "competes_for_trophies": True}}
      for name, code in (("d'Angers", "49007"), ("du Mans", "72181"), ("de Brest", "29019"),
                         ("de Tours", "37261"),
                         ("de Saint-Nazaire", "44184"), ("de Quimper", "29232"),
                         ("de Lorient", "56121"), ("de Vannes", "56260"),
                         ("de La Roche-sur-Yon", "85191"), ("de Cholet", "49099"),
                         ("des Sables-d'Olonne", "85194"), ("de Laval", "53130"),
                         ("de Saint-Brieuc", "22278"), ("de Rezé", "44143"),
                         ("de Saumur", "49328"))),
    {"structure": _city_hall("Mairie de Saint-Malo", "35288"),
     "registration": {"offer": "standard", "options": ["visits"]}},
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
    {"structure": _city_hall("Mairie de Vitré", "35360"), "registration": {"offer": "standard"}},
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


@dataclass(frozen=True)
class DemoLinks:
    """Where a person looks at the demo (reporting URLs)."""

    scorecard: str
    barometer: str
    report: str
    laureates: str


def load_demo(
    urls: dict[str, str], operator_token: str, *, say: Callable[[str], None]
) -> DemoLinks:
    """Load the demo editions (once) and return where to look at them."""
    auth = {"Authorization": f"Bearer {operator_token}"}
    registry = httpx.Client(base_url=urls["registry"], headers=auth, timeout=30)
    fieldwork = httpx.Client(base_url=urls["fieldwork"], headers=auth, timeout=30)
    reporting = httpx.Client(base_url=urls["reporting"], headers=auth, timeout=30)

    latest = _find_edition(registry, DEMO_EDITION)
    if latest is not None:
        say("demo editions already loaded; reusing them")
        structure_id = _first_accepted(registry, latest["id"])
        return _links(urls["reporting"], latest["id"], structure_id)

    settings = ServiceSettings(data_dir=default_data_dir())
    rng = random.Random(2026)
    edition_id = structure_id = ""
    for spec in DEMO_EDITIONS:
        say(f"loading the demo edition {spec['year']} (2017 preset)...")
        edition_id, structures = _load_edition(registry, fieldwork, settings, spec, rng, say)
        structure_id = structures[0]["id"]
        for status in PUBLISHED_PATH:
            _check(
                registry.post(f"/v1/editions/{edition_id}/transitions", json={"to": status}),
                f"move edition {spec['year']} to {status}",
            )

    def scored() -> bool:
        response = reporting.get(f"/v1/editions/{edition_id}/barometer")
        if response.status_code != 200:
            return False
        overall = response.json()["sample"]["overall"] or {}
        return bool(overall.get("structures") == len(DEMO_STRUCTURES))

    _wait(scored, "the barometer's figures", seconds=120)
    _check(reporting.post(f"/v1/editions/{edition_id}/laureates/publish"), "publish laureates")
    return _links(urls["reporting"], edition_id, structure_id)


def _links(base: str, edition_id: str, structure_id: str) -> DemoLinks:
    edition = f"{base}/v1/editions/{edition_id}"
    return DemoLinks(
        scorecard=f"{edition}/structures/{structure_id}/scorecard",
        barometer=f"{edition}/barometer",
        report=f"{edition}/structures/{structure_id}/report",
        laureates=f"{edition}/laureates",
    )


def _find_edition(registry: httpx.Client, spec: dict[str, Any]) -> dict[str, Any] | None:
    found = _check(registry.get("/v1/editions", params={"year": spec["year"]}), "list editions")
    return next((e for e in found["items"] if e["name"] == spec["name"]), None)


def _first_accepted(registry: httpx.Client, edition_id: str) -> str:
    regs = _check(
        registry.get(f"/v1/editions/{edition_id}/registrations", params={"status": "accepted"}),
        "list registrations",
    )
    if not regs["items"]:
        raise DemoError("the demo edition has no accepted registration")
    structure_id: str = min(regs["items"], key=lambda r: r["created_at"])["structure_id"]
    return structure_id


def _load_edition(
    registry: httpx.Client,
    fieldwork: httpx.Client,
    settings: ServiceSettings,
    spec: dict[str, Any],
    rng: random.Random,
    say: Callable[[str], None],
) -> tuple[str, list[dict[str, Any]]]:
    edition = _find_edition(registry, spec) or _check(
        registry.post(
            "/v1/editions", json=spec, headers={"Idempotency-Key": f"demo-{spec['year']}"}
        ),
        "create edition",
    )
    edition_id: str = edition["id"]
    _check(
        registry.post(f"/v1/editions/{edition_id}/transitions", json={"to": "registration_open"}),
        "open registrations",
    )
    structures = [
        _register(
            registry,
            f"demo-{index}",
            f"demo-{edition_id}-{index}",
            edition_id,
            entry["structure"],
            entry["registration"],
        )
        for index, entry in enumerate(DEMO_STRUCTURES)
    ]
    auditors = []
    for letter in "AB":
        auditor = _check(
            fieldwork.post(
                "/v1/auditors",
                json={
                    "pseudonym": f"Citoyen mystère {spec['year']}-{letter}",
                    "home_departement_code": "44",
                    "channels": list(DEMO_CHANNELS),
                    "weekly_capacity": 100,
                },
            ),
            "create auditor",
        )
        token = issue_token(settings, role=Role.AUDITOR, subject=auditor["id"])
        auditors.append((auditor["id"], {"Authorization": f"Bearer {token}"}))

    validated = 0
    for index, structure in enumerate(structures):
        structure_id = structure["id"]
        tasks = _wait(
            lambda: _tasks(fieldwork, edition_id, structure_id),  # noqa: B023 (called at once)
            f"the audit plan of {structure['name']}",
        )
        # A structure's quality drifts a little from one edition to the next.
        quality = min(
            0.95, max(0.35, 0.45 + 0.45 * ((index * 37) % 100) / 100 + rng.gauss(0, 0.04))
        )
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
    return edition_id, structures


def _register(
    registry: httpx.Client,
    structure_key: str,
    key: str,
    edition_id: str,
    body: dict[str, Any],
    terms: dict[str, Any],
) -> dict[str, Any]:
    """Create a structure, register it as the operator (panel selection) and accept it; an
    Idempotency-Key per step lets a retried load replay instead of duplicating."""
    name = body["name"]
    structure: dict[str, Any] = _check(
        registry.post("/v1/structures", json=body, headers={"Idempotency-Key": structure_key}),
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
    items: list[dict[str, Any]] = response.json()["items"]
    return items
