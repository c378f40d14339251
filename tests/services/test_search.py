"""search_patients: who matches, in which order, on which page, and what each role sees."""

from datetime import date

import polars as pl
import pytest
from sqlalchemy import text

from psotrack.errors import PermissionDenied, ValidationError
from psotrack.services.context import SYSTEM, Permission, resolve_actor
from psotrack.services.corrections import delete_record
from psotrack.services.flags import new_flag, store_flag
from psotrack.services.imports import import_assessments
from psotrack.services.patients import create_program, enroll_patient, withdraw_patient
from psotrack.services.search import search_patients
from psotrack.store.vocabulary import FlagKind, Role
from tests.services.conftest import patient_form

DAY_ZERO = date(2026, 1, 5)  # the enrollment start of patient_form


@pytest.fixture
def clinic(db, clinician, program_id) -> dict[str, int]:
    """Four patients: Jane Doe (20.0 → 10.0 on day 28), Anna Smith (10.0 → 9.0 on day 56),
    Paul Dorey (no scores, one open flag twice) and an imported MRN-2001 (baseline 30.0 only)."""
    ids = {
        "doe": enroll_patient(db, clinician, patient_form(program_id)),
        "smith": enroll_patient(
            db,
            clinician,
            patient_form(program_id, mrn="MRN-0002", family_name="Smith", given_name="Anna"),
        ),
        "dorey": enroll_patient(
            db,
            clinician,
            patient_form(program_id, mrn="MRN-1002", family_name="Dorey", given_name="Paul"),
        ),
    }
    frame = pl.DataFrame(
        {
            "patient_id": ["MRN-0001", "MRN-0001", "MRN-0002", "MRN-0002", "MRN-2001"],
            "visit": ["W0", "W4", "W0", "W8", "W0"],
            "day": [0, 28, 0, 56, 0],
            "pasi": ["20.0", "10.0", "10.0", "9.0", "30.0"],
        }
    )
    import_assessments(db, clinician, frame, program_id=program_id, day_zero=DAY_ZERO, source="t")
    (ids["imported"],) = (row.patient_id for row in search_patients(db, clinician, "MRN-2001").rows)
    with db.transaction() as session:
        actor = resolve_actor(session, clinician, Permission.RECORD_CLINICAL)
        for number in (1, 2):
            store_flag(
                session,
                actor,
                new_flag(
                    patient_id=ids["dorey"],
                    kind=FlagKind.POSSIBLE_FLARE,
                    entity="assessments",
                    entity_id=number,
                    message="test flag",
                    coded_message="test flag",
                ),
            )
    return ids


def names(page) -> list[str | None]:
    return [row.family_name or row.mrn for row in page.rows]


def test_search_by_name_mrn_and_research_id(db, clinician, clinic):
    assert names(search_patients(db, clinician, "do", sort="name", descending=False)) == [
        "Doe",
        "Dorey",
    ]
    assert names(search_patients(db, clinician, "  DOE ")) == ["Doe"]
    assert names(search_patients(db, clinician, "anna")) == ["Smith"]
    assert names(search_patients(db, clinician, "MRN-00", sort="mrn", descending=False)) == [
        "Doe",
        "Smith",
    ]
    assert names(search_patients(db, clinician, "MRN-0001")) == ["Doe"]
    assert names(search_patients(db, clinician, "0001")) == []  # an MRN matches by prefix only
    assert names(search_patients(db, clinician, "%")) == []  # a wildcard is only a character
    (doe,) = search_patients(db, clinician, "Doe").rows
    assert names(search_patients(db, clinician, doe.research_id[:6].lower())) != []
    assert names(search_patients(db, clinician, doe.research_id)) == ["Doe"]


def test_rows_carry_last_visit_current_pasi_change_and_alerts(db, clinician, clinic, program_id):
    page = search_patients(db, clinician)
    rows = {row.patient_id: row for row in page.rows}
    doe, smith, dorey, imported = (rows[clinic[k]] for k in ("doe", "smith", "dorey", "imported"))
    # Jane Doe: 20.0 → 10.0 on day 28 (2026-02-02), −50 %.
    assert (doe.last_visit, doe.current_pasi, doe.pchg) == (date(2026, 2, 2), "10.0", -50.0)
    assert (doe.mrn, doe.given_name, doe.status) == ("MRN-0001", "Jane", "active")
    # Anna Smith: 10.0 → 9.0 on day 56 (2026-03-02), −10 %.
    assert (smith.last_visit, smith.current_pasi, smith.pchg) == (date(2026, 3, 2), "9.0", -10.0)
    # The imported patient has a baseline only: no change yet.
    assert (imported.last_visit, imported.current_pasi, imported.pchg) == (DAY_ZERO, "30.0", None)
    assert (dorey.last_visit, dorey.current_pasi, dorey.open_alerts) == (None, None, 2)
    assert doe.open_alerts == 0
    assert {row.program for row in page.rows} == {"UC-MSC IV, 3 infusions 4 weeks apart"}
    assert {row.program_id for row in page.rows} == {program_id}
    assert page.summary().height == 4


def test_a_change_after_the_list_kept_its_value_shows_at_once(db, clinician, clinic):
    """The list keeps each change from baseline under the patient's revision, which the
    database raises on any change to the record: a deletion through the services and a score
    changed by hand in SQL both show on the next page."""

    def doe() -> tuple[str | None, float | None]:
        (row,) = search_patients(db, clinician, "MRN-0001").rows
        return row.current_pasi, row.pchg

    assert doe() == ("10.0", -50.0)  # derived and kept
    assert doe() == ("10.0", -50.0)  # kept
    with db.reading() as connection:
        week_4, baseline = connection.execute(
            text(
                "SELECT v.id, a.id FROM visits v JOIN assessments a ON a.patient_id = v.patient_id "
                "WHERE v.patient_id = :p AND v.label = 'W4' AND a.score = '20.0'"
            ),
            {"p": clinic["doe"]},
        ).one()
    with db.transaction() as session:  # by hand, as an operator might: 16.0 → 10.0 is −37.5 %
        session.execute(
            text("UPDATE assessments SET score = '16.0' WHERE id = :a"), {"a": baseline}
        )
    assert doe() == ("10.0", -37.5)
    delete_record(db, clinician, "visits", week_4, "entered in the wrong chart")
    assert doe() == ("16.0", None)  # the baseline is the latest PASI: no change yet


def test_each_part_of_a_kept_row_shows_its_change_at_once(db, clinician, clinic, program_id):
    """A list row is shown again while the patient's revision is the same: a name, a program's
    name and an acknowledged flag, each changed by hand in SQL, show on the next page."""

    def dorey() -> tuple[str | None, str | None, int]:
        (row,) = search_patients(db, clinician, "MRN-1002").rows
        return row.family_name, row.program, row.open_alerts

    assert dorey() == ("Dorey", "UC-MSC IV, 3 infusions 4 weeks apart", 2)  # read and kept
    assert dorey() == ("Dorey", "UC-MSC IV, 3 infusions 4 weeks apart", 2)  # kept
    patient, expected = {"p": clinic["dorey"]}, ["Dorée", "Renamed by hand", 1]
    changes = [
        ("UPDATE patient_identities SET family_name = 'Dorée' WHERE patient_id = :p", patient),
        ("UPDATE programs SET name = 'Renamed by hand' WHERE id = :p", {"p": program_id}),
        (
            "UPDATE safety_flags SET acknowledged_at = CURRENT_TIMESTAMP WHERE id = "
            "(SELECT min(id) FROM safety_flags WHERE patient_id = :p)",
            patient,
        ),
    ]
    shown = list(dorey())
    for number, (statement, values) in enumerate(changes):
        with db.transaction() as session:
            session.execute(text(statement), values)
        shown[number] = expected[number]
        assert dorey() == tuple(shown)


def test_sorting_and_paging(db, clinician, clinic):
    # Last visit, newest first, no visit last: Smith, Doe, the imported patient, Dorey.
    first = search_patients(db, clinician, page_size=2)
    second = search_patients(db, clinician, page=2, page_size=2)
    assert (names(first), names(second)) == (["Smith", "Doe"], ["MRN-2001", "Dorey"])
    assert (first.total, first.pages) == (4, 2)
    beyond = search_patients(db, clinician, page=3, page_size=2)
    assert (beyond.rows, beyond.total) == ((), 4)
    # The total rides on the page's rows; a page with none counts on its own (0 on page 1).
    assert search_patients(db, clinician, "Doe", page_size=1).total == 1
    assert search_patients(db, clinician, "Doe", page=2, page_size=1).total == 1
    assert search_patients(db, clinician, "Nobody").total == 0
    assert search_patients(db, clinician, "Nobody", page=2).total == 0
    ascending = search_patients(db, clinician, sort="pasi", descending=False)
    assert names(ascending) == ["Smith", "Doe", "MRN-2001", "Dorey"]  # 9.0, 10.0, 30.0, none
    descending = search_patients(db, clinician, sort="pasi")
    assert names(descending) == ["MRN-2001", "Doe", "Smith", "Dorey"]  # none stays last
    assert names(search_patients(db, clinician, sort="alerts"))[0] == "Dorey"


def test_status_and_program_filters(db, clinician, clinic, program_id):
    withdraw_patient(db, clinician, clinic["dorey"], "moved away")
    assert names(search_patients(db, clinician, status="withdrawn")) == ["Dorey"]
    assert len(search_patients(db, clinician, status="active").rows) == 3
    assert search_patients(db, clinician, program_id=program_id).total == 4
    with pytest.raises(ValidationError, match="program_id"):
        search_patients(db, clinician, program_id=program_id + 1)
    other = create_program(
        db,
        SYSTEM,
        {"name": "AD-MSC", "regimen": "AD-MSC IV", "product_source": "AD-MSC", "route": "IV"},
    )
    enroll_patient(db, clinician, patient_form(other, mrn="MRN-9001", family_name="Other"))
    (only,) = search_patients(db, clinician, program_id=other).rows
    assert (only.family_name, only.program, only.program_id) == ("Other", "AD-MSC", other)
    assert search_patients(db, clinician, program_id=program_id).total == 4
    assert search_patients(db, clinician).total == 5


def test_a_patient_is_listed_once_while_an_enrollment_of_theirs_is_live(
    db, clinician, clinic, program_id
):
    """Listed: a patient with a live enrollment (in the program, when filtered), once however
    many they have, with the status of the newest; a patient whose one enrollment is deleted is
    not listed, whatever the list is sorted or filtered by."""
    other = create_program(
        db,
        SYSTEM,
        {"name": "AD-MSC", "regimen": "AD-MSC IV", "product_source": "AD-MSC", "route": "IV"},
    )
    with db.transaction() as session:  # by hand: Doe enrolled again, later, in the other program
        session.execute(
            text(
                "INSERT INTO enrollments (patient_id, program_id, start_date, status, created_at) "
                "VALUES (:p, :o, :d, 'withdrawn', CURRENT_TIMESTAMP)"
            ),
            {"p": clinic["doe"], "o": other, "d": date(2026, 6, 1)},
        )
        session.execute(
            text("UPDATE enrollments SET deleted_at = CURRENT_TIMESTAMP WHERE patient_id = :p"),
            {"p": clinic["smith"]},
        )
    listed = ["Doe", "MRN-2001", "Dorey"]  # by last visit; Smith's one enrollment is deleted
    for sort in ("last_visit", "status", "research_id"):
        found = search_patients(db, clinician, sort=sort)
        assert sorted(names(found), key=listed.index) == listed
        assert found.total == 3
        assert {row.family_name: row.status for row in found.rows}["Doe"] == "withdrawn"
    assert names(search_patients(db, clinician, program_id=other)) == ["Doe"]
    assert names(search_patients(db, clinician, program_id=program_id)) == listed
    assert names(search_patients(db, clinician, status="withdrawn")) == ["Doe"]
    assert names(search_patients(db, clinician, program_id=program_id, status="withdrawn")) == []


def test_researchers_search_by_research_id_and_see_no_identifiers(db, actors, clinician, clinic):
    researcher = actors[Role.RESEARCHER]
    assert search_patients(db, researcher, "MRN-0001").rows == ()
    assert search_patients(db, researcher, "Doe").rows == ()
    everyone = search_patients(db, researcher)
    assert everyone.total == 4
    for row in everyone.rows:
        assert (row.patient_id, row.family_name, row.given_name, row.mrn, row.program) == (
            (None,) * 5
        )
    (doe,) = search_patients(db, clinician, "Doe").rows
    (found,) = search_patients(db, researcher, doe.research_id).rows
    assert (found.research_id, found.current_pasi, found.pchg) == (doe.research_id, "10.0", -50.0)
    text = str(everyone.summary().rows())
    assert not any(word in text for word in ("Doe", "Jane", "MRN-"))
    with pytest.raises(ValidationError, match="sort"):
        search_patients(db, researcher, sort="name")
    with pytest.raises(PermissionDenied):
        search_patients(db, actors[Role.PATIENT])


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"page": 0}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 201}, "page_size"),
        ({"query": "x" * 101}, "query"),
        ({"sort": "age"}, "sort"),
        ({"status": "dead"}, "status"),
        ({"descending": "yes"}, "descending"),
        ({"query": "a\x00b"}, "query"),
    ],
)
def test_bad_arguments_name_the_field(db, clinician, arguments, field):
    with pytest.raises(ValidationError) as error:
        search_patients(db, clinician, **arguments)
    assert [problem.field for problem in error.value.problems] == [field]
