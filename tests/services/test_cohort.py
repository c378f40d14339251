"""cohort_rates: responder rates from the store, with their rules named, hand-computed."""

from datetime import date

import polars as pl
import pytest

from psotrack.errors import PermissionDenied, ValidationError
from psotrack.services.cohort import cohort_rates
from psotrack.services.imports import import_assessments
from psotrack.store.vocabulary import Role


@pytest.fixture
def cohort(db, clinician, program_id) -> int:
    """Arm A: a (20.0 → 5.0, PASI 75 at W4), b (10.0 → 5.0, not), c (no baseline, 2.0 at W4);
    arm B: d (10.0 → 2.0, PASI 75), e (10.0, missed W4)."""
    frame = pl.DataFrame(
        {
            "patient_id": ["a", "a", "b", "b", "c", "d", "d", "e"],
            "arm": ["A", "A", "A", "A", "A", "B", "B", "B"],
            "visit": ["W0", "W4", "W0", "W4", "W4", "W0", "W4", "W0"],
            "day": [0, 28, 0, 28, 28, 0, 28, 0],
            "pasi": ["20.0", "5.0", "10.0", "5.0", "2.0", "10.0", "2.0", "10.0"],
        }
    )
    import_assessments(
        db, clinician, frame, program_id=program_id, day_zero=date(2026, 2, 2), source="t"
    )
    return program_id


def rows(result) -> list[tuple]:
    return result.rates.select("arm", "visit", "n", "responders").rows()


def test_nri_itt_by_arm(db, clinician, cohort):
    result = cohort_rates(db, clinician, cohort)
    # ITT + NRI: every patient of the arm; c (no baseline) and e (missed) are non-responders.
    assert rows(result) == [("A", "W4", 3, 1), ("B", "W4", 2, 1)]
    assert result.rates["ci"].unique().to_list() == ["exact"]
    # Clopper–Pearson 95 % for 1/2: 0.0126 – 0.9874.
    b = result.rates.filter(pl.col("arm") == "B").row(0, named=True)
    assert b["ci_low"] == pytest.approx(0.01257912, abs=1e-6)
    assert b["ci_high"] == pytest.approx(0.98742088, abs=1e-6)
    assert result.patients == 5
    assert "non-responder imputation" in result.title
    assert "every enrolled patient (ITT)" in result.title


def test_rules_change_the_denominators(db, clinician, cohort):
    observed = cohort_rates(db, clinician, cohort, missing="observed", denominator="evaluable")
    # Observed: e has no W4; evaluable: c has no baseline.
    assert rows(observed) == [("A", "W4", 2, 1), ("B", "W4", 1, 1)]
    assert observed.missing_text.startswith("observed cases")
    pooled = cohort_rates(db, clinician, cohort, threshold=50, by=None)
    # PASI 50 (ITT, NRI): a, b (exactly 50 %) and d of all five.
    assert rows(pooled) == [("all", "W4", 5, 3)]
    assert pooled.summary().equals(pooled.rates)


def test_a_researcher_may_call_it_and_a_patient_not(db, actors, cohort):
    assert rows(cohort_rates(db, actors[Role.RESEARCHER], cohort, by=None)) == [
        ("all", "day 28", 5, 2)
    ]
    with pytest.raises(PermissionDenied):
        cohort_rates(db, actors[Role.PATIENT], cohort)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"threshold": 0}, "threshold"),
        ({"missing": "bocf"}, "missing"),
        ({"denominator": "pp"}, "denominator"),
        ({"by": "sex"}, "by"),
        ({"program_id": 0}, "program_id"),
    ],
)
def test_bad_arguments_name_the_field(db, clinician, cohort, arguments, field):
    with pytest.raises(ValidationError) as error:
        cohort_rates(db, clinician, **{"program_id": cohort, **arguments})
    assert [problem.field for problem in error.value.problems] == [field]
