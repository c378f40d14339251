"""PGA 0/1 success: every field of the record it returns, and its refusal lines.

Pinned after the mutation run (docs/mutation.md). Rule (reference instruments.md): success is
PGA 0 or 1; with the optional rule also ≥ 2 grades better than baseline.
"""

import pytest

from psotrack.errors import ValidationError
from psotrack.instruments.pga import PgaScale, PgaSuccess, pga, pga_success, pga_x_bsa

FIVE, SIX = PgaScale.FIVE_POINT, PgaScale.SIX_POINT


def test_success_record_keeps_every_input_and_the_improvement():
    # PGA 3 → 1: clear or almost clear, 3 − 1 = 2 grades better → success under the two-grade rule
    value, baseline = pga(1, FIVE), pga(3, FIVE)
    result = pga_success(value, baseline, require_two_grade_improvement=True)
    assert result == PgaSuccess(
        success=True,
        clear_or_almost_clear=True,
        value=value,
        baseline=baseline,
        improvement=2,
        required_two_grade_improvement=True,
    )


def test_record_without_a_baseline():
    # PGA 2 is not 0/1: no success, no improvement to report
    result = pga_success(pga(2, FIVE))
    assert (result.success, result.clear_or_almost_clear) == (False, False)
    assert (result.baseline, result.improvement, result.required_two_grade_improvement) == (
        None,
        None,
        False,
    )


def refusal(call) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value


def test_every_wrong_argument_is_named_in_one_line():
    error = refusal(lambda: pga_success(3, 2, require_two_grade_improvement="yes"))  # type: ignore[arg-type]
    assert str(error) == (
        "pga=3 is not a PgaResult (use pga(grade, scale)); "
        "baseline_pga=2 is not a PgaResult (use pga(grade, scale)); "
        "require_two_grade_improvement='yes' is not True or False"
    )
    assert [(p.field, p.kind) for p in error.problems] == [
        ("pga", "type"),
        ("baseline_pga", "type"),
        ("require_two_grade_improvement", "type"),
    ]


def test_missing_baseline_and_other_scale_lines():
    error = refusal(lambda: pga_success(pga(1, FIVE), require_two_grade_improvement=True))
    assert str(error) == "baseline_pga is missing (needed for the ≥ 2-grade improvement)"
    assert error.problems[0].kind == "missing"
    error = refusal(lambda: pga_success(pga(1, FIVE), pga(3, SIX)))
    assert str(error) == (
        "baseline_pga='3 (moderate) on the 6-point PGA (0–5)': "
        "a grade on the same 5-point PGA (0–4)"
    )
    assert (error.field, error.problems[0].kind) == ("baseline_pga", "invalid")


def test_grade_and_pga_x_bsa_lines():
    assert str(refusal(lambda: pga(5, FIVE))) == "pga=5 is outside 0–4 (a 5-point PGA (0–4) grade)"
    error = refusal(lambda: pga_x_bsa(3, 101))  # type: ignore[arg-type]
    assert str(error) == (
        "pga=3 is not a PgaResult (use pga(grade, scale)); "
        "bsa=101 is outside 0–100 (a percentage of body surface)"
    )
    assert [(p.field, p.value, p.kind) for p in error.problems] == [
        ("pga", 3, "type"),
        ("bsa", 101, "range"),
    ]
