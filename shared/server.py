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
    # On SIGTERM uvicorn stops accepting connections and lets the requests in flight finish
    # (at most `shutdown_grace_seconds`), then the app's shutdown stops its loops (at most as
    # long again): see `shared.app`.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or 1,
        backlog=settings.http_backlog,
        limit_concurrency=settings.http_limit_concurrency or None,
        timeout_keep_alive=settings.http_keep_alive_seconds,
    )
