"""Citizen-voice intake for partners: single and bulk (NDJSON, CSV) with Idempotency-Key,
per-row errors, the `surveys:write` scope and the structures' opt-ins, names masked, each
accepted answer announced."""

from __future__ import annotations

import json
import uuid

from tests.fieldwork.conftest import Fieldwork, registration_v2
from tests.helpers import eventually

SURVEYS = ["surveys:write"]


async def registered(fw: Fieldwork, *partners: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A planned structure, opted in to `partners`."""
    edition_id, structure_id, site_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await fw.publish(registration_v2(edition_id, structure_id, [site_id]))
    await fw.planned(edition_id, 13)
    for partner in partners:
        await fw.opt_in(structure_id, partner)
    return edition_id, structure_id, site_id


async def test_bulk_ndjson_with_a_bad_row_in_the_middle(fw: Fieldwork) -> None:
    edition_id, structure_id, site_id = await registered(fw, "civiliz")
    kiosk = fw.token("partner", subject="civiliz", scopes=SURVEYS)
    base = {"edition_id": str(edition_id), "structure_id": str(structure_id),
            "site_id": str(site_id), "received_at": "2017-10-02T09:15:00+02:00"}  # fmt: skip
    rows = [
        {**base, "satisfied": True, "comment": "Merci à Mme Dupont, très aimable."},
        {**base, "satisfied": "peut-être"},  # bad: not a yes/no
        {**base, "comment": "Rien à dire"},  # bad: `satisfied` missing for a kiosk
        {**base, "structure_id": str(uuid.uuid4()), "satisfied": False},  # bad: unknown structure
        {**base, "satisfied": False, "reason": "attente", "comment": "Julien était débordé."},
    ]
    body = "\n".join(json.dumps(r) for r in rows).encode() + b"\n{not json}\n"
    headers = {**kiosk, "Content-Type": "application/x-ndjson", "Idempotency-Key": "batch-1"}
    r = await fw.client.post("/v1/voice/kiosk_feedback/bulk", headers=headers, content=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["received"] == 6
    assert out["accepted"] == 2
    assert [e["row"] for e in out["rejected"]] == [2, 3, 4, 6]
    assert out["rejected"][1]["errors"] == ["satisfied: required for kiosk_feedback"]
    assert out["rejected"][2]["errors"] == [
        "structure_id: not a structure registered in this edition"
    ]
    # A retry under the same key changes nothing and answers the same.
    again = await fw.client.post("/v1/voice/kiosk_feedback/bulk", headers=headers, content=body)
    assert again.json() == out
    other = await fw.client.post(
        "/v1/voice/kiosk_feedback/bulk", headers=headers, content=body[:-12]
    )
    assert other.status_code == 422  # the same key for another request
    events = await eventually(lambda: _voices(fw, 2))
    assert [e["comment"] for e in events] == [
        "Merci à Mme [nom], très aimable.",
        "[nom] était débordé.",
    ]
    assert {e["partner"] for e in events} == {"civiliz"}


async def test_bulk_csv_single_answers_and_scopes(fw: Fieldwork) -> None:
    edition_id, structure_id, _ = await registered(fw, "vooter", "idcity")
    survey = fw.token("partner", subject="vooter", scopes=SURVEYS)
    csv = (
        "edition_id,structure_id,received_at,satisfaction,comment\n"
        f"{edition_id},{structure_id},2017-10-02T09:15:00+02:00,72,Bonne équipe\n"
        f"{edition_id},{structure_id},2017-10-02T09:20:00+02:00,140,\n"
        f"{edition_id},{structure_id},2017-10-02T09:25:00+02:00,55.5,\n"
    )
    r = await fw.client.post("/v1/voice/agent_survey/bulk", content=csv.encode(),
                             headers={**survey, "Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2
    assert r.json()["rejected"][0]["row"] == 2
    assert r.json()["rejected"][0]["errors"][0].startswith("satisfaction:")
    # Without the scope: 403.
    reader = fw.token("partner", subject="vooter", scopes=["results:read"])
    r = await fw.client.post("/v1/voice/agent_survey/bulk", content=csv.encode(),
                             headers={**reader, "Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 403
    r = await fw.client.post("/v1/voice/agent_survey/bulk", content=b"a,b\n1,2\n",
                             headers={**survey, "Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 422
    r = await fw.client.post("/v1/voice/agent_survey/bulk", content=b"{}",
                             headers={**survey, "Content-Type": "application/xml"})  # fmt: skip
    assert r.status_code == 415
    one = {"edition_id": str(edition_id), "structure_id": str(structure_id),
           "received_at": "2017-10-03T10:00:00Z", "participants": 120, "population_reached": 4000}  # fmt: skip
    idcity = fw.token("partner", subject="idcity", scopes=SURVEYS)
    headers = {**idcity, "Idempotency-Key": "c-1"}
    first = await fw.client.post("/v1/voice/consultation", headers=headers, json=one)
    assert first.status_code == 201, first.text
    second = await fw.client.post("/v1/voice/consultation", headers=headers, json=one)
    assert second.status_code == 201
    assert second.json() == first.json()
    r = await fw.client.post(
        "/v1/voice/consultation", headers=idcity, json={**one, "participants": -1}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    events = await eventually(lambda: _voices(fw, 3))
    assert [e["kind"] for e in events] == ["agent_survey", "agent_survey", "consultation"]


async def _voices(fw: Fieldwork, count: int) -> list[dict[str, object]] | None:
    events = await fw.stream("fieldwork.voice.received.v1")
    return events if len(events) >= count else None


async def test_a_bulk_file_may_pass_the_default_body_limit_up_to_its_own(fw: Fieldwork) -> None:
    edition_id, structure_id, _ = await registered(fw, "vooter")
    survey = fw.token("partner", subject="vooter", scopes=SURVEYS)
    row = json.dumps({"edition_id": str(edition_id), "structure_id": str(structure_id),
                      "received_at": "2017-10-02T09:15:00+02:00", "satisfaction": 80,
                      "comment": "x" * 1500})  # fmt: skip
    headers = {**survey, "Content-Type": "application/x-ndjson"}
    body = "\n".join([row] * 1200).encode()  # about 2 MB: above the default 1 MiB
    r = await fw.client.post("/v1/voice/citizen_survey/bulk", headers=headers, content=body)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["accepted"] == 1200
    too_big = b"\n".join([row.encode()] * 7000)  # about 11 MB
    r = await fw.client.post("/v1/voice/citizen_survey/bulk", headers=headers, content=too_big)
    assert r.status_code == 413


async def test_a_partner_reaches_only_the_structures_that_opted_in_to_it(fw: Fieldwork) -> None:
    edition_id, structure_id, _ = await registered(fw, "civiliz")
    one = {"edition_id": str(edition_id), "structure_id": str(structure_id),
           "received_at": "2017-10-02T09:15:00+02:00", "satisfied": True}  # fmt: skip
    unknown = "structure_id: not a structure registered in this edition"
    stranger = fw.token("partner", subject="vooter", scopes=SURVEYS)
    r = await fw.client.post("/v1/voice/kiosk_feedback", headers=stranger, json=one)
    assert r.status_code == 422, r.text  # the same answer as for a structure that does not exist
    assert r.json()["errors"] == [unknown]
    kiosk = fw.token("partner", subject="civiliz", scopes=SURVEYS)
    assert (
        await fw.client.post("/v1/voice/kiosk_feedback", headers=kiosk, json=one)
    ).status_code == 201
    await fw.opt_in(structure_id, "civiliz", given=False)
    r = await fw.client.post("/v1/voice/kiosk_feedback", headers=kiosk, json=one)
    assert r.status_code == 422
    assert r.json()["errors"] == [unknown]
    # The operator loads answers for any structure.
    r = await fw.client.post("/v1/voice/kiosk_feedback", headers=fw.operator, json=one)
    assert r.status_code == 201
