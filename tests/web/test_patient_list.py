"""The patient list page: each row shows the patient's values as they are now, escaped."""

from __future__ import annotations

from markupsafe import escape
from sqlalchemy import text

from psotrack.store.vocabulary import Role
from tests.web.conftest import OWN_MRN, OWN_NAME


def _row_of(page: str, mrn: str) -> str:
    """The ``<tr>`` of the list that shows ``mrn``."""
    (row,) = [part for part in page.split("<tr>") if f"<td>{mrn}</td>" in part]
    return row.split("</tr>", 1)[0]


def _set(db, patient_id: int, family_name: str, status: str) -> None:
    """The patient's family name and enrollment status changed by hand in SQL (no service told)."""
    with db.transaction() as session:
        session.execute(
            text("UPDATE patient_identities SET family_name = :n WHERE patient_id = :p"),
            {"n": family_name, "p": patient_id},
        )
        session.execute(
            text("UPDATE enrollments SET status = :s WHERE patient_id = :p"),
            {"s": status, "p": patient_id},
        )


def test_a_row_shows_the_patients_values_as_they_are_now(db, own_patient, client_for) -> None:
    """The row as first shown; then, after the name and the enrollment's status change by hand
    in SQL (no service told), the next page shows the new values; and back again."""
    client = client_for(Role.CLINICIAN)
    family, given = OWN_NAME
    first = _row_of(client.get("/patients").text, OWN_MRN)
    assert f'<a href="/patients/{own_patient}">{family}, {given}</a>' in first
    assert "<td>active</td>" in first
    marked_up = "<b>Doe & Co</b>"
    _set(db, own_patient, marked_up, "withdrawn")
    changed = _row_of(client.get("/patients").text, OWN_MRN)
    assert f">{escape(marked_up)}, {given}</a>" in changed  # escaped, not markup
    assert "<b>" not in changed and "<td>withdrawn</td>" in changed
    _set(db, own_patient, family, "active")
    assert _row_of(client.get("/patients").text, OWN_MRN) == first
