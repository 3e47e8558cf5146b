"""Per-client rate limits: a token bucket per token subject (or per IP when anonymous), a 429
problem with Retry-After beyond it; health and metrics never limited; off in dev and test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from shared.rate_limit import TokenBuckets
from tests.helpers import running


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    now = [100.0]
    buckets = TokenBuckets(rate=2.0, burst=3, max_keys=2, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)  # empty: half a second to the next token
    assert buckets.take("b") == 0  # another client has its own bucket
    now[0] += 0.5
    assert buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] += 60  # a long pause fills the bucket to its burst, not beyond
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(0.5)
    buckets.take("c")  # a third key: the least recently seen one ("b") is forgotten
    assert "b" not in buckets._buckets
    assert len(buckets._buckets) == 2


def test_limits_are_off_in_dev_and_test_and_on_in_prod(tmp_path: Any) -> None:
    assert ScoringSettings(environment="test").rate_limit_per_second == 0
    assert ScoringSettings(environment="dev").rate_limit_per_second == 0
    prod = ScoringSettings(
        environment="prod",
        database_url="postgresql://u@db/x",
        nats_url="nats://n:4222",
        jwt_public_key=str(tmp_path / "k.pem"),
    )
    assert (prod.rate_limit_per_second, prod.rate_limit_burst) == (50, 100)
    assert ScoringSettings(environment="test", rate_limit_per_second=4).rate_limit_burst == 8
    with pytest.raises(ValidationError, match="rate_limit"):
        ScoringSettings(environment="test", rate_limit_per_second=1, rate_limit_burst=0)


async def test_a_client_beyond_its_rate_gets_a_429_with_retry_after(
    make_settings: Any, token: Callable[..., dict[str, str]]
) -> None:
    app = create_app(make_settings("scoring", rate_limit_per_second=0.5, rate_limit_burst=2))
    path = "/v1/grids"
    async with running(app) as client:
        operator = token("operator", subject="op-1")
        assert [(await client.get(path, headers=operator)).status_code for _ in range(2)] == [
            200,
            200,
        ]
        refused = await client.get(path, headers=operator)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "2"  # one token every 2 s
        assert refused.json()["type"].endswith("/too-many-requests")

        # Another subject, and anonymous callers (by address), have buckets of their own.
        other = token("operator", subject="op-2")
        assert (await client.get(path, headers=other)).status_code == 200
        assert (await client.get(path)).status_code == 401
        assert (
            await client.get(path, headers={"Authorization": "Bearer forged"})
        ).status_code == 401
        assert (await client.get(path)).status_code == 429  # the address's burst is spent

        # Health and metrics are never limited (probes and scrapers poll them).
        for _ in range(5):
            assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


async def test_without_a_limit_nothing_is_refused(
    make_settings: Any, token: Callable[..., dict[str, str]]
) -> None:
    app = create_app(make_settings("scoring"))
    async with running(app) as client:
        statuses = {(await client.get("/v1/grids", headers=token("operator"))).status_code
                    for _ in range(30)}  # fmt: skip
    assert statuses == {200}
