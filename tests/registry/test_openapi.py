"""The registry's OpenAPI document: every field and query parameter described, every list
paginated, every POST taking an Idempotency-Key."""

from __future__ import annotations

from typing import Any

from services.registry.app import create_app

# Schemas the registry does not own (FastAPI's defaults, the territories package's).
FOREIGN = {"HTTPValidationError", "ValidationError", "CommuneOut"}
# POSTs whose answer holds a secret or a token: never stored for a replay (a retried client
# creation makes a second client, which the operator revokes; the token endpoint is safe to call
# again).
SECRET_ANSWERS = {"/v1/clients", "/v1/clients/{client_id}/rotate", "/v1/oauth/token"}


def spec(make_settings: Any) -> dict[str, Any]:
    document: dict[str, Any] = create_app(make_settings("registry")).openapi()
    return document


def test_every_field_and_parameter_is_described(make_settings: Any) -> None:
    document = spec(make_settings)
    schemas = document["components"]["schemas"]
    undocumented = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        if name not in FOREIGN
        for field, prop in schema.get("properties", {}).items()
        if "description" not in prop
    ]
    assert undocumented == []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "header"):
                    assert parameter.get("description"), (method, path, parameter["name"])


def test_lists_are_pages_and_posts_take_an_idempotency_key(make_settings: Any) -> None:
    document = spec(make_settings)
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/") or path.startswith("/v1/territories"):
            continue
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            if method == "post" and path not in SECRET_ANSWERS:
                assert "Idempotency-Key" in names, path
            response = operation["responses"].get("200", {}).get("content", {})
            ref = response.get("application/json", {}).get("schema", {}).get("$ref", "")
            if method == "get" and ref.startswith("#/components/schemas/Page"):
                assert {"limit", "cursor"} <= names, path
            if (
                method == "get"
                and "{" not in path.rsplit("/", 1)[-1]
                and not path.endswith("/quote")
            ):
                assert ref.startswith("#/components/schemas/Page"), path
