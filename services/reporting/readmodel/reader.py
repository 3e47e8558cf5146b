"""The hot read of every answer: the edition's state and its cached document in one prepared
statement on a small asyncpg pool in autocommit (no BEGIN/COMMIT, no pre-ping round trip),
so a cached scorecard costs one query like a bare endpoint's."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import asyncpg

from services.reporting.readmodel.repository import EditionView
from shared.access_log import INSERT_SQL
from shared.auth import Principal
from shared.observability import request_id_var
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
LOG_FLUSH_SECONDS = 0.2

_VIEW = """
SELECT e.edition_id, e.year, e.name, e.status, e.results_dispatch_on, e.version, e.settings,
       e.laureates_published_at IS NOT NULL AS laureates_published,
       d.version AS cached_version, d.body
  FROM editions e
  LEFT JOIN documents d
    ON d.edition_id = e.edition_id AND d.structure_id = $2 AND d.kind = $3
 WHERE e.edition_id = $1
"""


_OPTED_IN = """
SELECT opted_in FROM partner_access WHERE structure_id = $1 AND client_id = $2
"""


class Reader:
    def __init__(self, settings: ServiceSettings) -> None:
        self._dsn = "postgresql://" + settings.database_url.split("://", 1)[1]
        self._schema = settings.database_schema
        self._size = settings.db_pool_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._log: list[tuple[Any, ...]] = []
        self._log_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    async def _ready(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._size,
                        server_settings={"search_path": self._schema},
                        init=_json_codec,
                    )
        return self._pool

    async def edition_view(
        self, edition_id: uuid.UUID, structure_id: uuid.UUID, kind: str
    ) -> EditionView | None:
        pool = await self._ready()
        row = await pool.fetchrow(_VIEW, edition_id, structure_id, kind)
        if row is None:
            return None
        return EditionView(
            edition_id=row["edition_id"],
            year=row["year"],
            name=row["name"],
            status=row["status"],
            results_dispatch_on=row["results_dispatch_on"],
            version=row["version"],
            settings=dict(row["settings"] or {}),
            laureates_published=row["laureates_published"],
            cached_version=row["cached_version"],
            cached_body=row["body"],
        )

    async def partner_opted_in(self, structure_id: uuid.UUID, client_id: str) -> bool:
        pool = await self._ready()
        return bool(await pool.fetchval(_OPTED_IN, structure_id, client_id))

    async def log_access(
        self,
        principal: Principal,
        action: str,
        target: str,
        structure_id: uuid.UUID | None,
    ) -> None:
        """Queue one access-log row. Rows are written together, off the read's path, within
        `LOG_FLUSH_SECONDS`, before the operator's log is read (`flush`), and on shutdown
        (`close`): a cached read stays one query."""
        self._log.append((
            principal.role.value, principal.subject, action, target, structure_id,
            request_id_var.get(),
        ))  # fmt: skip
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon(), name="access-log")

    async def _flush_soon(self) -> None:
        await asyncio.sleep(LOG_FLUSH_SECONDS)
        try:
            await self.flush()
        except (OSError, asyncpg.PostgresError) as exc:  # kept for the next flush
            log.warning("access log not written yet", extra={"error": str(exc)})

    async def flush(self) -> None:
        """Write every queued access-log row (one statement); a failed write keeps them."""
        async with self._log_lock:
            rows, self._log = self._log, []
            if not rows:
                return
            try:
                pool = await self._ready()
                await pool.executemany(INSERT_SQL, rows)
            except BaseException:
                self._log[:0] = rows
                raise

    async def close(self) -> None:
        """Writes the queued access-log rows, then closes the pool."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        try:
            await self.flush()
        except (OSError, asyncpg.PostgresError) as exc:
            log.error("access log rows lost at shutdown", extra={"rows": len(self._log),
                                                                  "error": str(exc)})  # fmt: skip
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _json_codec(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
