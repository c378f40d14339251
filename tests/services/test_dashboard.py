"""services.dashboard on a database with no patient: empty parts, never an error."""

from psotrack.evidence import load_published_table
from psotrack.services.dashboard import cohort_dashboard
from psotrack.store.vocabulary import Role


def test_an_empty_program_gives_an_empty_dashboard_with_the_published_table(db, actors):
    dashboard = cohort_dashboard(db, actors[Role.RESEARCHER])
    assert (dashboard.patients, dashboard.synthetic_label) == (0, "")
    assert dashboard.waterfall.height == 0 and dashboard.not_evaluable == 0
    assert dashboard.adverse_events["events"].to_list() == [0, 0, 0, 0, 0]
    assert dashboard.biomarkers == ()
    assert dashboard.evidence.rows.height == len(load_published_table().rows)
