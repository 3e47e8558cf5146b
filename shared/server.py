"""Run a service under uvicorn with its own settings (used by `python -m services.<svc>`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def serve(create_app: Callable[[S], FastAPI], settings: S) -> None:
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        backlog=settings.http_backlog,
        limit_concurrency=settings.http_limit_concurrency or None,
        timeout_keep_alive=settings.http_keep_alive_seconds,
    )
