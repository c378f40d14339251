"""What the entry forms offer: the patient's live visits and doses (newest first), the programs."""

from datetime import date

import pytest

from psotrack.errors import NotFound, PermissionDenied
from psotrack.services.administrations import cells_per_kg, log_administration
from psotrack.services.corrections import delete_record
from psotrack.services.entry_choices import entry_choices, program_choices
from psotrack.store.vocabulary import Role
from tests.services.conftest import add_visit, administration_form


def test_visits_and_doses_newest_first_deleted_ones_left_out(db, clinician, patient_id):
    first = add_visit(db, clinician, patient_id, date(2026, 1, 5), "W0")
    second = add_visit(db, clinician, patient_id, date(2026, 2, 2), "W4", "treatment")
    gone = add_visit(db, clinician, patient_id, date(2026, 3, 2), "W8", "treatment")
    delete_record(db, clinician, "visits", gone, "entered twice")
    dose = log_administration(db, clinician, administration_form(patient_id))
    choices = entry_choices(db, clinician, patient_id)
    assert [v.id for v in choices.visits] == [second, first]
    assert (choices.visits[0].label, choices.visits[0].visit_type) == ("W4", "treatment")
    assert [a.id for a in choices.administrations] == [dose]
    assert (choices.name, choices.mrn) == ("Doe, Jane", "MRN-0001")
    assert choices.research_id.startswith("PT-")


def test_only_roles_that_read_identified_records_get_the_choices(db, actors, patient_id):
    with pytest.raises(PermissionDenied):
        entry_choices(db, actors[Role.RESEARCHER], patient_id)
    with pytest.raises(NotFound):
        entry_choices(db, actors[Role.CLINICIAN], 999)


def test_programs_by_name_for_enrolling_roles(db, actors, program_id):
    (program,) = program_choices(db, actors[Role.COORDINATOR])
    assert (program.id, program.product_source, program.route) == (program_id, "UC-MSC", "IV")
    with pytest.raises(PermissionDenied):
        program_choices(db, actors[Role.RESEARCHER])


def test_cells_per_kg_is_total_over_weight_exactly():
    # 105 000 000 cells / 70 kg = 1 500 000 cells/kg; 1e8 / 62.5 = 1.6e6.
    assert cells_per_kg(105_000_000, 70.0) == 1_500_000.0
    assert cells_per_kg(100_000_000, 62.5) == 1_600_000.0
