"""Partner webhooks against a real HTTP receiver (a server on a free loopback port), with the
registry on a real PostgreSQL and NATS: deliveries made from events and only for opted-in
structures, signatures checked by the documented snippet, retries with backoff then a pause,
resume, replay, and each partner seeing only its own."""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from services.registry.app import create_app
from services.registry.webhooks import rules
from services.registry.webhooks import service as webhooks
from shared.contracts.fieldwork import AppealDecidedV1
from shared.contracts.registry import EditionStatusChangedV1
from shared.events import new_event
from tests.helpers import eventually, running
from tests.registry.conftest import (
    Headers,
    assert_problem,
    new_edition,
    new_structure,
    ok,
    register,
    url_of,
)

REZE = "44143"
SCOPE = ["webhooks:manage"]
DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
Verify = Callable[..., bool]


# --- the receiver ----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Receiver:
    """A partner's endpoint: records every POST, answers `status` (settable per path)."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def answer(self, path: str, status: int) -> None:
        with self.lock:
            self.status[path] = status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.received.append(
                    Received(self.path, dict(self.headers.items()), body, time.monotonic())
                )
                status = state.status.get(self.path, 200)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- the registry, fast retries ---------------------------------------------------------------

BASE_DELAY = 0.3


@pytest.fixture
async def hooks(make_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        "registry",
        webhook_poll_seconds=0.05,
        webhook_retry_base_seconds=BASE_DELAY,
        webhook_retry_max_seconds=5,
        webhook_pause_after=3,
        webhook_max_attempts=10,
        webhook_timeout_seconds=5,
    )
    async with running(create_app(settings)) as client:
        yield client


def documented_verifier() -> Verify:
    """The copy-paste snippet of docs/webhooks.md, run as written."""
    text = DOC.read_text()
    section = text[text.index("## Verifying a delivery") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "docs/webhooks.md has no Python snippet under 'Verifying'"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    verify: Verify = namespace["verify_webhook"]
    return verify


def partner(token: Headers, client_id: str, scopes: list[str] | None = None) -> dict[str, str]:
    return token("partner", subject=client_id, scopes=SCOPE if scopes is None else scopes)


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, *types: str
) -> dict[str, Any]:
    created: dict[str, Any] = ok(
        await client.post(
            "/v1/webhooks/subscriptions",
            json={"target_url": url, "event_types": list(types)},
            headers=headers,
        ),
        201,
    )
    return created


async def opt_in(db: asyncpg.Connection, structure: dict[str, Any], client_id: str) -> None:
    await db.execute(
        "INSERT INTO partner_opt_ins (structure_id, client_id, granted_by) VALUES ($1, $2, $3)",
        uuid.UUID(structure["id"]),
        client_id,
        "operator-test",
    )


async def accepted(
    client: httpx.AsyncClient, operator: dict[str, str], edition: dict[str, Any], structure: Any
) -> dict[str, Any]:
    registration = await register(client, operator, edition, structure)
    body: dict[str, Any] = ok(await client.post(url_of(registration) + "/accept", headers=operator))
    return body


async def received(receiver: Receiver, path: str, count: int) -> list[Received]:
    async def probe() -> list[Received] | None:
        found = receiver.at(path)
        return found if len(found) >= count else None

    return await eventually(probe)


async def delivery_of(
    client: httpx.AsyncClient, headers: dict[str, str], delivery_id: str
) -> dict[str, Any]:
    found: dict[str, Any] = ok(
        await client.get(f"/v1/webhooks/deliveries/{delivery_id}", headers=headers)
    )
    return found


# --- the tests --------------------------------------------------------------------------------


async def test_signed_deliveries_only_for_opted_in_structures(
    hooks: httpx.AsyncClient,
    operator: dict[str, str],
    token: Headers,
    db: asyncpg.Connection,
    receiver: Receiver,
) -> None:
    verify = documented_verifier()
    a, b = partner(token, "client-a"), partner(token, "client-b")
    sub_a = await subscribe(
        hooks, a, receiver.url + "/a",
        "registration.accepted", "results.dispatched", "edition.published",
    )  # fmt: skip
    sub_b = await subscribe(hooks, b, receiver.url + "/b", "registration.accepted",
                            "edition.published")  # fmt: skip
    assert sub_a["secret"].startswith("whsec_")
    assert sub_a["secret"] != sub_b["secret"]
    assert sub_a["status"] == "active"
    assert sub_a["client_id"] == "client-a"
    shown = ok(await hooks.get(f"/v1/webhooks/subscriptions/{sub_a['id']}", headers=a))
    assert "secret" not in shown  # shown once, at creation

    edition = await new_edition(hooks, operator, preset="2017", year=2026, number=15)
    nantes = await new_structure(hooks, operator)
    reze = await new_structure(hooks, operator, name="Mairie de Rezé", commune_code=REZE)
    await opt_in(db, nantes, "client-a")  # Nantes lets only A hear of it, Rezé only B
    await opt_in(db, reze, "client-b")
    nantes_registration = await accepted(hooks, operator, edition, nantes)
    await accepted(hooks, operator, edition, reze)

    (to_a,) = await received(receiver, "/a", 1)
    (to_b,) = await received(receiver, "/b", 1)
    assert to_a.json["type"] == "registration.accepted"
    assert to_a.json["data"]["structure_id"] == nantes["id"]
    assert to_a.json["data"]["registration_id"] == nantes_registration["id"]
    assert to_a.json["data"]["structure_name"] == "Mairie de Nantes"
    assert to_b.json["data"]["structure_id"] == reze["id"]
    # The documented snippet accepts each delivery under its own secret, and nothing else.
    assert verify(sub_a["secret"], to_a.headers, to_a.body)
    assert verify(sub_b["secret"], to_b.headers, to_b.body)
    assert not verify(sub_b["secret"], to_a.headers, to_a.body)
    assert not verify(sub_a["secret"], to_a.headers, to_a.body.replace(b"Nantes", b"Nante5"))
    stale = {**to_a.headers, "Webhook-Timestamp": str(int(time.time()) - 3600)}
    assert not verify(sub_a["secret"], stale, to_a.body)
    assert to_a.headers["Webhook-Event"] == "registration.accepted"
    assert to_a.headers["Webhook-Id"] == to_a.json["id"]
    delivery = await eventually(lambda: _delivered(hooks, a, to_a.json["id"]))
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 200
    assert delivery["body"] == to_a.body.decode()

    # Publication: every subscriber hears of the edition; results only for opted-in structures.
    for target in ("registration_closed", "fieldwork", "scoring", "published"):
        ok(await hooks.post(f"/v1/editions/{edition['id']}/transitions", json={"to": target},
                            headers=operator))  # fmt: skip
    to_a_all = await received(receiver, "/a", 3)
    to_b_all = await received(receiver, "/b", 2)
    kinds_a = sorted((r.json["type"], r.json["data"].get("structure_id")) for r in to_a_all)
    assert kinds_a == [
        ("edition.published", None),
        ("registration.accepted", nantes["id"]),
        ("results.dispatched", nantes["id"]),
    ]
    assert sorted(r.json["type"] for r in to_b_all) == [
        "edition.published",
        "registration.accepted",
    ]
    published = next(r for r in to_b_all if r.json["type"] == "edition.published")
    assert published.json["data"]["edition_id"] == edition["id"]
    assert all(verify(sub_a["secret"], r.headers, r.body) for r in to_a_all)

    async def all_delivered() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = ok(await hooks.get("/v1/webhooks/deliveries", headers=a))[
            "items"
        ]
        return items if {d["status"] for d in items} == {"delivered"} else None

    assert len(await eventually(all_delivered)) == 3


async def test_a_failing_receiver_gets_retries_with_backoff_then_the_subscription_pauses(
    hooks: httpx.AsyncClient,
    operator: dict[str, str],
    token: Headers,
    db: asyncpg.Connection,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="services.registry.webhooks.worker")
    a = partner(token, "client-a")
    receiver.answer("/a", 503)
    sub = await subscribe(hooks, a, receiver.url + "/a", "registration.accepted")
    edition = await new_edition(hooks, operator, preset="2017", year=2026, number=15)
    nantes = await new_structure(hooks, operator)
    await opt_in(db, nantes, "client-a")
    await accepted(hooks, operator, edition, nantes)

    attempts = await received(receiver, "/a", 3)
    # The same delivery each time, spaced by the base delay doubled per failed attempt.
    assert len({r.headers["Webhook-Id"] for r in attempts}) == 1
    assert len({r.body for r in attempts}) == 1
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert gaps[0] >= BASE_DELAY, gaps
    assert gaps[1] >= 2 * BASE_DELAY, gaps

    async def paused() -> dict[str, Any] | None:
        s = ok(await hooks.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=a))
        return s if s["status"] == "paused" else None

    state = await eventually(paused)
    assert state["consecutive_failures"] == 3
    assert state["paused_at"]
    assert "3 failed attempts in a row" in state["pause_reason"]
    assert "503" in state["pause_reason"]
    assert any(r.getMessage() == "webhook subscription paused" for r in caplog.records)
    delivery = await delivery_of(hooks, a, attempts[0].headers["Webhook-Id"])
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 503
    assert "503" in delivery["last_error"]
    assert delivery["next_attempt_at"] is not None
    # Backoff recorded: the next attempt is due at least 4 base delays after the third.
    due = datetime.fromisoformat(delivery["next_attempt_at"])
    last = datetime.fromisoformat(delivery["last_attempt_at"])
    assert (due - last).total_seconds() >= 4 * BASE_DELAY
    # Paused: nothing more is sent, even once the delivery is due again.
    await eventually(lambda: _past(due + timedelta(seconds=0.5)), within=10)  # 10 polls later
    assert len(receiver.at("/a")) == 3

    receiver.answer("/a", 204)
    resumed = ok(await hooks.post(f"/v1/webhooks/subscriptions/{sub['id']}/resume", headers=a))
    assert resumed["status"] == "active"
    assert resumed["pause_reason"] is None
    await received(receiver, "/a", 4)

    done = await eventually(lambda: _delivered(hooks, a, delivery["id"]))
    assert done["attempts"] == 4
    assert done["last_status_code"] == 204
    assert done["last_error"] is None
    after = ok(await hooks.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=a))
    assert after["consecutive_failures"] == 0


async def _delivered(
    client: httpx.AsyncClient, headers: dict[str, str], delivery_id: str
) -> dict[str, Any] | None:
    """The delivery once its outcome is recorded (just after the receiver got it)."""
    found = await delivery_of(client, headers, delivery_id)
    return found if found["status"] == "delivered" else None


async def _past(moment: datetime) -> bool:
    return datetime.now(UTC) > moment


async def test_replay_rotation_and_each_partner_sees_only_its_own(
    hooks: httpx.AsyncClient,
    operator: dict[str, str],
    token: Headers,
    db: asyncpg.Connection,
    receiver: Receiver,
) -> None:
    verify = documented_verifier()
    a, b = partner(token, "client-a"), partner(token, "client-b")
    sub_a = await subscribe(hooks, a, receiver.url + "/a", "registration.accepted")
    sub_b = await subscribe(hooks, b, receiver.url + "/b", "registration.accepted")
    edition = await new_edition(hooks, operator, preset="2017", year=2026, number=15)
    nantes = await new_structure(hooks, operator)
    await opt_in(db, nantes, "client-a")
    await opt_in(db, nantes, "client-b")
    await accepted(hooks, operator, edition, nantes)
    (first,) = await received(receiver, "/a", 1)
    await received(receiver, "/b", 1)
    delivery_id = first.headers["Webhook-Id"]
    await eventually(lambda: _delivered(hooks, a, delivery_id))

    # Replayed after a secret rotation: same id and body, signed with the new secret.
    rotated = ok(await hooks.post(f"/v1/webhooks/subscriptions/{sub_a['id']}/rotate-secret",
                                  headers=a))  # fmt: skip
    assert rotated["secret"] != sub_a["secret"]
    assert rotated["secret_rotated_at"]
    replayed = ok(await hooks.post(f"/v1/webhooks/deliveries/{delivery_id}/replay", headers=a))
    assert replayed["id"] == delivery_id
    assert replayed["status"] == "pending"
    _, again = await received(receiver, "/a", 2)
    assert again.headers["Webhook-Id"] == delivery_id
    assert again.body == first.body
    assert verify(rotated["secret"], again.headers, again.body)
    assert not verify(sub_a["secret"], again.headers, again.body)

    # B reaches none of A's objects (404, as if they did not exist); the operator sees all.
    for method, path in (
        ("GET", f"/v1/webhooks/subscriptions/{sub_a['id']}"),
        ("DELETE", f"/v1/webhooks/subscriptions/{sub_a['id']}"),
        ("POST", f"/v1/webhooks/subscriptions/{sub_a['id']}/resume"),
        ("POST", f"/v1/webhooks/subscriptions/{sub_a['id']}/rotate-secret"),
        ("GET", f"/v1/webhooks/deliveries/{delivery_id}"),
        ("POST", f"/v1/webhooks/deliveries/{delivery_id}/replay"),
    ):
        assert_problem(await hooks.request(method, path, headers=b), 404)
    own = ok(await hooks.get("/v1/webhooks/deliveries", headers=b))["items"]
    assert [d["subscription_id"] for d in own] == [sub_b["id"]]
    assert [s["id"] for s in ok(await hooks.get("/v1/webhooks/subscriptions", headers=b))[
        "items"]] == [sub_b["id"]]  # fmt: skip
    everyone = ok(await hooks.get("/v1/webhooks/subscriptions", headers=operator))["items"]
    assert {s["id"] for s in everyone} == {sub_a["id"], sub_b["id"]}
    page = ok(await hooks.get("/v1/webhooks/deliveries", params={"limit": 1}, headers=operator))
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    rest = ok(await hooks.get("/v1/webhooks/deliveries",
                              params={"limit": 1, "cursor": page["next_cursor"]},
                              headers=operator))  # fmt: skip
    assert len(rest["items"]) == 1
    assert rest["items"][0]["id"] != page["items"][0]["id"]
    assert rest["next_cursor"] is None

    # Who may do what: the operator reads but does not change; a partner needs the scope.
    assert_problem(await hooks.post(f"/v1/webhooks/deliveries/{delivery_id}/replay",
                                    headers=operator), 403)  # fmt: skip
    unscoped = partner(token, "client-a", scopes=[])
    assert_problem(await hooks.get("/v1/webhooks/subscriptions", headers=unscoped), 403)
    structure = token("structure", subject=nantes["id"])
    assert_problem(await hooks.get("/v1/webhooks/deliveries", headers=structure), 403)
    assert_problem(await hooks.get("/v1/webhooks/deliveries"), 401)

    # Nantes withdraws B's opt-in: a replay of B's delivery is not sent, and says why.
    await db.execute("DELETE FROM partner_opt_ins WHERE client_id = 'client-b'")
    (to_b,) = ok(await hooks.get("/v1/webhooks/deliveries", headers=b))["items"]
    await eventually(lambda: _delivered(hooks, b, to_b["id"]))
    ok(await hooks.post(f"/v1/webhooks/deliveries/{to_b['id']}/replay", headers=b))

    async def dropped() -> dict[str, Any] | None:
        d = await delivery_of(hooks, b, to_b["id"])
        return d if d["status"] == "failed" else None

    assert "no longer opts in" in (await eventually(dropped))["last_error"]
    assert len(receiver.at("/b")) == 1

    # Unsubscribed: the subscription and its deliveries are gone.
    r = await hooks.delete(f"/v1/webhooks/subscriptions/{sub_a['id']}", headers=a)
    assert r.status_code == 204
    assert_problem(await hooks.get(f"/v1/webhooks/deliveries/{delivery_id}", headers=a), 404)


async def test_an_event_consumed_twice_makes_one_delivery_per_subscription(
    hooks: httpx.AsyncClient,
    token: Headers,
    db: asyncpg.Connection,
    receiver: Receiver,
    nats_url: str,
) -> None:
    a, b = partner(token, "client-a"), partner(token, "client-b")
    sub_a = await subscribe(hooks, a, receiver.url + "/a", "appeal.decided")
    await subscribe(hooks, b, receiver.url + "/b", "appeal.decided")
    structure_id = uuid.uuid4()
    await opt_in(db, {"id": str(structure_id)}, "client-a")  # B is not opted in
    decided = AppealDecidedV1(
        appeal_id=uuid.uuid4(), audit_id=uuid.uuid4(), edition_id=uuid.uuid4(),
        structure_id=structure_id, item_code="phone_rings", decision="upheld", revision=2,
        decided_at=datetime.now(UTC),
    )  # fmt: skip
    event = new_event(decided, edition=decided.edition_id)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        # The stream exists (the `nats_url` fixture sets the topology up). Twice on it (beyond JetStream's de-duplication): the inbox takes it once.
        for copy in range(2):
            await js.publish(event.subject, event.model_dump_json().encode(),
                             headers={"Nats-Msg-Id": f"{event.id}-{copy}"})  # fmt: skip
    finally:
        await nc.close()

    (delivered,) = await received(receiver, "/a", 1)
    assert delivered.json["type"] == "appeal.decided"
    assert delivered.json["event_id"] == str(event.id)
    assert delivered.json["data"]["decision"] == "upheld"
    assert delivered.json["data"]["item_code"] == "phone_rings"

    async def consumed_twice() -> bool:
        info = await _consumer_info(nats_url, "FIELDWORK", "registry-webhooks-fieldwork")
        return info >= 2

    await eventually(consumed_twice)
    rows = await db.fetch(
        "SELECT subscription_id FROM webhook_deliveries WHERE event_id = $1", event.id
    )
    assert [str(r["subscription_id"]) for r in rows] == [sub_a["id"]]
    assert receiver.at("/b") == []


async def _consumer_info(nats_url: str, stream: str, durable: str) -> int:
    """How many messages the durable consumer has had acknowledged."""
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().consumer_info(stream, durable)
        return int(info.ack_floor.stream_seq if info.ack_floor else 0)
    finally:
        await nc.close()


async def test_subscriptions_refuse_bad_input(hooks: httpx.AsyncClient, token: Headers) -> None:
    a = partner(token, "client-a")
    for body, where in (
        ({"target_url": "ftp://partner.example/x", "event_types": ["edition.published"]},
         "target_url"),
        ({"target_url": "https://u:p@partner.example/x", "event_types": ["edition.published"]},
         "target_url"),
        ({"target_url": "https://partner.example/x", "event_types": ["nope"]}, "event_types"),
        ({"target_url": "https://partner.example/x", "event_types": []}, "event_types"),
        ({"target_url": "https://partner.example/x",
          "event_types": ["edition.published", "edition.published"]}, ""),
    ):  # fmt: skip
        problem = assert_problem(
            await hooks.post("/v1/webhooks/subscriptions", json=body, headers=a), 422
        )
        assert where in json.dumps(problem), problem
    assert ok(await hooks.get("/v1/webhooks/subscriptions", headers=a))["items"] == []
    assert_problem(await hooks.get(f"/v1/webhooks/deliveries/{uuid.uuid4()}", headers=a), 404)
    assert_problem(
        await hooks.get("/v1/webhooks/deliveries", params={"cursor": "garbage"}, headers=a), 400
    )


async def test_a_publication_fans_out_to_thousands_of_opted_in_structures(
    make_settings: Any, db: asyncpg.Connection
) -> None:
    """Set-based: one query for the subscribers, deliveries inserted in batches (beyond the
    32,767 parameters one statement may carry)."""
    structures = [uuid.uuid4() for _ in range(4000)]
    subscription = uuid.uuid4()
    await db.execute(
        "INSERT INTO webhook_subscriptions (id, client_id, target_url, event_types, secret)"
        " VALUES ($1, 'client-a', 'https://a.example/', '{results.dispatched}', 's')",
        subscription,
    )
    await db.executemany(
        "INSERT INTO partner_opt_ins (structure_id, client_id, granted_by) VALUES ($1, $2, 'x')",
        [(s, "client-a") for s in structures[::2]],  # every other structure opted in
    )
    changed = EditionStatusChangedV1(
        edition_id=uuid.uuid4(), year=2026, from_status="scoring", to_status="published",
        actor_role="operator", actor_subject="op",
    )  # fmt: skip
    occurrences = rules.publication(uuid.uuid4(), datetime.now(UTC), changed, structures)
    app = create_app(make_settings("registry"))
    factory = app.state.runtime.session_factory
    try:
        async with factory() as session, session.begin():
            assert await webhooks.record(session, occurrences) == 2000
        async with factory() as session, session.begin():
            assert await webhooks.record(session, occurrences) == 0  # the same event again
    finally:
        await app.state.runtime.engine.dispose()
    sent = await db.fetch("SELECT structure_id FROM webhook_deliveries ORDER BY structure_id")
    assert [r["structure_id"] for r in sent] == sorted(structures[::2])
