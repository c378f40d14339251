"""The one line each instrument prints when it refuses an input: field, value and what is allowed.

Pinned word for word after the mutation run (docs/mutation.md) showed that a lost field name,
value or allowed range still passed every test that only matched part of the message.
"""

from decimal import Decimal

import pytest

from psotrack.errors import ValidationError
from psotrack.instruments.bsa import bsa
from psotrack.instruments.dlqi import DlqiInput, dlqi, dlqi_0_1, dlqi_band, dlqi_change
from psotrack.instruments.itch import itch_change, itch_nrs
from psotrack.instruments.napsi import NailScore, napsi
from psotrack.instruments.pasi import PasiInput, RegionScore, area_score, pasi
from psotrack.instruments.pssi import pssi
from psotrack.instruments.tpss import TpssInput, tpss


def refusal(call) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value


def test_dlqi_0_1_names_the_dlqi_field():
    error = refusal(lambda: dlqi_0_1(31))
    assert str(error) == "dlqi=31 is outside 0–30 (a DLQI total)"
    unanswered = dlqi(DlqiInput())  # ten blank items: not scored
    error = refusal(lambda: dlqi_0_1(unanswered))
    assert (error.field, error.value) == ("dlqi", "invalid DLQI")
    assert str(error).startswith("dlqi='invalid DLQI': an invalid DLQI has no total (")


def test_dlqi_band_and_change_lines():
    assert str(refusal(lambda: dlqi_band(31))) == "dlqi=31 is outside 0–30 (a DLQI total)"
    assert str(refusal(lambda: dlqi_change(31, -1))) == (
        "baseline_dlqi=31 is outside 0–30 (a DLQI total); "
        "follow_up_dlqi=-1 is outside 0–30 (a DLQI total)"
    )
    error = refusal(lambda: dlqi_change(dlqi(DlqiInput()), 3))
    assert (error.field, error.value, error.problems[0].kind) == (
        "baseline_dlqi",
        "invalid DLQI",
        "invalid",
    )
    assert error.problems[0].allowed.startswith("an invalid DLQI has no total (10 questions unan")


def test_napsi_lines():
    error = refusal(lambda: napsi([("R1", NailScore(1, 1))]))  # type: ignore[arg-type]
    assert str(error) == (
        "nails=[('R1', NailScore(matrix=1, bed=1))] is not a mapping of nail name → NailScore"
    )
    assert (error.field, error.problems[0].kind) == ("nails", "type")
    assert str(refusal(lambda: napsi({}))) == "nails is missing (score at least one nail)"
    error = refusal(lambda: napsi({"X9": NailScore(1, 1), "R1": NailScore(1, 1)}))
    assert str(error) == "nail='X9': R1–R5, L1–L5 (fingers) or RT1–RT5, LT1–LT5 (toes)"
    assert (error.field, error.problems[0].kind) == ("nail", "invalid")


def test_itch_nrs_says_what_the_scale_measures():
    assert (
        str(refusal(lambda: itch_nrs(11)))
        == "itch_nrs=11 is outside 0–10 (worst itch in the last 24 h)"
    )


def test_itch_change_names_which_rating_is_wrong():
    error = refusal(lambda: itch_change(11, -1))
    assert str(error) == (
        "baseline_itch_nrs=11 is outside 0–10 (an itch NRS rating); "
        "follow_up_itch_nrs=-1 is outside 0–10 (an itch NRS rating)"
    )


def test_pssi_and_tpss_refuse_anything_but_their_input_type():
    error = refusal(lambda: pssi((3, 2, 4, 3)))  # type: ignore[arg-type]
    assert str(error) == "pssi=(3, 2, 4, 3) is not a PssiInput"
    assert (error.field, error.value, error.problems[0].kind) == ("pssi", (3, 2, 4, 3), "type")
    error = refusal(lambda: tpss("knee"))  # type: ignore[arg-type]
    assert str(error) == "tpss='knee' is not a TpssInput"
    assert (error.field, error.value, error.problems[0].kind) == ("tpss", "knee", "type")


def test_tpss_lists_every_problem_of_a_plaque_in_one_line():
    error = refusal(lambda: tpss(TpssInput("  ", 5, 0, 0, diameter_mm=-1, area_cm2=-0.5)))
    assert str(error) == (
        "site='  ' is not a non-empty name of the plaque's site; "
        "erythema=5 is outside 0–4 (a grade of erythema); "
        "diameter_mm=-1 is outside 0–2000 (longest diameter in mm); "
        "area_cm2=-0.5 is outside 0–25000 (plaque area in cm²)"
    )
    assert [(p.field, p.kind) for p in error.problems] == [
        ("site", "type"),
        ("erythema", "range"),
        ("diameter_mm", "range"),
        ("area_cm2", "range"),
    ]


def test_tpss_accepts_a_plaque_smaller_than_one_square_centimetre():
    # a plaque 8 mm across covers π·0.4² ≈ 0.5 cm²: the lower bound of the area is 0, not 1
    assert tpss(TpssInput("knee", 1, 1, 0, area_cm2=0.5)).area_cm2 == Decimal("0.5")


def test_area_score_names_its_default_field():
    assert str(refusal(lambda: area_score(150))) == (
        "area_pct=150 is outside 0–100 (a percentage of the region)"
    )


def test_pasi_refuses_anything_but_its_input_types():
    error = refusal(lambda: pasi("x"))  # type: ignore[arg-type]
    assert str(error) == "pasi='x' is not a PasiInput"
    assert (error.field, error.value, error.problems[0].kind) == ("pasi", "x", "type")
    r = RegionScore(1, 1, 1, 1)
    error = refusal(lambda: pasi(PasiInput(head=3, upper_limbs=r, trunk=(1, 1), lower_limbs=r)))  # type: ignore[arg-type]
    assert str(error) == "head=3 is not a RegionScore; trunk=(1, 1) is not a RegionScore"
    assert [(p.field, p.value, p.kind) for p in error.problems] == [
        ("head", 3, "type"),
        ("trunk", (1, 1), "type"),
    ]


def test_napsi_lists_every_bad_nail_score():
    error = refusal(lambda: napsi({"R1": (1, 1), "L1": 3, "R2": NailScore(5, -1)}))  # type: ignore[dict-item]
    assert str(error) == (
        "R1=(1, 1) is not a NailScore(matrix, bed); L1=3 is not a NailScore(matrix, bed); "
        "R2_matrix=5 is outside 0–4 (quadrants with matrix signs); "
        "R2_bed=-1 is outside 0–4 (quadrants with bed signs)"
    )
    assert [(p.field, p.kind) for p in error.problems] == [
        ("R1", "type"),
        ("L1", "type"),
        ("R2_matrix", "range"),
        ("R2_bed", "range"),
    ]


def test_a_number_that_is_not_finite_is_named():
    error = refusal(lambda: bsa(float("nan")))
    assert str(error) == "bsa=nan is not a finite number 0–100 (a percentage of body surface)"
    assert error.problems[0].kind == "type"


def test_a_decimal_that_is_not_finite_is_named():
    error = refusal(lambda: bsa(Decimal("Infinity")))
    assert str(error) == "bsa=Infinity is not a finite number 0–100 (a percentage of body surface)"
    assert (error.value, error.problems[0].kind) == (Decimal("Infinity"), "type")
