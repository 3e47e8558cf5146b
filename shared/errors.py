"""RFC 9457 problem details: one stable `type` per error, never a bare 500 for bad input."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://barometre.example/problems/"


class ProblemError(Exception):
    """An error the API reports as problem+json; subclasses fix status and type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Authentication required"
    challenge = 'Bearer realm="barometre"'  # the WWW-Authenticate header (RFC 6750)


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Resource not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class Unprocessable(ProblemError):
    status, slug, title = 422, "unprocessable", "The request cannot be applied"


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "unavailable", "Service unavailable"


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    reserved = {"type", "title", "status", "detail", "instance", "request_id"}
    clashing = reserved & extensions.keys()
    if clashing:
        raise ValueError(f"problem extensions may not redefine {sorted(clashing)}")
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    challenge = getattr(exc, "challenge", 'Bearer realm="barometre"')
    headers = {"WWW-Authenticate": challenge} if exc.status == 401 else None
    return problem_response(
        request,
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        headers=headers,
        **exc.extensions,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "location": _location(e.get("loc", ())),
            "message": e.get("msg", ""),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(
            request,
            status=400,
            slug="malformed-json",
            title="Malformed JSON",
            detail="the request body is not valid JSON",
            errors=errors,
        )
    detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
    return problem_response(
        request,
        status=422,
        slug="validation-error",
        title="Invalid request",
        detail=detail,
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slugs = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}
    return problem_response(
        request,
        status=exc.status_code,
        slug=slugs.get(exc.status_code, f"http-{exc.status_code}"),
        title=str(exc.detail) if exc.status_code < 500 else "Server error",
        detail=str(exc.detail),
        headers=dict(exc.headers) if exc.headers else None,
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        request,
        status=500,
        slug="internal-error",
        title="Internal error",
        detail="an unexpected error occurred; it has been logged",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, unexpected_error)


class ValidationIssue(BaseModel):
    location: str = Field(description="Where: `body.calendar.windows.1.ends_on`, `query.limit`.")
    message: str = Field(description="What is wrong there.")
    type: str | None = Field(description="Stable code of the error kind (pydantic's).")


class Problem(BaseModel):
    """RFC 9457 problem details; a route's own problems may add fields (e.g. `existing`)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="Stable URI of the error kind.")
    title: str = Field(description="Short summary of the error kind.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request.")
    instance: str | None = Field(default=None, description="The request's path.")
    request_id: str | None = Field(default=None, description="The request's id (X-Request-ID).")
    errors: list[ValidationIssue | dict[str, Any] | str] | None = Field(
        default=None,
        description="What is invalid: each value with its location (validation errors), or "
        "each refused row or record of a file (imports, intake) as the route describes it.",
    )


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}
_PROBLEMS: dict[str, str] = {
    "400": "Malformed request: the body is not JSON (NaN and Infinity are not JSON), or a "
    "cursor cannot be read.",
    "401": "Missing or invalid bearer token (with `WWW-Authenticate: Bearer`).",
    "403": "The token's role or scopes do not allow this operation.",
    "404": "No such resource, or not one this caller may see.",
    "409": "Conflicts with the current state (duplicate, wrong status, Idempotency-Key reused).",
    "413": "Request body larger than this route accepts.",
    "415": "Unsupported Content-Type.",
    "422": "Invalid request: each invalid value with its location.",
    "429": "Too many requests from this client; retry after `Retry-After` seconds.",
    "503": "Database unavailable; retry after `Retry-After` seconds.",
}
_WRITES = frozenset({"post", "put", "patch", "delete"})


def _problems_of(
    path: str, method: str, operation: dict[str, Any], *, anonymous_body_paths: Collection[str]
) -> set[str]:
    """The 4xx/503 statuses any route of this shape can answer, from the factory's middleware,
    the error handlers and the route's parameters, body and security."""
    secured = bool(operation.get("security"))
    inputs = bool(operation.get("requestBody") or operation.get("parameters"))
    codes = {"429", "503"}
    if inputs:
        codes |= {"400", "422"}
    if secured:
        codes |= {"401", "403"}
    if "{" in path:
        codes.add("404")
    if method in _WRITES:
        codes |= {"409", "413", "422"}
        if path not in anonymous_body_paths:
            codes.add("401")
    if operation.get("requestBody"):
        codes.add("415")
    return codes


def document_problems(
    document: dict[str, Any],
    *,
    anonymous_body_paths: Collection[str] = (),
    unlimited_paths: Collection[str] = (),
) -> None:
    """Document, on every operation, each error status it can answer as problem+json (in
    place); FastAPI's default 422 schema, which the handlers never send, goes."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            codes = _problems_of(path, method, operation, anonymous_body_paths=anonymous_body_paths)
            if path in unlimited_paths:
                codes.discard("429")
            if not path.startswith("/v1/"):
                codes.discard("503")
            codes |= {code for code in responses if code.startswith("4")}
            for code in sorted(codes):
                response = responses.setdefault(code, {})
                if code != "422" and "content" in response:
                    continue  # the route documents its own error body (e.g. OAuth's RFC 6749)
                if code == "422" or "description" not in response:
                    response["description"] = _PROBLEMS.get(code, "Refused (problem details).")
                response["content"] = {PROBLEM_JSON: {"schema": ref}}
                if code in ("429", "503"):
                    response["headers"] = _RETRY_AFTER
            operation["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f'"#/components/schemas/{unused}"' not in json.dumps(
            document["paths"]
        ):
            del schemas[unused]
