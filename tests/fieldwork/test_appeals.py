"""Appeals: a structure contests an item of a validated audit within the window; upheld, the
audit is corrected and re-announced under a new revision; rejected, nothing changes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from tests.fieldwork.conftest import Fieldwork, registration_v2
from tests.helpers import eventually


async def test_an_appeal_upheld_and_one_rejected(fw: Fieldwork) -> None:
    edition_id, structure_id = uuid.uuid4(), uuid.uuid4()
    await fw.publish(registration_v2(edition_id, structure_id, [uuid.uuid4()]))
    tasks = await fw.planned(edition_id, 13)
    task = next(t for t in tasks if t["channel"] == "phone")
    auditor = await fw.auditor("Anonyme")
    await fw.call("POST", f"/v1/tasks/{task['id']}/assign", json={"auditor_id": auditor})
    await fw.submit(task, fw.token("auditor", subject=auditor), rings=9)
    await fw.call("POST", f"/v1/tasks/{task['id']}/validate")
    structure = fw.token("structure", subject=str(structure_id))
    stranger = fw.token("structure", subject=str(uuid.uuid4()))
    appeal = {"item_code": "phone_rings", "reason": "Notre standard a décroché à la 3e sonnerie."}

    r = await fw.client.post(f"/v1/tasks/{task['id']}/appeals", headers=structure, json=appeal)
    assert r.status_code == 409  # no appeal window yet
    assert "appeal window is closed" in r.json()["detail"]
    today = date.today()
    await fw.call("PATCH", f"/v1/editions/{edition_id}/fieldwork-settings", json={
        "appeal_opens_on": (today - timedelta(days=1)).isoformat(),
        "appeal_closes_on": (today + timedelta(days=14)).isoformat()})  # fmt: skip
    r = await fw.client.post(f"/v1/tasks/{task['id']}/appeals", headers=stranger, json=appeal)
    assert r.status_code == 404  # another structure's task does not exist for it
    r = await fw.client.post(f"/v1/tasks/{task['id']}/appeals", headers=structure,
                             json={"item_code": "nope", "reason": "x"})  # fmt: skip
    assert r.status_code == 422
    unvalidated = next(t for t in tasks if t["channel"] == "email")
    r = await fw.client.post(
        f"/v1/tasks/{unvalidated['id']}/appeals", headers=structure, json=appeal
    )
    assert r.status_code == 409

    upheld = await fw.call("POST", f"/v1/tasks/{task['id']}/appeals", headers=structure,
                           json=appeal, expect=201)  # fmt: skip
    r = await fw.client.post(f"/v1/tasks/{task['id']}/appeals", headers=structure, json=appeal)
    assert r.status_code == 409  # one open appeal per item
    rejected = await fw.call("POST", f"/v1/tasks/{task['id']}/appeals", headers=structure, expect=201,
                             json={"item_code": "phone_agent_named", "reason": "Il s'est présenté."})  # fmt: skip

    r = await fw.client.post(f"/v1/appeals/{upheld['id']}/uphold", headers=fw.operator,
                             json={"value": "trois", "reason": "x"})  # fmt: skip
    assert r.status_code == 422
    out = await fw.call("POST", f"/v1/appeals/{upheld['id']}/uphold",
                        json={"value": 3, "reason": "L'enregistrement montre 3 sonneries."})  # fmt: skip
    assert out["status"] == "upheld"
    assert out["corrected_answer"]["item_code"] == "phone_rings"
    out = await fw.call("POST", f"/v1/appeals/{rejected['id']}/reject",
                        json={"reason": "L'agent n'a pas donné son nom."})  # fmt: skip
    assert out["status"] == "rejected"
    r = await fw.client.post(f"/v1/appeals/{rejected['id']}/uphold", headers=fw.operator,
                             json={"value": True, "reason": "x"})  # fmt: skip
    assert r.status_code == 409

    seen = await fw.call("GET", f"/v1/editions/{edition_id}/structures/{structure_id}/appeals",
                         headers=structure)  # fmt: skip
    assert [(a["item_code"], a["status"]) for a in seen] == [
        ("phone_rings", "upheld"), ("phone_agent_named", "rejected"),
    ]  # fmt: skip
    assert all(a["decision_reason"] for a in seen)
    audits = await fw.call("GET", f"/v1/editions/{edition_id}/structures/{structure_id}/audits",
                           headers=structure)  # fmt: skip
    assert len(audits) == 1
    assert audits[0]["revision"] == 2
    assert auditor not in str(audits)
    assert "auditor" not in str(audits)
    rings = next(a for a in audits[0]["answers"] if a["item_code"] == "phone_rings")
    assert rings["value"] in ("3", 3)

    events = await eventually(lambda: _at_least(fw, 2))
    assert [e["revision"] for e in events] == [1, 2]
    last = {a["item_code"]: a for a in events[1]["answers"]}
    assert last["phone_rings"]["value"] in ("3", 3)
    history = await fw.call("GET", f"/v1/tasks/{task['id']}/history")
    assert history["transitions"][-1]["action"] == "revalidate"

    # Each decision is announced once, without its reason (partners hear of it by webhook).
    decided = await eventually(lambda: _decisions(fw, 2))
    assert [(d["appeal_id"], d["decision"], d["revision"]) for d in decided] == [
        (upheld["id"], "upheld", 2), (rejected["id"], "rejected", None),
    ]  # fmt: skip
    assert all(d["structure_id"] == str(structure_id) for d in decided)
    assert all(d["audit_id"] == task["id"] and "reason" not in d for d in decided)


async def _at_least(fw: Fieldwork, count: int) -> list[dict[str, Any]] | None:
    events = await fw.stream("fieldwork.audit.validated.v2")
    return events if len(events) >= count else None


async def _decisions(fw: Fieldwork, count: int) -> list[dict[str, object]] | None:
    events = await fw.stream("fieldwork.appeal.decided.v1")
    return events if len(events) >= count else None
