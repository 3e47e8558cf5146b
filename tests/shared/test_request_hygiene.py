"""Bodies are bounded and authenticated before they are read; logs carry no personal data."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from services.scoring.models import tables as scoring_tables
from shared.app import SessionDep, create_service_app
from shared.auth import Role, require
from shared.observability import ConsoleFormatter, _ScrubbedJsonFormatter
from tests.helpers import running

router = APIRouter()


class Named(BaseModel):
    name: str


@router.post("/echo", dependencies=[require(*Role)])
async def echo(body: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(body)}


@router.post("/bulk", dependencies=[require(*Role)], max_body_size=4 * 1024 * 1024)
async def bulk(body: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(body)}


@router.post("/inbox", dependencies=[require(*Role)])
async def twice(body: Named, session: SessionDep) -> dict[str, str]:
    """Writes the caller's name twice where it must be unique: an integrity error."""
    event_id = uuid.uuid4()
    for _ in range(2):
        await session.execute(
            text("INSERT INTO inbox (consumer, event_id, subject) VALUES (:c, :e, 's')"),
            {"c": body.name, "e": event_id},
        )
    return {"status": "unreachable"}


@pytest.fixture
def app(make_settings: Any) -> FastAPI:
    return create_service_app(
        settings=make_settings("scoring", max_body_bytes=64 * 1024),
        title="t",
        description="t",
        tables=scoring_tables,
        routers=[router],
    )


def small_objects(size: int) -> bytes:
    """`{"name": [{"a": 1}, ...]}` of about `size` bytes: cheap to send, costly to parse."""
    count = size // 9
    return b'{"name": [' + b",".join([b'{"a": 1}'] * count) + b"]}"


async def test_an_oversized_body_is_413_before_it_is_read(app: FastAPI, token: Any) -> None:
    async with running(app) as client:
        response = await client.post(
            "/v1/echo", content=small_objects(20 * 1024 * 1024), headers=token("operator")
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/body-too-large")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(100):
                yield b" " * 4096

        streamed = await client.post("/v1/echo", content=chunks(), headers=token("operator"))
        assert streamed.status_code == 413

        fits = await client.post("/v1/echo", json={"a": 1, "b": 2}, headers=token("operator"))
        assert fits.json() == {"keys": 2}
        metrics = (await client.get("/metrics")).text  # routes are measured by full template
        assert 'route="/v1/echo",service="scoring",status="200"' in metrics
        # A bulk route raises its own cap.
        bulk = await client.post(
            "/v1/bulk",
            content=small_objects(1024 * 1024),
            headers={**token("operator"), "Content-Type": "application/json"},
        )
        assert bulk.json() == {"keys": 1}


async def test_a_body_without_a_valid_token_is_refused_unread(app: FastAPI) -> None:
    async with running(app) as client:
        for headers in ({}, {"Authorization": "Bearer not.a.token"}, {"Authorization": "Basic x"}):
            response = await client.post("/v1/echo", content=small_objects(32 * 1024),
                                         headers=headers)  # fmt: skip
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"].startswith('Bearer realm="barometre"')
            assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    console, as_json = io.StringIO(), io.StringIO()
    handlers = []
    for stream, formatter in ((console, ConsoleFormatter()),
                              (as_json, _ScrubbedJsonFormatter("%(message)s %(levelname)s"))):  # fmt: skip
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handlers.append(handler)
        logging.getLogger().addHandler(handler)
    try:
        yield console, as_json
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)


async def test_logs_carry_no_sql_parameters_nor_values(
    app: FastAPI, token: Any, captured: tuple[io.StringIO, io.StringIO]
) -> None:
    async with running(app) as client:
        response = await client.post(
            "/v1/inbox", json={"name": "Mairie de Jean Dupont"}, headers=token("operator")
        )
    assert response.status_code == 409
    console, as_json = (stream.getvalue() for stream in captured)
    assert "integrity error" in console
    assert "UniqueViolationError" in console  # the kind of error is still there
    assert "Jean Dupont" not in console
    assert "Jean Dupont" not in as_json
    for line in as_json.splitlines():
        json.loads(line)  # one JSON object per line


def test_console_lines_are_readable() -> None:
    record = logging.LogRecord(
        "registry.http", logging.INFO, __file__, 1, "GET %s %s", ("/v1/x", 200), None
    )
    record.service = "registry"
    record.request_id = "abc"
    record.duration_ms = 1.5
    line = ConsoleFormatter().format(record)
    assert "INFO" in line
    assert "registry" in line
    assert "GET /v1/x 200" in line
    assert "duration_ms=1.5" in line
    assert "request_id=abc" in line
    assert not line.startswith("{")


def test_values_quoted_by_a_database_error_are_redacted_everywhere(
    captured: tuple[io.StringIO, io.StringIO],
) -> None:
    from shared.observability import _RequestIdFilter

    quoted = (
        'UniqueViolationError(\'duplicate key value violates unique constraint "pk_inbox"\\n'
        "DETAIL:  Key (consumer)=(Mairie de Jean Dupont) already exists.')"
    )
    log = logging.getLogger("tests.hygiene")
    only = _RequestIdFilter("scoring")
    log.addFilter(only)
    try:
        log.warning("handling failed: %s", quoted, extra={"error": quoted})
    finally:
        log.removeFilter(only)
    for output in (stream.getvalue() for stream in captured):
        assert "pk_inbox" in output  # the kind of error stays
        assert "Jean Dupont" not in output
