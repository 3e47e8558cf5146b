"""A 20 MB body costs the services nothing: refused with a 413 from its declared length, with
or without a token, before it is read; their resident memory stays where it was. (A body
within the cap but without a valid token gets its 401 unread: tests/shared/test_request_hygiene.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import System

TWENTY_MB = b'{"name": [' + b",".join([b'{"a": 1}'] * (20 * 1024 * 1024 // 9)) + b"]}"
POST_PATHS = {
    "registry": "/v1/editions",
    "fieldwork": "/v1/auditors",
    "scoring": "/v1/editions",  # no POST route: refused before routing all the same
    "reporting": "/v1/editions",
}


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


async def test_a_20_mb_body_is_refused_unread(
    system: System, token: Callable[..., dict[str, str]]
) -> None:
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=60) as client:
        for name, url in system.urls.items():
            pid = system.processes[name].pid
            before = resident_kib(pid)
            anonymous = await client.post(url + POST_PATHS[name], content=TWENTY_MB,
                                          headers=headers)  # fmt: skip
            assert anonymous.status_code == 413, (name, anonymous.text[:200])
            assert anonymous.headers["content-type"] == "application/problem+json"
            signed = await client.post(url + POST_PATHS[name], content=TWENTY_MB,
                                       headers={**headers, **token("operator")})  # fmt: skip
            assert signed.status_code == 413, (name, signed.text[:200])
            assert signed.headers["content-type"] == "application/problem+json"
            grown_mib = (resident_kib(pid) - before) / 1024
            assert grown_mib < 20, f"{name} grew by {grown_mib:.1f} MiB"
            ready = await client.get(f"{url}/health/ready")
            assert ready.status_code == 200, name
