"""`barometer simulate`: a national edition built through the services' own HTTP APIs.

Real territories (the registry's communes, EPCI, départements and régions) become structures
(city halls of communes above the edition's population bound, intercommunalities,
départements, régions, France Services, CCAS, tourist offices), registered with offers and
options, accepted, planned by fieldwork, assigned to auditors, submitted and validated with
answers whose scores follow the published results (DOMAIN.md: overall about 62-69, phone
highest, letter lowest, certified structures 7-8 points above the others).

Deterministic for a seed: which territories, offers, certifications and every answer and
evidence come from `random.Random` seeded by the seed and a natural key (the structure's type
and territory code, the task's channel and sequence), never from ids or timing. Resumable:
each phase first reads what exists (structures by type and territory, registrations by
structure, auditors by pseudonym, tasks by status) and only adds what is missing; every POST
carries an `Idempotency-Key` where the route honours one.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import random
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import httpx

from barometer_cli.demo import answer_grid
from shared.auth import Role, issue_token
from shared.settings import ServiceSettings, default_data_dir

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_URLS = {
    "registry": "http://127.0.0.1:8001",
    "fieldwork": "http://127.0.0.1:8002",
    "scoring": "http://127.0.0.1:8003",
    "reporting": "http://127.0.0.1:8004",
}
NATIONAL = 35_000
# Structure mix of a national edition (35,000): every région, département and EPCI, 14% other
# public services in communes, the rest city halls (the largest share of the published panels).
OTHER_SHARE = 0.14
OTHER_TYPES = ("france_services", "ccas", "tourist_office")
CERTIFIED_SHARE = 0.22
# Quality of a structure (0..1) and the shift of each channel, calibrated on the scoring
# engine so that scores land near the published results (see `calibrate` in the tests).
BASE_QUALITY, QUALITY_SPREAD, CERTIFIED_BONUS = 0.60, 0.13, 0.11
CHANNEL_SHIFT = {"phone": 0.22, "social_network": 0.12, "website": 0.0, "email": -0.01,
                 "answering_machine": 0.05, "visit": 0.08, "letter": -0.14}  # fmt: skip
REMOTE_CHANNELS = ("email", "phone", "letter", "website", "social_network", "answering_machine")
WRITTEN = {"email": 5, "letter": 15, "social_network": 2}  # commitment in working days
AUDITOR_WEEKLY_CAPACITY = 100
SUBMIT_CHUNK = 500
VALIDATE_CHUNK = 2000
IMPORT_CHUNK = 2000
REGISTER_CHUNK = 500


class SimulationError(RuntimeError):
    pass


# --- what to build (pure, deterministic for a seed) ---------------------------------------------


@dataclass(frozen=True)
class StructureSpec:
    type: str
    territory_code: str
    name: str
    departement_code: str | None
    certified: bool
    offer: str
    options: tuple[str, ...]
    competes_for_trophies: bool
    quality: float

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.territory_code)


@dataclass(frozen=True)
class Territories:
    regions: list[dict[str, Any]]
    departements: list[dict[str, Any]]
    epcis: list[dict[str, Any]]
    communes: list[dict[str, Any]]


def rng_for(seed: int, *key: object) -> random.Random:
    """A generator that depends only on the seed and a natural key (str seeds hash stably)."""
    return random.Random(":".join(str(k) for k in (seed, *key)))


def split(total: int, territories: Territories) -> dict[str, int]:
    """How many structures of each kind for `total`: every région, département and EPCI at
    35,000 (a national edition), proportionally fewer below (at least one of each from 10)."""
    if total < 10:
        return {"region": 0, "departement": 0, "intercommunality": 0, "other": 0,
                "city_hall": total}  # fmt: skip
    scale = min(1.0, total / NATIONAL)
    counts = {
        "region": max(1, round(len(territories.regions) * scale)),
        "departement": max(1, round(len(territories.departements) * scale)),
        "intercommunality": max(1, round(len(territories.epcis) * scale)),
        "other": max(1, round(total * OTHER_SHARE)),
    }
    counts["city_hall"] = total - sum(counts.values())
    return counts


def choose_structures(
    seed: int,
    total: int,
    territories: Territories,
    min_population: int | None,
    *,
    visits: bool = True,
) -> list[StructureSpec]:
    """`total` structures on real territories, the same ones for the same seed."""
    rng = rng_for(seed, "choice")
    counts = split(total, territories)
    eligible = sorted(
        (c for c in territories.communes
         if min_population is None or (c["population"] or 0) >= min_population),
        key=lambda c: c["code"],
    )  # fmt: skip
    if counts["city_hall"] > len(eligible):
        raise SimulationError(
            f"{total} structures need {counts['city_hall']} city halls but only "
            f"{len(eligible)} communes are eligible"
        )
    chosen: list[tuple[str, dict[str, Any], str]] = []

    def sample(kind: str, items: list[dict[str, Any]], code: str) -> None:
        ordered = sorted(items, key=lambda t: t[code])
        for item in rng.sample(ordered, min(counts[kind], len(ordered))):
            chosen.append((kind, item, item[code]))

    sample("region", territories.regions, "code")
    sample("departement", territories.departements, "code")
    sample("intercommunality", territories.epcis, "siren")
    sample("city_hall", eligible, "code")
    # Other public services sit in the larger communes (weighted by population).
    weighted = [c for c in eligible if (c["population"] or 0) >= 2_000] or eligible
    taken: set[tuple[str, str]] = set()
    while len(taken) < min(counts["other"], len(weighted) * len(OTHER_TYPES)):
        commune = rng.choices(weighted, weights=[c["population"] or 1 for c in weighted])[0]
        kind = OTHER_TYPES[rng.randrange(len(OTHER_TYPES))]
        if (kind, commune["code"]) not in taken:
            taken.add((kind, commune["code"]))
            chosen.append((kind, commune, commune["code"]))
    return [_spec(seed, kind, item, code, visits) for kind, item, code in chosen]


NAMES = {"city_hall": "Mairie de {}", "region": "Région {}", "departement": "Département {}",
         "intercommunality": "{}", "france_services": "France Services de {}",
         "ccas": "CCAS de {}", "tourist_office": "Office de tourisme de {}"}  # fmt: skip


def _spec(seed: int, kind: str, item: dict[str, Any], code: str, visits: bool) -> StructureSpec:
    rng = rng_for(seed, kind, code)
    certified = rng.random() < CERTIFIED_SHARE
    personalised = rng.random() < 0.2
    # Mystery visits go with either offer; the restitution only with the personalised one.
    options = tuple(o for o, share in (("visits", 0.1 * visits),
                                       ("restitution", 0.25 * personalised))
                    if rng.random() < share)  # fmt: skip
    quality = rng.gauss(BASE_QUALITY, QUALITY_SPREAD) + (CERTIFIED_BONUS if certified else 0)
    return StructureSpec(
        type=kind, territory_code=code, name=NAMES[kind].format(item["name"]),
        departement_code=item.get("departement_code") or (code if kind == "departement" else None),
        certified=certified, offer="personalised" if personalised else "standard",
        options=options, competes_for_trophies=rng.random() < 0.5,
        quality=min(0.97, max(0.05, quality)),
    )  # fmt: skip


def slug(text: str) -> str:
    bare = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in bare.lower()).split())[:40]


def csv_of(specs: Sequence[StructureSpec], seed: int) -> str:
    """The registry's structure import file for these specs (principal site's contacts)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "type", "territory_code", "email", "phone", "website"])
    for spec in specs:
        rng = rng_for(seed, "contacts", *spec.key)
        domain = f"{slug(spec.name)}-{spec.territory_code.lower()}.example.fr"
        phone = f"0{rng.choice((1, 3, 4))}{rng.randint(20, 79)}{rng.randint(100000, 999999)}"
        writer.writerow([spec.name, spec.type, spec.territory_code, f"accueil@{domain}", phone,
                         f"https://www.{domain}"])  # fmt: skip
    return out.getvalue()


def add_working_days(day: date, count: int, departement_code: str | None) -> date:
    """The day `count` working days after `day` (weekends and French public holidays off)."""
    local = {"57": "57", "67": "6AE", "68": "6AE"}.get(departement_code or "")
    off = holidays.country_holidays("FR", years=[day.year, day.year + 1], subdiv=local)
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            count -= 1
    return day


def audit_of(
    seed: int,
    spec: StructureSpec,
    channel: str,
    sequence: int,
    planned_on: date,
    items: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The answers and evidence of one audit (the same for the same seed, structure, channel
    and sequence, whatever the ids and planned days)."""
    rng = rng_for(seed, "audit", *spec.key, channel, sequence)
    p = min(0.98, max(0.02, spec.quality + CHANNEL_SHIFT.get(channel, 0) + rng.gauss(0, 0.08)))
    answers = answer_grid(list(items), rng, p)  # the demo's careful auditor
    contacted = datetime.combine(planned_on, dt_time(10, 0), tzinfo=PARIS)
    evidence: dict[str, Any] = {"contacted_at": contacted.isoformat()}
    if channel in WRITTEN:
        limit = WRITTEN[channel]
        # Always a reply, in time or late: scoring refuses an audit whose measured delay is
        # empty ("no reply"), although fieldwork accepts it (reported; not simulated).
        late = rng.random() > p
        delay = rng.randint(limit + 1, 3 * limit) if late else rng.randint(0, limit)
        replied = add_working_days(planned_on, delay, spec.departement_code)
        evidence["answered_at"] = datetime.combine(
            replied, dt_time(15, 0), tzinfo=PARIS
        ).isoformat()
    good = rng.random() < p
    evidence["rings"] = rng.randint(1, 5) if good else rng.randint(6, 15)
    evidence["waiting_seconds"] = rng.randint(0, 60) if good else rng.randint(61, 600)
    evidence["agent_named"] = rng.random() < p
    return {"answers": answers, "evidence": evidence}


# --- progress -----------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    unit: str
    count: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Report:
    edition_id: str = ""
    territories: Territories | None = None
    phases: list[Phase] = field(default_factory=list)

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)


class Runner:
    """The HTTP side: bounded concurrency, retries of transient failures, progress lines."""

    def __init__(
        self,
        urls: dict[str, str],
        token: str,
        settings: ServiceSettings,
        *,
        concurrency: int,
        say: Callable[[str], None],
    ) -> None:
        self.urls = urls
        self.settings = settings
        self.say = say
        self.limit = asyncio.Semaphore(concurrency)
        self.client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(600, connect=10),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.report = Report()

    async def close(self) -> None:
        await self.client.aclose()

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        ok: Iterable[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        accepted = set(ok)
        for attempt in range(6):
            try:
                async with self.limit:
                    response = await self.client.request(
                        method, self.urls[service] + path, **kwargs
                    )
            except httpx.TransportError as exc:
                if attempt == 5:
                    raise SimulationError(f"{method} {service}{path}: {exc!r}") from exc
            else:
                if response.status_code < 400 or response.status_code in accepted:
                    return response
                if response.status_code < 500 and response.status_code != 429:
                    raise SimulationError(
                        f"{method} {service}{path}: HTTP {response.status_code} "
                        f"{response.text[:800]}"
                    )
            await asyncio.sleep(0.5 * 2**attempt)
        raise SimulationError(f"{method} {service}{path}: HTTP {response.status_code}")

    async def json(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        return (await self.call(method, service, path, **kwargs)).json()

    async def pages(
        self, service: str, path: str, params: dict[str, Any] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})}
            page = await self.json("GET", service, path, params=query)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    @asynccontextmanager
    async def phase(self, name: str, unit: str) -> AsyncIterator[Phase]:
        phase = Phase(name, unit)
        started = time.perf_counter()
        try:
            yield phase
        finally:
            phase.seconds = time.perf_counter() - started
            self.report.phases.append(phase)
            self.say(f"{name:<14} {phase.count:>9,} {unit:<11} {phase.seconds:8.1f} s "
                     f"{phase.rate:10,.0f} {unit}/s")  # fmt: skip

    def auditor_headers(self, auditor_id: str) -> dict[str, str]:
        token = issue_token(self.settings, role=Role.AUDITOR, subject=auditor_id)
        return {"Authorization": f"Bearer {token}"}


async def gather_bounded(jobs: Iterable[Awaitable[Any]]) -> list[Any]:
    """Every job at once (the Runner's semaphore bounds what is in flight)."""
    return list(await asyncio.gather(*jobs))


# --- the phases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    structures: int
    seed: int
    year: int = 2027
    preset: str = "2020"
    concurrency: int = 16
    wait_scores: bool = True
    until: str | None = None  # stop after this phase (tests: an interruption)

    @property
    def edition_name(self) -> str:
        return f"Simulation (seed {self.seed}, {self.structures} structures)"


PHASES = ("territories", "edition", "structures", "registrations", "plans", "auditors",
          "assignment", "fieldwork", "scores")  # fmt: skip


async def simulate(
    runner: Runner, options: Options, territories: Territories | None = None
) -> Report:
    """Build (or complete) the edition; each phase prints a line with its count and rate.
    `territories`: the registry's, when the caller has read them already."""
    async with runner.phase("territories", "territories") as phase:
        territories = territories or await load_territories(runner)
        phase.count = sum(len(v) for v in vars(territories).values())
    runner.report.territories = territories
    edition = await ensure_edition(runner, options)
    runner.report.edition_id = edition["id"]
    # The visits option only where the edition's calendar has visits (the 2020 one has none).
    visits = any(w["channel"] == "visit" for w in edition["calendar"]["windows"])
    specs = choose_structures(
        options.seed, options.structures, territories, edition["min_population"], visits=visits
    )
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
    ids: dict[tuple[str, str], dict[str, Any]] = {}

    async def structures() -> None:
        ids.update(await ensure_structures(runner, options, specs))

    async def registrations() -> None:
        await ensure_registrations(runner, edition, specs, ids)

    async def plans() -> None:
        await wait_planned(runner, edition["id"], len(specs))

    async def auditors() -> None:
        await ensure_auditors(runner, options, specs)

    async def assignment() -> None:
        await assign(runner, edition["id"])

    async def fieldwork() -> None:
        await audit(runner, options, edition["id"], specs, ids)

    async def scores() -> None:
        if options.wait_scores:
            await wait_scored(runner, edition["id"], len(specs))

    steps = [("structures", structures), ("registrations", registrations), ("plans", plans),
             ("auditors", auditors), ("assignment", assignment), ("fieldwork", fieldwork),
             ("scores", scores)]  # fmt: skip
    for name, step in steps:
        await step()
        if options.until == name:
            break
    return runner.report


async def load_territories(runner: Runner) -> Territories:
    regions = await runner.pages("registry", "/v1/territories/regions")
    departements = await runner.pages("registry", "/v1/territories/departements")
    codes = [d["code"] for d in departements]
    communes = await gather_bounded(
        runner.pages("registry", "/v1/territories/communes", {"departement": c}) for c in codes
    )
    epcis = await gather_bounded(
        runner.pages("registry", "/v1/territories/epcis", {"departement": c}) for c in codes
    )
    unique_epcis = {e["siren"]: e for page in epcis for e in page}
    return Territories(
        regions=regions,
        departements=departements,
        epcis=list(unique_epcis.values()),
        communes=[c for page in communes for c in page],
    )


async def ensure_edition(runner: Runner, options: Options) -> dict[str, Any]:
    async with runner.phase("edition", "editions") as phase:
        found = await runner.json("GET", "registry", "/v1/editions", params={"year": options.year})
        edition = next((e for e in found["items"] if e["name"] == options.edition_name), None)
        if edition is None and found["items"]:
            raise SimulationError(
                f"edition {options.year} exists ({found['items'][0]['name']}): pass another --year"
            )
        if edition is None:
            edition = await runner.json(
                "POST", "registry", "/v1/editions",
                json={"preset": options.preset, "year": options.year,
                      "number": 100 + options.year % 100, "name": options.edition_name},
                headers={"Idempotency-Key": f"simulate-{options.seed}-{options.year}-edition"},
            )  # fmt: skip
            phase.count = 1
        if edition["status"] == "draft":
            edition = await runner.json(
                "POST", "registry", f"/v1/editions/{edition['id']}/transitions",
                json={"to": "registration_open"},
            )  # fmt: skip
            edition = await runner.json("GET", "registry", f"/v1/editions/{edition['id']}")
        found_edition: dict[str, Any] = edition
        return found_edition


def _structure_key(structure: dict[str, Any]) -> tuple[str, str]:
    code = {"intercommunality": structure["epci_siren"], "departement":
            structure["departement_code"], "region": structure["region_code"]}.get(
        structure["type"], structure["commune_code"])  # fmt: skip
    return (structure["type"], str(code))


async def existing_structures(runner: Runner) -> dict[tuple[str, str], dict[str, Any]]:
    return {_structure_key(s): s
            for s in await runner.pages("registry", "/v1/structures", limit=200)}  # fmt: skip


async def ensure_structures(
    runner: Runner, options: Options, specs: Sequence[StructureSpec]
) -> dict[tuple[str, str], dict[str, Any]]:
    async with runner.phase("structures", "structures") as phase:
        found = await existing_structures(runner)
        missing = [s for s in specs if s.key not in found]
        chunks = [missing[i : i + IMPORT_CHUNK] for i in range(0, len(missing), IMPORT_CHUNK)]
        await gather_bounded(
            runner.call(
                "POST", "registry", "/v1/structures/import",
                content=csv_of(chunk, options.seed).encode(),
                headers={"Content-Type": "text/csv",
                         "Idempotency-Key": f"simulate-{options.seed}-import-{chunk[0].key}"},
            )
            for chunk in chunks
        )  # fmt: skip
        if missing:
            found = await existing_structures(runner)
        certify = [s for s in specs if s.certified and not found[s.key]["certifications"]]
        await gather_bounded(
            runner.call(
                "POST", "registry", f"/v1/structures/{found[s.key]['id']}/certifications",
                json={"name": "qualivilles" if s.type == "city_hall" else
                      "services_publics_plus", "obtained_on": "2024-06-01"},
            )
            for s in certify
        )  # fmt: skip
        phase.count = len(missing)
        return {s.key: found[s.key] for s in specs}


async def ensure_registrations(
    runner: Runner,
    edition: dict[str, Any],
    specs: Sequence[StructureSpec],
    ids: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """The missing registrations in bulk (registered and accepted together), and any left
    pending accepted one by one."""
    base = f"/v1/editions/{edition['id']}/registrations"
    async with runner.phase("registrations", "accepted") as phase:
        existing = {r["structure_id"]: r for r in await runner.pages("registry", base, limit=200)}
        missing = [s for s in specs if ids[s.key]["id"] not in existing]
        pending = [r for r in existing.values() if r["status"] == "pending"]

        async def bulk(chunk: Sequence[StructureSpec]) -> int:
            items = [{"structure_id": ids[s.key]["id"], "offer": s.offer, "options": list(s.options),
                      "competes_for_trophies": s.competes_for_trophies} for s in chunk]  # fmt: skip
            await runner.call(
                "POST", "registry", f"{base}/bulk", json={"items": items, "accept": True},
                headers={"Idempotency-Key": f"simulate-{edition['id']}-{chunk[0].key}"},
            )  # fmt: skip
            return len(chunk)

        async def accept(registration: dict[str, Any]) -> int:
            await runner.call("POST", "registry", f"{base}/{registration['id']}/accept")
            return 1

        chunks = [missing[i : i + REGISTER_CHUNK] for i in range(0, len(missing), REGISTER_CHUNK)]
        done = await gather_bounded([*(bulk(c) for c in chunks), *(accept(r) for r in pending)])
        phase.count = sum(done)


async def progress(runner: Runner, edition_id: str) -> dict[str, Any]:
    response = await runner.call(
        "GET", "fieldwork", f"/v1/editions/{edition_id}/fieldwork-progress", ok=(404,)
    )
    if response.status_code == 404:  # fieldwork has not heard of the edition yet
        return {"structures_planned": 0, "sites_planned": 0, "tasks": {}}
    found: dict[str, Any] = response.json()
    return found


async def wait_planned(runner: Runner, edition_id: str, structures: int) -> None:
    async with runner.phase("plans", "tasks") as phase:
        stalled = Stall("fieldwork's plans")
        while True:
            state = await progress(runner, edition_id)
            if state["structures_planned"] >= structures:
                phase.count = sum(state["tasks"].values())
                return
            stalled.check(state["structures_planned"], f"{state} of {structures} structures")
            await asyncio.sleep(0.5)


class Stall:
    """Fails a wait when what it watches has not moved for `seconds`."""

    def __init__(self, what: str, seconds: float = 180) -> None:
        self.what, self.seconds = what, seconds
        self.seen: object = None
        self.since = time.monotonic()

    def check(self, value: object, state: str) -> None:
        if value != self.seen:
            self.seen, self.since = value, time.monotonic()
        elif time.monotonic() - self.since > self.seconds:
            raise SimulationError(f"{self.what} stopped moving for {self.seconds:.0f} s: {state}")


def auditor_plan(options: Options, specs: Sequence[StructureSpec]) -> list[dict[str, Any]]:
    """Auditors of their own per edition (fieldwork never sends an auditor twice to a site on
    one channel, editions included): remote ones enough for the busiest weeks (13 remote audits per structure over about
    20 weeks, a weekly capacity of 100, half of it used), and two residents per département
    with visits (the two visits of a site are made by two people)."""
    remote = max(6, math.ceil(13 * len(specs) / 20 / (AUDITOR_WEEKLY_CAPACITY / 2)))
    departements = sorted({s.departement_code for s in specs if s.departement_code})
    visited = sorted({s.departement_code for s in specs
                      if "visits" in s.options and s.departement_code})  # fmt: skip
    plan = [
        {"pseudonym": f"Simulation {options.year}-{options.seed} auditeur {i:05d}",
         "home_departement_code": departements[i % len(departements)] if departements else "75",
         "channels": list(REMOTE_CHANNELS), "weekly_capacity": AUDITOR_WEEKLY_CAPACITY}
        for i in range(remote)
    ]  # fmt: skip
    plan += [
        {"pseudonym": f"Simulation {options.year}-{options.seed} visiteur {code} {n}",
         "home_departement_code": code, "channels": ["visit"],
         "weekly_capacity": AUDITOR_WEEKLY_CAPACITY}
        for code in visited for n in (1, 2)
    ]  # fmt: skip
    return plan


async def ensure_auditors(
    runner: Runner, options: Options, specs: Sequence[StructureSpec]
) -> list[dict[str, Any]]:
    async with runner.phase("auditors", "auditors") as phase:
        existing = {a["pseudonym"]: a
                    for a in (await runner.json("GET", "fieldwork", "/v1/auditors"))["items"]}  # fmt: skip
        wanted = auditor_plan(options, specs)
        created = await gather_bounded(
            runner.json("POST", "fieldwork", "/v1/auditors", json=a)
            for a in wanted if a["pseudonym"] not in existing
        )  # fmt: skip
        phase.count = len(created)
        everyone = {**existing, **{a["pseudonym"]: a for a in created}}
        return [everyone[a["pseudonym"]] for a in wanted]


async def assign(runner: Runner, edition_id: str) -> None:
    async with runner.phase("assignment", "tasks") as phase:
        result = await runner.json(
            "POST", "fieldwork", f"/v1/editions/{edition_id}/auto-assignment"
        )
        phase.count = result["assigned"]
        if result["unassigned"]:
            reasons = sorted({u["reason"] for u in result["unassigned"]})
            runner.say(f"  {len(result['unassigned']):,} tasks not assigned: {'; '.join(reasons)}")


async def audit(
    runner: Runner,
    options: Options,
    edition_id: str,
    specs: Sequence[StructureSpec],
    ids: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """Each auditor submits their assigned tasks in bulk; the operator validates each batch."""
    by_id = {ids[s.key]["id"]: s for s in specs}
    listed = await runner.json("GET", "fieldwork", "/v1/grids")
    grid_by_id = {
        g["id"]: g for g in await gather_bounded(
            runner.json("GET", "fieldwork", f"/v1/grids/{g['code']}/versions/{g['version']}")
            for g in listed)
    }  # fmt: skip
    tasks_path = f"/v1/editions/{edition_id}/tasks"
    async with runner.phase("fieldwork", "audits") as phase:

        async def validate(task_ids: list[str]) -> None:
            for i in range(0, len(task_ids), VALIDATE_CHUNK):
                chunk = task_ids[i : i + VALIDATE_CHUNK]
                await runner.call("POST", "fieldwork", f"/v1/editions/{edition_id}/validations",
                                  json={"task_ids": chunk})  # fmt: skip
                phase.count += len(chunk)

        async def one(auditor: dict[str, Any]) -> None:
            tasks = await runner.pages(
                "fieldwork", tasks_path, {"auditor_id": auditor["id"], "status": "assigned"}, 500
            )
            headers = runner.auditor_headers(auditor["id"])
            for i in range(0, len(tasks), SUBMIT_CHUNK):
                chunk = tasks[i : i + SUBMIT_CHUNK]
                body = [
                    {"task_id": t["id"], **audit_of(
                        options.seed, by_id[t["structure_id"]], t["channel"], t["sequence"],
                        date.fromisoformat(t["planned_on"]), grid_by_id[t["grid_id"]]["items"])}
                    for t in chunk
                ]  # fmt: skip
                await runner.call("POST", "fieldwork", "/v1/me/submissions",
                                  json={"submissions": body}, headers=headers)  # fmt: skip
                await validate([t["id"] for t in chunk])

        # Left over by an interruption between a submission and its validation.
        leftover = await runner.pages("fieldwork", tasks_path, {"status": "submitted"}, 500)
        await validate([t["id"] for t in leftover])
        # Every auditor with tasks here: the edition's own, and any other the assignment chose.
        everyone = (await runner.json("GET", "fieldwork", "/v1/auditors"))["items"]
        await gather_bounded(one(a) for a in everyone)


async def wait_scored(runner: Runner, edition_id: str, structures: int) -> None:
    """Until reporting's read model has every structure's figures (scoring consumed every
    validated audit and announced the edition's figures)."""
    async with runner.phase("scores", "structures") as phase:
        validated = (await progress(runner, edition_id))["tasks"].get("validated", 0)
        stalled = Stall("reporting's barometer")
        while True:
            response = await runner.call(
                "GET", "scoring", f"/v1/editions/{edition_id}/structures",
                params={"limit": 1}, ok=(404,),
            )  # fmt: skip
            audits = await runner.call(
                "GET", "reporting", f"/v1/editions/{edition_id}/barometer", ok=(404,)
            )
            overall = audits.json().get("sample", {}).get("overall") or {} \
                if audits.status_code == 200 else {}  # fmt: skip
            if response.status_code == 200 and overall.get("structures") == structures and \
                    overall.get("audits") == validated:  # fmt: skip
                phase.count = structures
                return
            stalled.check((overall.get("structures"), overall.get("audits")),
                          f"{overall} for {structures} structures, {validated} audits")  # fmt: skip
            await asyncio.sleep(1)


def run(
    options: Options,
    urls: dict[str, str],
    *,
    say: Callable[[str], None] = print,
    territories: Territories | None = None,
) -> Report:
    settings = ServiceSettings(data_dir=default_data_dir())
    token = issue_token(settings, role=Role.OPERATOR, subject="simulate",
                        ttl=timedelta(hours=12))  # fmt: skip

    async def main() -> Report:
        runner = Runner(urls, token, settings, concurrency=options.concurrency, say=say)
        try:
            return await simulate(runner, options, territories)
        finally:
            await runner.close()

    say(f"simulating {options.structures:,} structures (seed {options.seed}) "
        f"into edition {options.year}: {options.edition_name}")  # fmt: skip
    return asyncio.run(main())
