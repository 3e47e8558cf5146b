"""Per-client rate limit: a token bucket per caller, answered with a 429 problem and Retry-After.

A caller is its token's role and subject when it sends a valid bearer token, else its IP
address (as the ASGI server reports it: behind a proxy, run uvicorn with `--proxy-headers`
and `--forwarded-allow-ips`). Buckets live in this process: with N replicas behind a load
balancer a client may get up to N times the rate. Health and metrics are never limited.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import ProblemError
from shared.request_limits import bearer_token, send_problem


class TooManyRequests(ProblemError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class TokenBuckets:
    """`rate` tokens per second up to `burst`, per key; the least recently seen keys are
    forgotten beyond `max_keys` (a forgotten client starts again with a full bucket)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when `key` may go on (a token is spent), else the seconds until it may."""
        now = self.clock()
        tokens, then = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """Pure ASGI: spends a token of the caller's bucket before anything else reads the request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        rate: float,
        burst: int,
        identify: Callable[[str], Awaitable[Any]],
        exempt_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst)
        self.identify = identify  # token -> principal with `role` and `subject`; raises if bad
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(await self._client(scope))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            refused = TooManyRequests(f"rate limit reached; retry in {seconds} s")
            await send_problem(scope, send, refused, headers={"Retry-After": str(seconds)})
            return
        await self.app(scope, receive, send)

    async def _client(self, scope: Scope) -> str:
        token = bearer_token(scope)
        if token:
            try:
                principal = await self.identify(token)
            except ProblemError:
                pass  # a bad token counts against its sender's address
            else:
                return f"{principal.role}:{principal.subject}"
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"
