"""The hot read of every answer: the edition's state and its cached document in one prepared
statement on a small asyncpg pool in autocommit (no BEGIN/COMMIT, no pre-ping round trip),
so a cached scorecard costs one query like a bare endpoint's."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg

from services.reporting.readmodel.repository import EditionView
from shared.access_log import INSERT_SQL
from shared.auth import Principal
from shared.observability import request_id_var
from shared.settings import ServiceSettings

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
        """One access-log row (autocommit: written before the answer is sent)."""
        pool = await self._ready()
        await pool.execute(
            INSERT_SQL, principal.role.value, principal.subject, action, target, structure_id,
            request_id_var.get(),
        )  # fmt: skip

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _json_codec(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
