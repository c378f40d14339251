"""Importing score files: all rows or none, provenance kept, days derived back exactly."""

from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select

from psotrack.endpoints import wide_to_long
from psotrack.errors import PermissionDenied, ValidationError
from psotrack.services.context import SYSTEM
from psotrack.services.imports import import_assessments
from psotrack.services.timeline import assessments_frame
from psotrack.store.models import Assessment, AuditEntry, Patient, Visit
from psotrack.store.vocabulary import Role
from tests.public_data import WWW_SUSTAINED_RESPONSE

PUBLIC = WWW_SUSTAINED_RESPONSE


def long_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["A", "A", "A", "B", "B"],
            "arm": ["x", "x", "x", "y", "y"],
            "visit": ["W0", "W4", "W12", "W0", "W12"],
            "day": [0, 28, 84, 0, 84],
            "pasi": ["7.6", "4.0", "1.9", "10.0", None],
            "dlqi": ["12", None, "3", "20", "18"],
        }
    )


def counts(db) -> tuple[int, int, int, int]:
    with db.transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m))
            for m in (Patient, Visit, Assessment, AuditEntry)
        )


def test_import_creates_patients_visits_assessments_and_frame_round_trips(
    db, clinician, program_id
):
    summary = import_assessments(
        db,
        clinician,
        long_frame(),
        program_id=program_id,
        day_zero=date(2026, 2, 2),
        source="t.csv",
    )
    assert (summary.rows, summary.patients_created, summary.visits, summary.assessments) == (
        5,
        2,
        5,
        8,  # 4 PASI + 4 DLQI values
    )
    frame = assessments_frame(db, clinician).sort("patient_id", "day")
    by_day = {(r["arm"], r["day"]): (r["pasi"], r["dlqi"]) for r in frame.iter_rows(named=True)}
    assert by_day == {
        ("x", 0): ("7.6", "12"),
        ("x", 28): ("4.0", None),
        ("x", 84): ("1.9", "3"),
        ("y", 0): ("10.0", "20"),
        ("y", 84): (None, "18"),
    }
    assert not frame["patient_id"].is_in(["A", "B"]).any()  # research ids, never the file's ids
    with db.transaction() as session:
        imported = session.scalars(select(Assessment).where(Assessment.score == "1.9")).one()
    assert imported.responses == {"imported_total": "1.9", "source": "t.csv"}


def test_a_bad_row_imports_nothing(db, clinician, program_id):
    before = counts(db)
    bad = long_frame().with_columns(pl.Series("pasi", ["7.6", "-1", "1.9", "x", None]))
    with pytest.raises(ValidationError) as info:
        import_assessments(
            db, clinician, bad, program_id=program_id, day_zero=date(2026, 2, 2), source="t"
        )
    assert {p.row for p in info.value.problems} == {2, 4}
    assert counts(db) == before


def test_second_import_of_the_same_visits_is_refused(db, clinician, program_id):
    args = {"program_id": program_id, "day_zero": date(2026, 2, 2), "source": "t"}
    import_assessments(db, clinician, long_frame(), **args)
    before = counts(db)
    with pytest.raises(ValidationError, match="a visit is imported once"):
        import_assessments(db, clinician, long_frame(), **args)
    assert counts(db) == before


def test_researchers_cannot_import(db, actors, program_id):
    with pytest.raises(PermissionDenied):
        import_assessments(
            db,
            actors[Role.RESEARCHER],
            long_frame(),
            program_id=program_id,
            day_zero=date(2026, 2, 2),
            source="t",
        )


def test_public_wide_file_imports_every_observed_score(db, clinician, program_id):
    wide = pl.read_csv(PUBLIC, null_values=["NA"])
    observed = sum(wide[c].is_not_null().sum() for c in wide.columns[2:])
    summary = import_assessments(
        db,
        clinician,
        wide_to_long(wide),
        program_id=program_id,
        day_zero=date(2021, 1, 4),
        source=PUBLIC.name,
        synthetic=True,
    )
    assert summary.patients_created == 900
    assert summary.assessments == observed
    frame = assessments_frame(db, clinician)
    assert frame.filter(pl.col("day") == 0)["pasi"].cast(pl.Float64).sum() == pytest.approx(
        wide["BASELINE"].sum()
    )


def test_deleted_patients_are_refused_and_others_enrolled_in_the_program(db, clinician, program_id):
    # Found in review: rows of a soft-deleted patient were stored and invisible everywhere.
    from psotrack.services.corrections import delete_record
    from psotrack.services.patients import create_program
    from psotrack.store.models import Enrollment, PatientIdentity

    args = {"day_zero": date(2026, 2, 2), "source": "t"}
    import_assessments(db, clinician, long_frame(), program_id=program_id, **args)
    with db.transaction() as session:
        a_id = session.scalar(select(PatientIdentity.patient_id).where(PatientIdentity.mrn == "A"))
    delete_record(db, clinician, "patients", a_id, "duplicate record")
    later = pl.DataFrame(
        {
            "patient_id": ["A", "B"],
            "visit": ["W24", "W24"],
            "day": [168, 168],
            "pasi": ["1.0", "2.0"],
        }
    )
    other = create_program(
        db,
        SYSTEM,
        {"name": "P2", "regimen": "r", "product_source": "other", "route": "IV"},
    )
    with pytest.raises(ValidationError) as info:
        import_assessments(db, clinician, later, program_id=other, **args)
    assert [(p.row, p.field) for p in info.value.problems] == [(1, "patient_id")]
    import_assessments(
        db, clinician, later.filter(pl.col("patient_id") == "B"), program="P2", **args
    )
    frame = assessments_frame(db, clinician, program_id=other)  # B's whole record, not A's
    assert frame["visit"].to_list() == ["W0", "W12", "W24"]
    assert frame["patient_id"].n_unique() == 1
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 3
