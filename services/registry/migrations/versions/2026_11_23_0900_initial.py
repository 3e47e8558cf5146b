"""Initial schema of the registry service: territories (tables only; the import loads them),
editions and strata rules, structures, sites, certifications, registrations, messaging tables.

Revision ID: registry_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from shared.migrations import create_messaging_tables

revision: str = "registry_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _territory_tables() -> tuple[sa.Table, sa.Table, sa.Table, sa.Table]:
    regions = op.create_table(
        "regions",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
    )
    departements = op.create_table(
        "departements",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(), sa.ForeignKey("regions.code"), nullable=False),
    )
    op.create_index("ix_departements_region_code", "departements", ["region_code"])
    communes = op.create_table(
        "communes",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "departement_code", sa.Text(), sa.ForeignKey("departements.code"), nullable=False
        ),
        sa.Column("region_code", sa.Text(), sa.ForeignKey("regions.code"), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
    )
    op.create_index("ix_communes_departement_code", "communes", ["departement_code"])
    op.create_index("ix_communes_region_code", "communes", ["region_code"])
    epcis = op.create_table(
        "epcis",
        sa.Column("siren", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
    )
    # op.create_table returns the table it created (typed Optional for offline mode).
    assert regions is not None
    assert departements is not None
    assert communes is not None
    assert epcis is not None
    return regions, departements, communes, epcis


def upgrade() -> None:
    create_messaging_tables()
    # Territory tables only: their data changes by vintage, so `barometer registry
    # import-territories` (or POST /v1/territories/imports) loads it, not a migration.
    _territory_tables()

    op.create_table(
        "editions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("min_population", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("year", name="uq_editions_year"),
    )
    op.create_table(
        "strata_rules",
        sa.Column(
            "edition_id",
            sa.Uuid(),
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("structure_types", ARRAY(sa.Text()), nullable=False),
        sa.Column("min_population", sa.Integer(), nullable=True),
        sa.Column("max_population", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_table(
        "structures",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("commune_code", sa.Text(), sa.ForeignKey("communes.code"), nullable=True),
        sa.Column("epci_siren", sa.Text(), sa.ForeignKey("epcis.siren"), nullable=True),
        sa.Column("departement_code", sa.Text(), sa.ForeignKey("departements.code"), nullable=True),
        sa.Column("region_code", sa.Text(), sa.ForeignKey("regions.code"), nullable=True),
        sa.Column("population", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "certifications",
        sa.Column(
            "structure_id",
            sa.Uuid(),
            sa.ForeignKey("structures.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("obtained_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "structure_id",
            sa.Uuid(),
            sa.ForeignKey("structures.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("principal", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_sites_structure_id", "sites", ["structure_id"])
    op.create_index(
        "uq_sites_principal",
        "sites",
        ["structure_id"],
        unique=True,
        postgresql_where=sa.text("principal"),
    )
    op.create_table(
        "registrations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("edition_id", sa.Uuid(), sa.ForeignKey("editions.id"), nullable=False),
        sa.Column("structure_id", sa.Uuid(), sa.ForeignKey("structures.id"), nullable=False),
        sa.Column("offer", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("stratum_code", sa.Text(), nullable=False),
        sa.Column("stratum_label", sa.Text(), nullable=False),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("edition_id", "structure_id", name="uq_registrations_edition_id"),
    )
    op.create_index("ix_registrations_edition_id", "registrations", ["edition_id"])
    op.create_index("ix_registrations_structure_id", "registrations", ["structure_id"])


def downgrade() -> None:
    for name in ("registrations", "sites", "certifications", "structures", "strata_rules",
                 "editions", "dead_letters", "inbox", "outbox", "epcis", "communes",
                 "departements", "regions"):  # fmt: skip
        op.drop_table(name)
