"""The complete registry: edition numbers, status history, calendar and fieldwork windows,
eligibility, quotas, offer catalogue; strata bounds inclusive or exclusive; SIREN, duplicates,
certification expiry, sites with their own territory and contact points; registrations with
options, sites, trophies and waiting list; Idempotency-Key table.

Existing rows are kept: editions get a number (year - 2011, as 2017 was the 6th) and the 2017
catalogue and quotas (the defaults); registrations audit every site of their structure.

Revision ID: registry_0003
Revises: territories_0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "registry_0003"
down_revision: str | None = "territories_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _editions() -> None:
    op.add_column("editions", sa.Column("number", sa.Integer(), nullable=True))
    op.execute("UPDATE editions SET number = year - 2011")
    op.alter_column("editions", "number", nullable=False)
    for name, kind in (
        ("trophies_name", sa.Text()),
        ("preset", sa.Text()),
        ("copied_from", sa.Uuid()),
        ("min_intercommunality_population", sa.Integer()),
        ("max_accepted", sa.Integer()),
        ("registration_deadline", sa.Date()),
        ("selection_notice_on", sa.Date()),
        ("results_dispatch_on", sa.Date()),
        ("ceremony_on", sa.Date()),
    ):
        op.add_column("editions", sa.Column(name, kind, nullable=True))
    op.alter_column("editions", "min_population", nullable=True)
    op.add_column(
        "editions",
        sa.Column("vat_rate", sa.Numeric(5, 4), nullable=False, server_default="0.2000"),
    )
    op.create_table(
        "edition_windows",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "edition_id",
            sa.Uuid(),
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_edition_windows_edition_id", "edition_windows", ["edition_id"])
    op.create_table(
        "edition_quotas",
        sa.Column(
            "edition_id",
            sa.Uuid(),
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("channel", sa.Text(), primary_key=True),
        sa.Column("audits_per_site", sa.Integer(), nullable=False),
        sa.Column("requires_option", sa.Text(), nullable=True),
    )
    op.create_table(
        "edition_transitions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "edition_id",
            sa.Uuid(),
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor_subject", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_edition_transitions_edition_id", "edition_transitions", ["edition_id"])
    op.create_table(
        "offer_lines",
        sa.Column(
            "edition_id",
            sa.Uuid(),
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("offers", ARRAY(sa.Text()), nullable=False),
        sa.Column("max_sites", sa.Integer(), nullable=True),
        sa.Column("operator_only", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    # Editions of the first slice get the default (2017) catalogue and quotas.
    op.execute(
        """
        INSERT INTO offer_lines (edition_id, code, kind, label, unit_price_cents, unit, offers,
                                 max_sites, operator_only, position)
        SELECT e.id, v.code, v.kind, v.label, v.price, v.unit, v.offers::text[], v.max_sites,
               v.operator_only, v.position
        FROM editions e CROSS JOIN (VALUES
          ('standard', 'offer', 'Standard barometer (remote channels, principal site)', 0,
           'registration', '{}', 1, false, 0),
          ('personalised', 'offer', 'Personalised barometer, principal site', 110000,
           'registration', '{}', NULL, false, 1),
          ('supplementary_site', 'option', 'Supplementary site', 60000, 'supplementary_site',
           '{personalised}', NULL, false, 2),
          ('visits', 'option', '2 mystery visits per site', 40000, 'site',
           '{standard,personalised}', NULL, false, 3),
          ('restitution', 'option', 'Restitution by a consultant (2 hours, phone or video)',
           60000, 'registration', '{personalised}', NULL, false, 4),
          ('professional_audit', 'option',
           'Professional audit (2 days on site + 1 day off site; on request)', 330000,
           'registration', '{standard,personalised}', NULL, true, 5)
        ) AS v(code, kind, label, price, unit, offers, max_sites, operator_only, position)
        """
    )
    op.execute(
        """
        INSERT INTO edition_quotas (edition_id, channel, audits_per_site, requires_option)
        SELECT e.id, v.channel, v.n, v.opt FROM editions e CROSS JOIN (VALUES
          ('email', 4, NULL), ('phone', 4, NULL), ('answering_machine', 1, NULL),
          ('letter', 3, NULL), ('website', 1, NULL), ('visit', 2, 'visits')
        ) AS v(channel, n, opt)
        """
    )
    op.add_column(
        "strata_rules",
        sa.Column("min_inclusive", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "strata_rules",
        sa.Column("max_inclusive", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def _structures() -> None:
    op.add_column("structures", sa.Column("siren", sa.Text(), nullable=True))
    op.add_column("structures", sa.Column("territory_code", sa.Text(), nullable=True))
    op.execute(
        """
        UPDATE structures SET territory_code = CASE type
          WHEN 'intercommunality' THEN epci_siren
          WHEN 'departement' THEN departement_code
          WHEN 'region' THEN region_code
          ELSE commune_code END
        """
    )
    op.alter_column("structures", "territory_code", nullable=False)
    op.create_index(
        "uq_structures_siren",
        "structures",
        ["siren"],
        unique=True,
        postgresql_where=sa.text("siren IS NOT NULL"),
    )
    op.create_unique_constraint(
        "uq_structures_type_territory", "structures", ["type", "territory_code"]
    )
    op.create_index("ix_structures_type", "structures", ["type"])
    op.create_index("ix_structures_departement_code", "structures", ["departement_code"])
    op.create_index("ix_structures_region_code", "structures", ["region_code"])
    op.add_column("certifications", sa.Column("expires_on", sa.Date(), nullable=True))
    op.add_column("sites", sa.Column("commune_code", sa.Text(), nullable=True))
    op.add_column("sites", sa.Column("departement_code", sa.Text(), nullable=True))
    op.execute(
        """
        UPDATE sites SET commune_code = s.commune_code, departement_code = s.departement_code
        FROM structures s WHERE s.id = sites.structure_id
        """
    )
    op.create_table(
        "contact_points",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "site_id", sa.Uuid(), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_contact_points_site_id", "contact_points", ["site_id"])


def _registrations() -> None:
    op.add_column(
        "registrations",
        sa.Column("options", ARRAY(sa.Text()), nullable=False, server_default="{}"),
    )
    op.add_column(
        "registrations",
        sa.Column("site_ids", ARRAY(sa.Uuid()), nullable=False, server_default="{}"),
    )
    op.execute(
        """
        UPDATE registrations r SET site_ids = ARRAY(
          SELECT id FROM sites WHERE sites.structure_id = r.structure_id
          ORDER BY principal DESC, name, id)
        """
    )
    op.add_column(
        "registrations",
        sa.Column("competes_for_trophies", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "registrations",
        sa.Column("applied_by", sa.Text(), nullable=False, server_default="operator"),
    )
    op.add_column(
        "registrations", sa.Column("waitlisted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.alter_column("registrations", "stratum_code", nullable=True)
    op.alter_column("registrations", "stratum_label", nullable=True)
    op.alter_column("registrations", "refusal_reason", new_column_name="decision_reason")
    op.create_index("ix_registrations_status", "registrations", ["edition_id", "status"])


def _idempotency() -> None:
    # Frozen here (not built from shared.idempotency): a migration creates the same table
    # whenever it runs.
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", JSONB(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("caller", "key", name="pk_idempotency_keys"),
    )


def upgrade() -> None:
    _editions()
    _structures()
    _registrations()
    _idempotency()


def downgrade() -> None:
    """Back to the first slice's shape: what only this revision holds is dropped (sites beyond
    the first slice keep their rows; options, quotas, windows, history and keys are lost)."""
    op.drop_table("idempotency_keys")
    op.drop_index("ix_registrations_status", "registrations")
    op.alter_column("registrations", "decision_reason", new_column_name="refusal_reason")
    op.execute("DELETE FROM registrations WHERE stratum_code IS NULL")
    op.alter_column("registrations", "stratum_label", nullable=False)
    op.alter_column("registrations", "stratum_code", nullable=False)
    for column in ("waitlisted_at", "applied_by", "competes_for_trophies", "site_ids", "options"):
        op.drop_column("registrations", column)
    op.drop_index("ix_contact_points_site_id", "contact_points")
    op.drop_table("contact_points")
    op.drop_column("sites", "departement_code")
    op.drop_column("sites", "commune_code")
    op.drop_column("certifications", "expires_on")
    op.drop_index("ix_structures_region_code", "structures")
    op.drop_index("ix_structures_departement_code", "structures")
    op.drop_index("ix_structures_type", "structures")
    op.drop_constraint("uq_structures_type_territory", "structures", type_="unique")
    op.drop_index("uq_structures_siren", "structures")
    op.drop_column("structures", "territory_code")
    op.drop_column("structures", "siren")
    op.drop_column("strata_rules", "max_inclusive")
    op.drop_column("strata_rules", "min_inclusive")
    op.drop_table("offer_lines")
    op.drop_index("ix_edition_transitions_edition_id", "edition_transitions")
    op.drop_table("edition_transitions")
    op.drop_table("edition_quotas")
    op.drop_index("ix_edition_windows_edition_id", "edition_windows")
    op.drop_table("edition_windows")
    op.execute("UPDATE editions SET min_population = 0 WHERE min_population IS NULL")
    op.alter_column("editions", "min_population", nullable=False)
    for column in (
        "vat_rate", "ceremony_on", "results_dispatch_on", "selection_notice_on",
        "registration_deadline", "max_accepted", "min_intercommunality_population",
        "copied_from", "preset", "trophies_name", "number",
    ):  # fmt: skip
        op.drop_column("editions", column)
