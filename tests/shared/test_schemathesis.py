"""Schemathesis against every operation of every service's OpenAPI document, in process, on a
real PostgreSQL and NATS: no server error, and every answer's status code, content type and
body as documented. Once with an operator token, once without a token; data that fits the
schema and data that does not. Examples per operation are bounded (and derandomised, so a run
is reproducible); hypothesis keeps no example database in the checkout."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Ok

from barometer_cli.catalog import SERVICES
from tests.helpers import running

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation: valid and invalid data with a token; without a token every request
# stops at the token check, one suffices.
EXAMPLES = {"positive": 4, "negative": 3, "anonymous": 1}
# Operations whose every valid call does heavy work (a national territory import, covered by
# its own tests): invalid data only.
COSTLY = {"POST /v1/territories/imports"}
Operation = schemathesis.APIOperation[Any, Any, Any, Any]


def _httpx_kwargs(case: schemathesis.Case[Operation], headers: dict[str, str]) -> dict[str, Any]:
    """The case as an httpx request (schemathesis serialises for `requests`)."""
    kwargs = case.as_transport_kwargs(base_url="http://test", headers=headers)
    request: dict[str, Any] = {
        key: kwargs[key] for key in ("method", "url", "headers", "params") if kwargs.get(key)
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None or kwargs.get("files"):
        # `requests` takes numbers as multipart values; httpx wants text or bytes.
        files = [
            (name, (part[0], part[1] if isinstance(part[1], str | bytes) else str(part[1])))
            for name, part in kwargs.get("files") or []
        ]
        request["data"], request["files"] = data, files
    return request


def _exercise(
    operation: Any,
    call: Callable[[dict[str, Any]], httpx.Response],
    headers: dict[str, str],
    mode: GenerationMode,
    examples: int,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Operation]) -> None:
        response = call(_httpx_kwargs(case, headers))
        case.validate_response(response, checks=CHECKS)

    check()


def _operation(result: Ok[Operation] | Err[InvalidSchema]) -> Operation:
    assert isinstance(result, Ok), f"the OpenAPI document is invalid: {result.err()}"
    return result.ok()


def _modes(operation: Any, who: str) -> list[GenerationMode]:
    """Invalid data needs something to put it in (a parameter or a body) and a caller who gets
    past the token check."""
    raw = operation.definition.raw
    if who == "anonymous" or not (raw.get("parameters") or raw.get("requestBody")):
        return [GenerationMode.POSITIVE]
    if operation.label in COSTLY:
        return [GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_every_operation_answers_as_documented(
    service: str, make_settings: Any, token: Callable[..., dict[str, str]]
) -> None:
    app = importlib.import_module(f"services.{service}.app").create_app(make_settings(service))
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [_operation(result) for result in schema.get_all_operations()]
    assert len(operations) > 3, "health, metrics and the service's own routes"
    loop = asyncio.get_running_loop()
    async with running(app) as client:

        def call(request: dict[str, Any]) -> httpx.Response:
            # Hypothesis drives from a worker thread; the app keeps running on this loop.
            built = client.build_request(**request)
            built.read()  # a multipart body is a stream; the checks read it again
            return asyncio.run_coroutine_threadsafe(client.send(built), loop).result()

        def run_all() -> list[str]:
            failures: list[str] = []
            for who, headers in (("operator", token("operator")), ("anonymous", {})):
                for operation in operations:
                    for mode in _modes(operation, who):
                        examples = EXAMPLES[who if who == "anonymous" else mode.value]
                        try:
                            _exercise(operation, call, headers, mode, examples)
                        except Exception as exc:  # every operation is tried; all are reported
                            failures.append(f"{who} {mode.value} {operation.label}: {exc}")
            return failures

        failures = await asyncio.to_thread(run_all)
    assert not failures, "\n\n".join(failures)
