"""Request bodies are taken as JSON writes them: NaN and infinities refused (400, JSON has none),
no string turned into a number, a boolean or a date (422), on a route of each service."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from services.registry.editions.schemas import EditionIn
from shared.schemas import non_finite_path
from tests.helpers import running

JSON = {"Content-Type": "application/json"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def locations(response: httpx.Response) -> list[str]:
    return [e["location"] for e in problem(response, 422)["errors"]]


async def raw(client: httpx.AsyncClient, method: str, url: str, body: str, headers: Any) -> Any:
    return await client.request(method, url, content=body, headers={**JSON, **headers})


@pytest.mark.parametrize("service", ["registry", "fieldwork", "scoring", "reporting"])
async def test_nan_and_infinities_are_not_json(
    service: str, make_settings: Any, token: Callable[..., dict[str, str]]
) -> None:
    routes = {
        "registry": ("POST", "/v1/editions", '{"preset": "2017", "vat_rate": %s}'),
        "fieldwork": ("POST", "/v1/auditors", '{"pseudonym": "a", "home_departement_code": '
                      '"44", "channels": ["email"], "weekly_capacity": %s}'),
        "scoring": ("PUT", f"/v1/editions/{uuid.uuid4()}/settings",
                    '{"performing_threshold": %s}'),
        "reporting": ("PUT", f"/v1/editions/{uuid.uuid4()}/reporting-settings",
                      '{"strengths_count": 3, "categories": [], "x": [{"y": %s}]}'),
    }  # fmt: skip
    method, url, template = routes[service]
    app = importlib.import_module(f"services.{service}.app").create_app(make_settings(service))
    async with running(app) as client:
        for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
            response = await raw(client, method, url, template % literal, token("operator"))
            refused = problem(response, 400)
            assert refused["type"].endswith("/malformed-json"), refused
            assert "NaN and infinities are not JSON numbers" in refused["detail"]


async def test_registry_takes_no_string_for_a_number_nor_a_number_for_a_date(
    make_settings: Any, token: Callable[..., dict[str, str]]
) -> None:
    app = importlib.import_module("services.registry.app").create_app(make_settings("registry"))
    operator = token("operator")
    async with running(app) as client:
        url = "/v1/editions"
        year_as_text = await client.post(url, json={"year": "2040", "number": 6, "name": "E"},
                                         headers=operator)  # fmt: skip
        assert locations(year_as_text) == ["body.year"]
        number_as_float = await client.post(url, json={"year": 2040, "number": 6.0, "name": "E"},
                                            headers=operator)  # fmt: skip
        assert locations(number_as_float) == ["body.number"]
        day_as_number = await client.post(
            url, json={"preset": "2017", "calendar": {"ceremony_on": 20401201}}, headers=operator
        )
        assert locations(day_as_number) == ["body.calendar.ceremony_on"]
        rate_as_text = await client.post(url, json={"preset": "2017", "vat_rate": "Infinity"},
                                         headers=operator)  # fmt: skip
        assert locations(rate_as_text) == ["body.vat_rate"]

        # What JSON writes as text is read from text: dates, enums, decimals (documented
        # as number or string), UUIDs.
        created = await client.post(
            url,
            json={"preset": "2017", "year": 2040, "number": 29, "vat_rate": "0.2",
                  "calendar": {"ceremony_on": "2040-12-01"}},
            headers=operator,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        edition = created.json()
        assert (edition["year"], edition["vat_rate"]) == (2040, "0.2000")
        assert edition["calendar"]["ceremony_on"] == "2040-12-01"
        listed = await client.get("/v1/editions", params={"year": "2040"}, headers=operator)
        assert [e["id"] for e in listed.json()["items"]] == [edition["id"]]  # queries are text


async def test_fieldwork_and_scoring_and_reporting_refuse_coercion(
    make_settings: Any, token: Callable[..., dict[str, str]]
) -> None:
    operator = token("operator")
    edition = uuid.uuid4()
    fieldwork = importlib.import_module("services.fieldwork.app").create_app(
        make_settings("fieldwork")
    )
    auditor = {"pseudonym": "a", "home_departement_code": "44", "channels": ["email"],
               "weekly_capacity": 5}  # fmt: skip
    async with running(fieldwork) as client:
        as_text = await client.post("/v1/auditors", json={**auditor, "weekly_capacity": "5"},
                                    headers=operator)  # fmt: skip
        assert locations(as_text) == ["body.weekly_capacity"]
        flag_as_text = await client.post("/v1/auditors", json={**auditor, "active": "true"},
                                         headers=operator)  # fmt: skip
        assert locations(flag_as_text) == ["body.active"]
        flag_as_number = await client.post("/v1/auditors", json={**auditor, "active": 1},
                                           headers=operator)  # fmt: skip
        assert locations(flag_as_number) == ["body.active"]
        assert (
            await client.post("/v1/auditors", json=auditor, headers=operator)
        ).status_code == 201

    scoring = importlib.import_module("services.scoring.app").create_app(make_settings("scoring"))
    async with running(scoring) as client:
        url = f"/v1/editions/{edition}/settings"
        count_as_text = await client.put(url, json={"min_voice_responses": "30"}, headers=operator)
        assert locations(count_as_text) == ["body.min_voice_responses"]
        infinite = await client.put(url, json={"performing_threshold": "Infinity"},
                                    headers=operator)  # fmt: skip
        assert locations(infinite) == ["body.performing_threshold"]
        kept = await client.put(url, json={"performing_threshold": 75.5, "min_voice_responses": 40},
                                headers=operator)  # fmt: skip
        assert kept.status_code == 200, kept.text
        assert kept.json()["performing_threshold"] == "75.50"

    reporting = importlib.import_module("services.reporting.app").create_app(
        make_settings("reporting")
    )
    async with running(reporting) as client:
        url = f"/v1/editions/{edition}/reporting-settings"
        size_as_text = await client.put(url, json={"min_group_size": "5"}, headers=operator)
        assert locations(size_as_text) == ["body.min_group_size"]
        nested = await client.put(url, json={"min_audits_per_channel": {"email": "1"}},
                                  headers=operator)  # fmt: skip
        assert locations(nested) == ["body.min_audits_per_channel.email"]


def test_strict_models_still_take_python_values() -> None:
    """Services build request models in code (presets, tests) from Python values."""
    from datetime import date

    from services.registry.editions.schemas import CalendarIn

    built = EditionIn(preset="2017", calendar=CalendarIn(ceremony_on=date(2040, 12, 1)))
    assert built.calendar is not None
    assert built.calendar.ceremony_on == date(2040, 12, 1)
    with pytest.raises(ValidationError):
        EditionIn.model_validate({"preset": "2017", "number": "6"})


def test_non_finite_path_names_the_value() -> None:
    assert non_finite_path({"a": [1, {"b": float("nan")}]}) == "body.a.1.b"
    assert non_finite_path({"a": [1.5, "NaN", None, True]}) is None
    deep: Any = 1.0
    for _ in range(5000):  # deeper than the recursion limit: walked without recursion
        deep = [deep]
    assert non_finite_path(deep) is None
