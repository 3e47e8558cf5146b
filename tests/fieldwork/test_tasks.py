"""Auditors, assignment and the life of tasks over HTTP: every transition recorded and every
illegal one refused, submissions checked, delays measured, validated audits announced."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.fieldwork.conftest import PARIS, Fieldwork, best_answers, registration_v2


async def planned_site(
    fw: Fieldwork, **kwargs: Any
) -> tuple[uuid.UUID, uuid.UUID, list[dict[str, Any]]]:
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    payload = registration_v2(edition_id, structure_id, [uuid.uuid4()], **kwargs)
    await fw.publish(payload)
    count = 15 if kwargs.get("options") else 13
    return edition_id, structure_id, await fw.planned(edition_id, count)


async def test_auditor_pseudonyms_are_unique_ignoring_case_and_accents(fw: Fieldwork) -> None:
    await fw.auditor("Éloïse Martin")
    r = await fw.client.post("/v1/auditors", headers=fw.operator, json={
        "pseudonym": "eloise MARTIN", "home_departement_code": "44", "channels": ["email"],
        "weekly_capacity": 5})  # fmt: skip
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    r = await fw.client.post("/v1/auditors", headers=fw.operator, json={
        "pseudonym": "X", "home_departement_code": "99", "channels": ["fax"],
        "weekly_capacity": 0})  # fmt: skip
    assert r.status_code == 422
    assert {e["location"] for e in r.json()["errors"]} == {
        "body.home_departement_code", "body.channels.0", "body.weekly_capacity",
    }  # fmt: skip


async def test_every_transition_is_recorded_and_illegal_ones_are_refused(fw: Fieldwork) -> None:
    _edition_id, _, tasks = await planned_site(fw)
    task = next(t for t in tasks if t["channel"] == "phone")
    tid = task["id"]
    first, second = await fw.auditor("Premier"), await fw.auditor("Second")
    me, other = fw.token("auditor", subject=first), fw.token("auditor", subject=second)

    async def refused(method: str, path: str, status: int, **kw: Any) -> None:
        r = await fw.client.request(method, path, **kw)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"

    # Another auditor's task (or one not assigned yet) does not exist for this auditor.
    await refused("POST", f"/v1/tasks/{tid}/start", 404, headers=me)  # not assigned yet
    await refused("POST", f"/v1/tasks/{tid}/validate", 409, headers=fw.operator)
    await refused("POST", f"/v1/tasks/{tid}/return", 409, headers=fw.operator, json={"reason": "x"})
    await fw.call("POST", f"/v1/tasks/{tid}/assign", json={"auditor_id": second})
    await fw.call("POST", f"/v1/tasks/{tid}/assign", json={"auditor_id": first})  # re-assigned
    await refused("GET", f"/v1/tasks/{tid}", 404, headers=other)  # no longer theirs
    await refused("POST", f"/v1/tasks/{tid}/submission", 404, headers=other,
                  json={"answers": [], "evidence": {"contacted_at": "2017-09-05T10:00:00+02:00"}})  # fmt: skip
    started = await fw.call("POST", f"/v1/tasks/{tid}/start", headers=me)
    assert started["status"] == "in_progress"
    await refused("POST", f"/v1/tasks/{tid}/start", 409, headers=me)
    await fw.submit(task, me)
    await refused("POST", f"/v1/tasks/{tid}/start", 409, headers=me)
    returned = await fw.call(
        "POST",
        f"/v1/tasks/{tid}/return",
        json={"reason": "Le nombre de sonneries manque de précision"},
    )
    assert returned["status"] == "returned_for_correction"
    assert returned["return_reason"].startswith("Le nombre")
    await refused("POST", f"/v1/tasks/{tid}/validate", 409, headers=fw.operator)
    await fw.submit(task, me, rings=4)
    validated = await fw.call("POST", f"/v1/tasks/{tid}/validate")
    assert validated["status"] == "validated"
    assert validated["revision"] == 1
    await refused("POST", f"/v1/tasks/{tid}/validate", 409, headers=fw.operator)
    await refused("POST", f"/v1/tasks/{tid}/cancel", 409, headers=fw.operator)
    await refused("POST", f"/v1/tasks/{tid}/submission", 409, headers=me,
                  json={"answers": [], "evidence": {"contacted_at": "2017-09-05T10:00:00+02:00"}})  # fmt: skip

    history = await fw.call("GET", f"/v1/tasks/{tid}/history")
    moves = [(m["action"], m["from_status"], m["to_status"]) for m in history["transitions"]]
    assert moves == [
        ("assign", "planned", "assigned"),
        ("assign", "assigned", "assigned"),
        ("start", "assigned", "in_progress"),
        ("submit", "in_progress", "submitted"),
        ("return", "submitted", "returned_for_correction"),
        ("submit", "returned_for_correction", "submitted"),
        ("validate", "submitted", "validated"),
    ]
    assert history["transitions"][4]["reason"].startswith("Le nombre")
    assert history["transitions"][1]["reason"] == "re-assigned"
    assert {m["actor"] for m in history["transitions"][2:4]} == {first}
    await refused("GET", f"/v1/tasks/{tid}/history", 403, headers=me)

    cancelled = next(t for t in tasks if t["channel"] == "email")
    out = await fw.call(
        "POST", f"/v1/tasks/{cancelled['id']}/cancel", json={"reason": "site fermé"}
    )
    assert out["status"] == "cancelled"
    await refused("POST", f"/v1/tasks/{cancelled['id']}/assign", 409, headers=fw.operator,
                  json={"auditor_id": second})  # fmt: skip

    events = await fw.stream("fieldwork.audit.validated.v2")
    assert len(events) == 1
    event = events[0]
    assert event["audit_id"] == tid
    assert event["revision"] == 1
    assert event["grid_code"] == "phone"
    assert event["grid_version"] == 1
    assert event["stratum_code"] == "cities-100k-plus"
    assert event["certified"] is True
    assert event["scenario_code"] == task["scenario_code"]
    assert event["remarks"] == "Reçu par Mme [nom]."
    answers = {a["item_code"]: a for a in event["answers"]}
    assert answers["phone_rings"]["value"] in ("4", 4)
    assert first not in str(event)
    assert second not in str(event)
    assert "grid" not in event
    assert len(str(event)) < 3000


async def test_an_auditor_sees_only_their_tasks_with_scenario_and_contact(fw: Fieldwork) -> None:
    _, _, tasks = await planned_site(fw)
    mine = await fw.auditor("Moi")
    someone = await fw.auditor("Autre")
    email = next(t for t in tasks if t["channel"] == "email")
    phone = next(t for t in tasks if t["channel"] == "phone")
    await fw.call("POST", f"/v1/tasks/{email['id']}/assign", json={"auditor_id": mine})
    await fw.call("POST", f"/v1/tasks/{phone['id']}/assign", json={"auditor_id": someone})
    body = await fw.call("GET", "/v1/me/tasks", headers=fw.token("auditor", subject=mine))
    assert [t["id"] for t in body["items"]] == [email["id"]]
    item = body["items"][0]
    assert item["contact"] == "accueil0@mairie-nantes.fr"
    assert item["scenario"]["code"] == email["scenario_code"]
    assert item["scenario"]["request"]
    r = await fw.client.get("/v1/me/tasks", headers=fw.operator)
    assert r.status_code == 403


async def test_every_submission_check_and_the_measured_delay(fw: Fieldwork) -> None:
    _, _, tasks = await planned_site(fw)
    auditor = await fw.auditor("Vérif")
    me = fw.token("auditor", subject=auditor)
    email = next(t for t in tasks if t["channel"] == "email")
    await fw.call("POST", f"/v1/tasks/{email['id']}/assign", json={"auditor_id": auditor})
    detail = await fw.call("GET", f"/v1/tasks/{email['id']}", headers=me)
    items = detail["grid"]["items"]
    good = best_answers(items)

    async def problems(answers: list[dict[str, Any]], evidence: dict[str, Any]) -> list[str]:
        r = await fw.client.post(f"/v1/tasks/{email['id']}/submission", headers=me,
                                 json={"answers": answers, "evidence": evidence})  # fmt: skip
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        return list(
            body.get("problems") or [e["location"] + ": " + e["message"] for e in body["errors"]]
        )

    outside = {"contacted_at": "2017-11-06T10:00:00+01:00"}
    assert (await problems(good, outside)) == [
        "evidence.contacted_at: 2017-11-06 is outside the email window(s) (2017-09-04 to 2017-10-27)"
    ]
    backwards = {
        "contacted_at": "2017-09-12T10:00:00+02:00",
        "answered_at": "2017-09-11T10:00:00+02:00",
    }
    assert (await problems(good, backwards)) == [
        "evidence.answered_at: the reply comes before the contact"
    ]
    naive = {"contacted_at": "2017-09-12T10:00:00"}
    assert (await problems(good, naive))[0].startswith("body.evidence.contacted_at")
    ok = {"contacted_at": "2017-09-12T10:00:00+02:00"}
    wrong = [dict(a, value="oui") if a["item_code"] == "email_acknowledged" else a for a in good]
    assert await problems(wrong, ok) == ["email_acknowledged: expects yes/no (true or false)"]
    scale = [dict(a, value=7) if a["item_code"] == "email_answer_clarity" else a for a in good]
    assert await problems(scale, ok) == ["email_answer_clarity: expects a value from 0 to 4"]
    missing = [a for a in good if a["item_code"] != "email_answer_complete"]
    assert await problems(missing, ok) == ["email_answer_complete: no answer"]
    na = [
        dict(a, value=None, not_applicable=True) if a["item_code"] == "email_courtesy" else a
        for a in good
    ]
    assert await problems(na, ok) == [
        "email_courtesy: 'not applicable' is not allowed for this item"
    ]
    sent_delay = [*good, {"item_code": "email_reply_delay", "value": 2}]
    assert (await problems(sent_delay, ok))[0].startswith(
        "email_reply_delay: measured by the service"
    )

    # Contact on Thursday 13 July... outside: use the window: Friday 27 October 2017, reply on
    # Thursday 2 November: the weekend and All Saints' Day do not count (Mon, Tue, Thu = 3).
    contacted = datetime.combine(date(2017, 10, 27), time(15), tzinfo=PARIS)
    evidence = {"contacted_at": contacted.isoformat(),
                "answered_at": (contacted + timedelta(days=6)).isoformat()}  # fmt: skip
    na_ok = [
        dict(a, value=None, not_applicable=True) if a["item_code"] == "email_orientation" else a
        for a in good
    ]
    out = await fw.call("POST", f"/v1/tasks/{email['id']}/submission", headers=me,
                        json={"answers": na_ok, "evidence": evidence})  # fmt: skip
    assert out["reply_delay_working_days"] == 3
    answers = {a["item_code"]: a for a in out["submission"]["answers"]}
    assert answers["email_reply_delay"]["value"] in ("3", 3)
    assert answers["email_orientation"]["not_applicable"] is True


async def test_automatic_assignment_with_an_impossible_visit_reported(fw: Fieldwork) -> None:
    edition_id, structure_id, tasks = await planned_site(fw, options=["visits"], departement="29")
    await fw.auditor("Distant", departement="44", capacity=50)
    await fw.auditor("Lié", departement="29", capacity=50, linked=[structure_id])
    await fw.auditor("Second", departement="35", capacity=50,
                     channels=["email", "phone", "letter", "website", "answering_machine"])  # fmt: skip
    out = await fw.call("POST", f"/v1/editions/{edition_id}/auto-assignment")
    # The two visits need a resident of Finistère (29): the only one is linked to the structure.
    by_id = {t["id"]: t for t in tasks}
    reasons = Counter((by_id[u["task_id"]]["channel"], u["reason"]) for u in out["unassigned"])
    # The two visits need a resident of Finistère (29): the only one is linked to the structure.
    # 4 e-mails, 4 calls and 3 letters for 2 eligible auditors: never one auditor twice on one
    # site and channel, so 2 of each go out and the rest is reported.
    again_reason = "every eligible auditor has already audited this site on this channel"
    assert reasons == {
        ("visit", "every eligible auditor is linked to the structure (conflict of interest)"): 2,
        ("email", again_reason): 2,
        ("phone", again_reason): 2,
        ("letter", again_reason): 1,
    }
    after = await fw.all_tasks(edition_id)
    assigned = [t for t in after if t["status"] == "assigned"]
    assert len(assigned) == out["assigned"] == 8
    pairs = Counter((t["auditor_id"], t["site_id"], t["channel"]) for t in assigned)
    assert max(pairs.values()) == 1
    load = Counter(t["auditor_id"] for t in assigned)
    assert sorted(load.values()) == [4, 4]  # balanced
    again = await fw.call("POST", f"/v1/editions/{edition_id}/auto-assignment")
    assert again["assigned"] == 0


async def test_automatic_validation_when_the_edition_says_so(fw: Fieldwork) -> None:
    edition_id, _, tasks = await planned_site(fw)
    await fw.call(
        "PATCH", f"/v1/editions/{edition_id}/fieldwork-settings", json={"auto_validate": True}
    )
    auditor = await fw.auditor("Auto")
    task = next(t for t in tasks if t["channel"] == "website")
    await fw.call("POST", f"/v1/tasks/{task['id']}/assign", json={"auditor_id": auditor})
    out = await fw.submit(task, fw.token("auditor", subject=auditor))
    assert out["status"] == "validated"
    history = await fw.call("GET", f"/v1/tasks/{task['id']}/history")
    assert history["transitions"][-1]["reason"] == "automatic"


async def test_assignment_by_hand_keeps_the_constraints(fw: Fieldwork) -> None:
    _, structure_id, tasks = await planned_site(fw, options=["visits"])
    linked = await fw.auditor("Cousin", linked=[structure_id])
    remote = await fw.auditor("Loin", departement="13")
    local = await fw.auditor("Voisin", departement="44", channels=["visit", "email"])

    async def refused(task: dict[str, Any], auditor: str, reason: str) -> None:
        r = await fw.client.post(f"/v1/tasks/{task['id']}/assign", headers=fw.operator,
                                 json={"auditor_id": auditor})  # fmt: skip
        assert r.status_code == 409, r.text
        assert reason in r.json()["detail"]

    visit = next(t for t in tasks if t["channel"] == "visit")
    emails = [t for t in tasks if t["channel"] == "email"]
    phone = next(t for t in tasks if t["channel"] == "phone")
    await refused(emails[0], linked, "conflict of interest")
    await refused(visit, remote, "lives in département 44")
    await refused(phone, local, "does the phone channel")
    await fw.call("POST", f"/v1/tasks/{emails[0]['id']}/assign", json={"auditor_id": local})
    await refused(emails[1], local, "already audited this site on this channel")
    await fw.call("POST", f"/v1/tasks/{visit['id']}/assign", json={"auditor_id": local})
    r = await fw.client.post(f"/v1/tasks/{visit['id']}/assign", headers=fw.operator,
                             json={"auditor_id": str(uuid.uuid4())})  # fmt: skip
    assert r.status_code == 404
    patched = await fw.call("PATCH", f"/v1/auditors/{remote}", json={"active": False})
    assert patched["active"] is False
    await refused(emails[1], remote, "no active auditor")
    listed = await fw.call("GET", "/v1/auditors")
    assert {a["pseudonym"] for a in listed["items"]} == {"Cousin", "Loin", "Voisin"}
