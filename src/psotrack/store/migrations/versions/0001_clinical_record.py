"""The clinical record: every table, and an audit log that refuses change

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 10:41:51.544886
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("research_id", sa.String(length=20), nullable=False),
        sa.Column(
            "sex",
            sa.Enum(
                "female",
                "male",
                "other",
                "unknown",
                name="sex",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("fitzpatrick", sa.Integer(), nullable=True),
        sa.Column(
            "psoriasis_type",
            sa.Enum(
                "plaque",
                "guttate",
                "inverse",
                "pustular",
                "erythrodermic",
                "other",
                name="psoriasis_type",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("onset_year", sa.Integer(), nullable=True),
        sa.Column("history", sa.String(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.CheckConstraint("birth_year BETWEEN 1900 AND 2100", name=op.f("ck_patients_birth_year")),
        sa.CheckConstraint("fitzpatrick BETWEEN 1 AND 6", name=op.f("ck_patients_fitzpatrick")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("research_id", name=op.f("uq_patients_research_id")),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("regimen", sa.String(), nullable=False),
        sa.Column(
            "product_source",
            sa.Enum(
                "UC-MSC",
                "AD-MSC",
                "BM-MSC",
                "exosome/secretome",
                "other",
                name="product_source",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "route",
            sa.Enum(
                "IV",
                "intralesional/perilesional",
                "subcutaneous",
                "topical",
                name="route",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("dose_min_per_kg", sa.Double(), nullable=True),
        sa.Column("dose_max_per_kg", sa.Double(), nullable=True),
        sa.Column("viability_threshold_pct", sa.Double(), nullable=False),
        sa.Column("ctcae_version", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.CheckConstraint(
            "dose_min_per_kg <= dose_max_per_kg", name=op.f("ck_programs_dose_range")
        ),
        sa.CheckConstraint(
            "viability_threshold_pct BETWEEN 0 AND 100", name=op.f("ck_programs_viability")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("name", name=op.f("uq_programs_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "clinician",
                "coordinator",
                "researcher",
                "patient",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=True),
        sa.Column("old_value", sa.String(), nullable=True),
        sa.Column("new_value", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_entity"), ["entity"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_entity_id"), ["entity_id"], unique=False)

    op.create_table(
        "concomitant_therapies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "therapy_class",
            sa.Enum(
                "topical steroid",
                "vitamin D analogue",
                "phototherapy",
                "methotrexate",
                "ciclosporin",
                "acitretin",
                "apremilast",
                "biologic",
                "other",
                name="therapy_class",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("agent", sa.String(length=200), nullable=True),
        sa.Column("biologic_target", sa.String(length=40), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=True),
        sa.Column("dose", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_concomitant_therapies_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concomitant_therapies")),
    )
    with op.batch_alter_table("concomitant_therapies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concomitant_therapies_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "screening",
                "active",
                "follow-up",
                "completed",
                "withdrawn",
                name="enrollment_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("withdrawal_reason", sa.String(), nullable=True),
        sa.Column("clinician_id", sa.Integer(), nullable=True),
        sa.Column("arm", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_enrollments_clinician_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_enrollments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_enrollments_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollments_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "patient_identities",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("mrn", sa.String(length=64), nullable=False),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_identities_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_identities")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patient_identities_mrn")),
    )
    op.create_table(
        "safety_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "serious adverse event",
                "adverse event grade ≥ 3",
                "infusion-related reaction",
                "cell dose outside protocol range",
                "viability below release threshold",
                "possible flare (PASI ≥ 150 % of best)",
                name="flag_kind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_safety_flags_acknowledged_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_safety_flags_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_flags")),
    )
    with op.batch_alter_table("safety_flags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safety_flags_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column(
            "visit_type",
            sa.Enum(
                "screening",
                "baseline",
                "treatment",
                "follow-up",
                "unscheduled",
                name="visit_type",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_visits_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visits_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "administrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column(
            "product_source",
            sa.Enum(
                "UC-MSC",
                "AD-MSC",
                "BM-MSC",
                "exosome/secretome",
                "other",
                name="product_source",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("manufacturer", sa.String(length=200), nullable=False),
        sa.Column("lot", sa.String(length=80), nullable=False),
        sa.Column("passage", sa.Integer(), nullable=True),
        sa.Column("cryopreserved", sa.Boolean(), nullable=False),
        sa.Column("total_cells", sa.BigInteger(), nullable=False),
        sa.Column("body_weight_kg", sa.Double(), nullable=False),
        sa.Column("cells_per_kg", sa.Double(), nullable=False),
        sa.Column("viability_pct", sa.Double(), nullable=False),
        sa.Column(
            "route",
            sa.Enum(
                "IV",
                "intralesional/perilesional",
                "subcutaneous",
                "topical",
                name="route",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("volume_ml", sa.Double(), nullable=True),
        sa.Column("rate_ml_per_h", sa.Double(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("premedication", sa.String(), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("vitals_before", sa.JSON(), nullable=True),
        sa.Column("vitals_after", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.CheckConstraint("body_weight_kg > 0", name=op.f("ck_administrations_body_weight")),
        sa.CheckConstraint("total_cells > 0", name=op.f("ck_administrations_total_cells")),
        sa.CheckConstraint(
            "viability_pct BETWEEN 0 AND 100", name=op.f("ck_administrations_viability")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["users.id"], name=op.f("fk_administrations_operator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_administrations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_administrations_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_administrations")),
    )
    with op.batch_alter_table("administrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_administrations_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "instrument",
            sa.Enum(
                "pasi",
                "bsa",
                "pga",
                "dlqi",
                "itch_nrs",
                "pssi",
                "napsi",
                "tpss",
                name="instrument",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("responses", sa.JSON(), nullable=False),
        sa.Column("score", sa.String(length=32), nullable=True),
        sa.Column("score_value", sa.Double(), nullable=True),
        sa.Column("assessor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessor_id"], ["users.id"], name=op.f("fk_assessments_assessor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_assessments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_assessments_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessments_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "lab_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("analyte", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("reference_low", sa.Double(), nullable=True),
        sa.Column("reference_high", sa.Double(), nullable=True),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_lab_results_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_lab_results_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_results")),
    )
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lab_results_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("body_site", sa.String(length=80), nullable=False),
        sa.Column("view", sa.String(length=40), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_photos_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_photos_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photos_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_photos_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("resolution_date", sa.Date(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("ctcae_version", sa.String(length=10), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("serious_criteria", sa.JSON(), nullable=False),
        sa.Column("expected", sa.Boolean(), nullable=True),
        sa.Column(
            "relatedness",
            sa.Enum(
                "certain",
                "probable",
                "possible",
                "unlikely",
                "conditional",
                "unassessable",
                "related",
                "not related",
                name="relatedness",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("action_taken", sa.String(length=200), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "recovered",
                "recovering",
                "not recovered",
                "recovered with sequelae",
                "fatal",
                "unknown",
                name="ae_outcome",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("infusion_reaction", sa.Boolean(), nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(), nullable=True),
        sa.CheckConstraint("grade BETWEEN 1 AND 5", name=op.f("ck_adverse_events_grade")),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administrations.id"],
            name=op.f("fk_adverse_events_administration_id_administrations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adverse_events_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_events_patient_id"), ["patient_id"], unique=False
        )

    _make_audit_log_append_only()


def downgrade() -> None:
    _drop_audit_log_guards()
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_events_patient_id"))

    op.drop_table("adverse_events")
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photos_patient_id"))
        batch_op.drop_index(batch_op.f("ix_photos_content_hash"))

    op.drop_table("photos")
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lab_results_patient_id"))

    op.drop_table("lab_results")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_visit_id"))
        batch_op.drop_index(batch_op.f("ix_assessments_patient_id"))

    op.drop_table("assessments")
    with op.batch_alter_table("administrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_administrations_patient_id"))

    op.drop_table("administrations")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visits_patient_id"))

    op.drop_table("visits")
    with op.batch_alter_table("safety_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_flags_patient_id"))

    op.drop_table("safety_flags")
    op.drop_table("patient_identities")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_patient_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("concomitant_therapies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concomitant_therapies_patient_id"))

    op.drop_table("concomitant_therapies")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_entity"))

    op.drop_table("audit_log")
    op.drop_table("users")
    op.drop_table("programs")
    op.drop_table("patients")


#: Every UPDATE, DELETE (and on PostgreSQL TRUNCATE) of the audit log is refused by the database
#: itself, so that no code path, not even a mistaken one, can rewrite history.
AUDIT_MESSAGE = "audit_log is append-only: rows cannot be changed or deleted"


def _make_audit_log_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION psotrack_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{AUDIT_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION psotrack_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION psotrack_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT_MESSAGE}'); END"
            )


def _drop_audit_log_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION psotrack_audit_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
