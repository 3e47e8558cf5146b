"""Grid versions: a version used by a task never changes; a change ships as a new version,
which new plans use and which is announced once when first used."""

from __future__ import annotations

import uuid

import pytest

from services.fieldwork.grids import service as grid_service
from shared.contracts.fieldwork import GridPublishedV1
from tests.fieldwork.conftest import Fieldwork, registration_v2

SHIPPED = grid_service.shipped_grids()


def _edited(version: int) -> tuple[tuple[str, GridPublishedV1], ...]:
    """The shipped grids with the e-mail grid's first label changed, under `version`."""
    out = []
    for source, grid in SHIPPED:
        if grid.code == "email":
            items = [grid.items[0].model_copy(update={"label_en": "Changed"}), *grid.items[1:]]
            grid = grid.model_copy(update={"version": version, "items": items})
        out.append((source, grid))
    return tuple(out)


async def test_a_used_grid_version_is_immutable_and_a_change_is_a_new_version(
    fw: Fieldwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    edition_id = uuid.uuid4()
    await fw.publish(registration_v2(edition_id, uuid.uuid4(), [uuid.uuid4()]))
    await fw.planned(edition_id, 13)

    monkeypatch.setattr(grid_service, "shipped_grids", lambda: _edited(1))
    grid = await fw.call("GET", "/v1/grids/email/versions/1")
    assert grid["items"][0]["label_en"] != "Changed"  # used: the file's change is not applied

    monkeypatch.setattr(grid_service, "shipped_grids", lambda: (*_edited(1), *_edited(2)))
    grid = await fw.call("GET", "/v1/grids/email/versions/2")
    assert grid["items"][0]["label_en"] == "Changed"
    other = uuid.uuid4()
    await fw.publish(registration_v2(other, uuid.uuid4(), [uuid.uuid4()]))
    tasks = await fw.planned(other, 13)
    email_grids = {t["grid_id"] for t in tasks if t["channel"] == "email"}
    assert email_grids == {grid["id"]}
    published = await fw.stream("fieldwork.grid.published.v1")
    assert sorted((g["code"], g["version"]) for g in published if g["code"] == "email") == [
        ("email", 1), ("email", 2),
    ]  # fmt: skip
    r = await fw.client.get("/v1/grids/email/versions/9", headers=fw.operator)
    assert r.status_code == 404
    r = await fw.client.get("/v1/grids/email/versions/1", headers=fw.token("structure"))
    assert r.status_code == 403
