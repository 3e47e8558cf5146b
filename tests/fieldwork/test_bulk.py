"""Bulk submissions (an auditor's) and bulk validations (the operator's): all or nothing, each
task at fault named, the same records and events as one by one, and the edition's progress."""

from __future__ import annotations

from typing import Any

from tests.fieldwork.conftest import Fieldwork, best_answers, evidence
from tests.fieldwork.test_tasks import planned_site


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    return body


async def test_bulk_submissions_and_validations_are_all_or_nothing(fw: Fieldwork) -> None:
    edition_id, _, tasks = await planned_site(fw)
    mine, theirs = await fw.auditor("Auditrice"), await fw.auditor("Autre")
    me, other = fw.token("auditor", subject=mine), fw.token("auditor", subject=theirs)
    # One task per channel: an auditor audits a site once per channel.
    remote = [next(t for t in tasks if t["channel"] == c) for c in ("email", "phone", "letter")]
    for task in remote:
        await fw.call("POST", f"/v1/tasks/{task['id']}/assign", json={"auditor_id": mine})
    grids = {t["id"]: (await fw.call("GET", f"/v1/tasks/{t['id']}", headers=me))["grid"]
             for t in remote}  # fmt: skip
    good = [{"task_id": t["id"], "answers": best_answers(grids[t["id"]]["items"]),
             "evidence": evidence(t)} for t in remote]  # fmt: skip

    # Another auditor's tasks, a bad answer, an unknown task: refused, and nothing submitted.
    r = await fw.client.post("/v1/me/submissions", headers=other, json={"submissions": good})
    assert len(_problem(r, 403)["task_ids"]) == len(remote)
    bad = [*good[:-1], {**good[-1], "answers": [{"item_code": "nope", "value": True}]}]
    r = await fw.client.post("/v1/me/submissions", headers=me, json={"submissions": bad})
    problems = _problem(r, 422)["submissions"]
    assert [p["index"] for p in problems] == [len(good) - 1]
    assert any("nope" in p for p in problems[0]["problems"])
    unknown = {**good[0], "task_id": "00000000-0000-0000-0000-000000000001"}
    r = await fw.client.post("/v1/me/submissions", headers=me, json={"submissions": [unknown]})
    _problem(r, 404)
    r = await fw.client.post("/v1/me/submissions", headers=me,
                             json={"submissions": [good[0], good[0]]})  # fmt: skip
    _problem(r, 422)
    r = await fw.client.post("/v1/me/submissions", headers=me, json={"submissions": []})
    _problem(r, 422)
    progress = await fw.call("GET", f"/v1/editions/{edition_id}/fieldwork-progress")
    assert "submitted" not in progress["tasks"]

    done = await fw.call("POST", "/v1/me/submissions", headers=me, json={"submissions": good})
    assert done == {"submitted": len(good), "validated": 0}
    r = await fw.client.post("/v1/me/submissions", headers=me, json={"submissions": good})
    assert len(_problem(r, 409)["tasks"]) == len(good)  # already submitted

    ids = [t["id"] for t in remote]
    planned = next(t["id"] for t in tasks if t not in remote)
    r = await fw.client.post(f"/v1/editions/{edition_id}/validations", headers=fw.operator,
                             json={"task_ids": [*ids, planned]})  # fmt: skip
    assert [t["task_id"] for t in _problem(r, 409)["tasks"]] == [planned]
    r = await fw.client.post("/v1/editions/00000000-0000-0000-0000-000000000002/validations",
                             headers=fw.operator, json={"task_ids": ids})  # fmt: skip
    _problem(r, 404)
    r = await fw.client.post(f"/v1/editions/{edition_id}/validations", headers=me,
                             json={"task_ids": ids})  # fmt: skip
    _problem(r, 403)
    out = await fw.call("POST", f"/v1/editions/{edition_id}/validations", json={"task_ids": ids})
    assert out == {"validated": len(ids)}

    progress = await fw.call("GET", f"/v1/editions/{edition_id}/fieldwork-progress")
    assert progress["tasks"]["validated"] == len(ids)
    assert progress["structures_planned"] == 1
    assert sum(progress["tasks"].values()) == len(tasks)
    one = await fw.call("GET", f"/v1/tasks/{ids[0]}", headers=me)
    assert one["revision"] == 1
    assert one["submission"]["answers"]
    history = await fw.call("GET", f"/v1/tasks/{ids[0]}/history")
    assert [m["action"] for m in history["transitions"]] == ["assign", "submit", "validate"]
    events = await fw.stream("fieldwork.audit.validated.v2")
    assert sorted(e["audit_id"] for e in events) == sorted(ids)
    assert all(e["answers"] for e in events)
