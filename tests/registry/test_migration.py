"""The registry_0003 migration keeps the first slice's rows and fills what they lacked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command

from barometer_cli.catalog import SERVICES
from shared.migrations import alembic_config, upgrade
from tests.conftest import Infra, _admin, _with_database


@pytest.fixture
async def empty_url(infra: Infra) -> AsyncIterator[str]:
    name = f"m_{uuid.uuid4().hex[:16]}"
    await _admin(infra, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(infra.admin_url, name)
    finally:
        await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_rows_of_the_first_slice_survive_the_upgrade(empty_url: str) -> None:
    spec = next(s for s in SERVICES if s.name == "registry")
    await asyncio.to_thread(upgrade, spec.migrations_dir, empty_url, "registry", "registry_0001")
    edition, structure, site, registration = (uuid.uuid4() for _ in range(4))
    conn = await asyncpg.connect(empty_url)
    try:
        await conn.execute("SET search_path TO registry")
        # The territory this test needs, whatever loads territories.
        await conn.execute(
            "INSERT INTO regions VALUES ('52', 'Pays de la Loire') ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO departements VALUES ('44', 'Loire-Atlantique', '52') ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO communes VALUES ('44109', 'Nantes', '44', '52', 327734) ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO editions (id, year, name, status, min_population) "
            "VALUES ($1, 2017, 'Indiko', 'registration_open', 3500)",
            edition,
        )
        await conn.execute(
            "INSERT INTO strata_rules VALUES ($1, 'big', 'Big', '{city_hall}', 50000, NULL, 0)",
            edition,
        )
        await conn.execute(
            "INSERT INTO structures (id, name, type, commune_code, departement_code, region_code, "
            "population) VALUES ($1, 'Mairie de Nantes', 'city_hall', '44109', '44', '52', 327734)",
            structure,
        )
        await conn.execute(
            "INSERT INTO sites VALUES ($1, $2, 'Hôtel de ville', true)", site, structure
        )
        await conn.execute(
            "INSERT INTO registrations (id, edition_id, structure_id, offer, status, stratum_code, "
            "stratum_label, refusal_reason) VALUES ($1, $2, $3, 'personalised', 'refused', 'big', "
            "'Big', 'cap')",
            registration,
            edition,
            structure,
        )
    finally:
        await conn.close()

    await asyncio.to_thread(upgrade, spec.migrations_dir, empty_url, "registry", "registry_0003")

    conn = await asyncpg.connect(empty_url)
    try:
        await conn.execute("SET search_path TO registry")
        row = await conn.fetchrow("SELECT number, vat_rate, min_population FROM editions")
        assert (row["number"], str(row["vat_rate"]), row["min_population"]) == (6, "0.2000", 3500)
        offers = await conn.fetch(
            "SELECT code, unit_price_cents FROM offer_lines ORDER BY position"
        )
        assert [(o["code"], o["unit_price_cents"]) for o in offers][:2] == [
            ("standard", 0),
            ("personalised", 110_000),
        ]
        assert await conn.fetchval("SELECT count(*) FROM edition_quotas") == 6
        rule = await conn.fetchrow("SELECT min_inclusive, max_inclusive FROM strata_rules")
        assert (rule["min_inclusive"], rule["max_inclusive"]) == (True, True)
        assert await conn.fetchval("SELECT territory_code FROM structures") == "44109"
        assert await conn.fetchval("SELECT commune_code FROM sites") == "44109"
        moved = await conn.fetchrow(
            "SELECT site_ids, options, decision_reason, competes_for_trophies FROM registrations"
        )
        assert (moved["site_ids"], moved["options"], moved["decision_reason"]) == (
            [site],
            [],
            "cap",
        )
        assert moved["competes_for_trophies"] is False
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == "registry_0003"
    finally:
        await conn.close()

    # Down to the first slice's shape and up again.
    config = alembic_config(spec.migrations_dir, empty_url, "registry")
    await asyncio.to_thread(command.downgrade, config, "territories_0002")
    conn = await asyncpg.connect(empty_url)
    try:
        await conn.execute("SET search_path TO registry")
        assert await conn.fetchval("SELECT refusal_reason FROM registrations") == "cap"
        assert await conn.fetchval("SELECT to_regclass('registry.offer_lines')") is None
    finally:
        await conn.close()
    await asyncio.to_thread(upgrade, spec.migrations_dir, empty_url, "registry")
