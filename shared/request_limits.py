"""A request body is read only once its caller is known.

A POST/PUT/PATCH/DELETE without a valid bearer token is refused (401 problem) before the app,
its body limit or its parser see a byte, unless its path takes anonymous bodies (e.g. an OAuth
token endpoint). Size is FastAPI's own `max_body_size` (app-wide setting, raised per bulk route):
413 as soon as the declared or received length passes it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PROBLEM_JSON, TYPE_BASE, ProblemError, Unauthorized

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthenticateBeforeBodyMiddleware:
    """Pure ASGI: checks the bearer token of a request that may carry a body, unread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Callable[[str], Awaitable[Any]],
        anonymous_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.authenticate = authenticate  # raises a ProblemError for a bad token
        self.anonymous_paths = frozenset(anonymous_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in BODY_METHODS
            and scope["path"] not in self.anonymous_paths
        ):
            try:
                scope.setdefault("state", {})["principal"] = await self._caller(scope)
            except ProblemError as refused:
                await send_problem(scope, send, refused)
                return
        await self.app(scope, receive, send)

    async def _caller(self, scope: Scope) -> Any:
        token = bearer_token(scope)
        if token is None:
            raise Unauthorized("a bearer token is required")
        return await self.authenticate(token)


def bearer_token(scope: Scope) -> str | None:
    """The request's bearer token, if its Authorization header carries one."""
    raw: bytes = dict(scope["headers"]).get(b"authorization", b"")
    header = raw.decode("latin-1")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class _TooLarge(ProblemError):
    status, slug, title = 413, "body-too-large", "Request body too large"


class TooLargeAsProblem:
    """Outermost: Starlette's body limit answers a plain-text 413; the API speaks problem+json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _too_large_as_problem(scope, send))


def _too_large_as_problem(scope: Scope, send: Send) -> Send:
    swapping = False

    async def wrapped(message: Message) -> None:
        nonlocal swapping
        if message["type"] == "http.response.start" and message["status"] == 413:
            headers = dict(message.get("headers", []))
            if headers.get(b"content-type", b"").decode() != PROBLEM_JSON:
                swapping = True
                return
        if swapping:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                swapping = False
                await send_problem(scope, send, _TooLarge(
                    "the request body exceeds the size this route accepts"))  # fmt: skip
            return
        await send(message)

    return wrapped


async def send_problem(
    scope: Scope, send: Send, refused: ProblemError, *, headers: dict[str, str] | None = None
) -> None:
    """Answer `refused` as problem+json straight from ASGI middleware."""
    body = json.dumps({
        "type": TYPE_BASE + refused.slug, "title": refused.title, "status": refused.status,
        "detail": refused.detail, "instance": scope.get("path", ""),
    }).encode()  # fmt: skip
    raw = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if refused.status == 401:
        challenge = getattr(refused, "challenge", 'Bearer realm="barometre"')
        raw.append((b"www-authenticate", challenge.encode()))
    raw.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
    )
    await send({"type": "http.response.start", "status": refused.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
