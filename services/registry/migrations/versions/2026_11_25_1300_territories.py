"""Territories by vintage: attributes and search keys of régions, départements, communes and
EPCI; delegated/associated communes and municipal arrondissements; EPCI members; populations
per vintage; import runs. Loads no data (the import does).

Revision ID: territories_0002
Revises: registry_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "territories_0002"
down_revision: str | None = "registry_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _vintage() -> sa.Column[int]:
    # Rows loaded before this revision (by the old initial migration) are of no known vintage:
    # 0 until the next import sets theirs.
    return sa.Column("vintage", sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    for table in ("regions", "departements"):
        op.add_column(table, sa.Column("chef_lieu_code", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("zone", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("population", sa.BigInteger(), nullable=True))
        op.add_column(table, _vintage())
        op.create_index(f"ix_{table}_vintage", table, ["vintage"])

    op.add_column(
        "communes", sa.Column("search_name", sa.Text(), nullable=False, server_default="")
    )
    op.add_column("communes", sa.Column("siren", sa.Text(), nullable=True))
    op.add_column(
        "communes",
        sa.Column("postal_codes", ARRAY(sa.Text()), nullable=False, server_default="{}"),
    )
    op.add_column("communes", sa.Column("zone", sa.Text(), nullable=True))
    op.add_column("communes", _vintage())
    op.create_index("ix_communes_vintage", "communes", ["vintage"])
    op.create_index(
        "ix_communes_ranking", "communes", [sa.text("coalesce(population, -1) DESC"), "code"]
    )

    op.add_column("epcis", sa.Column("search_name", sa.Text(), nullable=False, server_default=""))
    op.add_column("epcis", sa.Column("financing_mode", sa.Text(), nullable=True))
    op.add_column("epcis", sa.Column("population_municipale", sa.Integer(), nullable=True))
    op.alter_column("epcis", "population", nullable=True)
    op.add_column("epcis", _vintage())
    op.create_index("ix_epcis_vintage", "epcis", ["vintage"])

    for table, column in (
        ("regions", "vintage"),
        ("departements", "vintage"),
        ("communes", "vintage"),
        ("communes", "search_name"),
        ("communes", "postal_codes"),
        ("epcis", "vintage"),
        ("epcis", "search_name"),
    ):
        op.alter_column(table, column, server_default=None)

    op.create_table(
        "commune_parts",
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("search_name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), sa.ForeignKey("communes.code"), nullable=False),
        sa.Column(
            "departement_code", sa.Text(), sa.ForeignKey("departements.code"), nullable=False
        ),
        sa.Column("region_code", sa.Text(), sa.ForeignKey("regions.code"), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("vintage", sa.Integer(), nullable=False),
    )
    op.create_index("ix_commune_parts_code", "commune_parts", ["code"])
    op.create_index("ix_commune_parts_parent_code", "commune_parts", ["parent_code"])

    op.create_table(
        "epci_members",
        sa.Column(
            "epci_siren",
            sa.Text(),
            sa.ForeignKey("epcis.siren", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "commune_code",
            sa.Text(),
            sa.ForeignKey("communes.code", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_epci_members_commune_code", "epci_members", ["commune_code"])

    op.create_table(
        "territory_populations",
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("vintage", sa.Integer(), primary_key=True),
        sa.Column("population", sa.BigInteger(), nullable=False),
    )

    op.create_table(
        "territory_imports",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("report", JSONB(), nullable=False),
    )
    op.create_index("ix_territory_imports_vintage", "territory_imports", ["vintage"])


def downgrade() -> None:
    op.drop_table("territory_imports")
    op.drop_table("territory_populations")
    op.drop_table("epci_members")
    op.drop_table("commune_parts")
    op.drop_index("ix_epcis_vintage", "epcis")
    for column in ("vintage", "population_municipale", "financing_mode", "search_name"):
        op.drop_column("epcis", column)
    for index in ("ix_communes_ranking", "ix_communes_vintage"):
        op.drop_index(index, "communes")
    for column in ("vintage", "zone", "postal_codes", "siren", "search_name"):
        op.drop_column("communes", column)
    for table in ("departements", "regions"):
        op.drop_index(f"ix_{table}_vintage", table)
        for column in ("vintage", "population", "zone", "chef_lieu_code"):
            op.drop_column(table, column)
