"""Scoring responses as entered: one JSON shape per instrument, strict, every problem named.

Known answers are hand-computed from each instrument's published formula (sources in the
instrument modules: Fredriksson 1978 for PASI, Finlay 1994 for DLQI, Rich 2003 for NAPSI, …).
"""

from decimal import Decimal

import pytest

from psotrack.errors import ValidationError
from psotrack.services.scoring import score_responses
from psotrack.store.vocabulary import Instrument

I = Instrument  # noqa: E741


def region(e, i, d, **area):
    return {"erythema": e, "induration": i, "desquamation": d, **area}


PASI_FORM = {
    # head 0.1 × (2+1+1) × 2 = 0.8; upper 0.2 × 7 × area(35 %) = 3 → 4.2;
    # trunk 0.3 × 2 × 1 = 0.6; lower 0.4 × 10 × area(90 %) = 6 → 24.0; total 29.6
    "head": region(2, 1, 1, area=2),
    "upper_limbs": region(3, 2, 2, area_pct=35),
    "trunk": region(1, 1, 0, area=1),
    "lower_limbs": region(4, 3, 3, area_pct=90),
}

DLQI_FORM = {
    # very much 3, a lot 2, a little 1, not at all 0, not relevant 0, a little 1,
    # Q7 "no, a lot" 2, very much 3, not at all 0, a little 1 → 13 (Finlay 1994 scoring)
    "q1": "very much",
    "q2": "a lot",
    "q3": "a little",
    "q4": "not at all",
    "q5": "not relevant",
    "q6": "a little",
    "q7": "no, a lot",
    "q8": "very much",
    "q9": "not at all",
    "q10": "a little",
}


@pytest.mark.parametrize(
    ("instrument", "responses", "score"),
    [
        (I.PASI, PASI_FORM, "29.6"),
        (I.BSA, {"percent": 12.5}, "12.5"),
        (I.BSA, {"handprints": 7, "unit": "palm"}, "3.5"),  # 7 × 0.5 %
        (I.BSA, {"handprints": 2.5, "unit": "hand"}, "2.5"),  # 2.5 × 1 %
        (I.PGA, {"grade": 3, "scale": 5}, "3"),
        (I.PGA, {"grade": 5, "scale": 6}, "5"),
        (I.DLQI, DLQI_FORM, "13"),
        # two boxes ticked on q3: the higher (very much, 3) replaces a little (1): 13 + 2
        (I.DLQI, {**DLQI_FORM, "q3": ["a little", "very much"]}, "15"),
        # one blank allowed, scored 0: q10 (a little, 1) left blank → 12
        (I.DLQI, {**DLQI_FORM, "q10": None}, "12"),
        (I.ITCH_NRS, {"score": 7}, "7"),
        (I.PSSI, region(3, 2, 4, area_pct=35), "27"),  # (3+2+4) × 3
        (I.PSSI, region(4, 4, 4, area=6), "72"),
        # R1 2+1, L3 0+4, RT1 4+4 → fingers 7, toes 8, total 15
        (
            I.NAPSI,
            {
                "nails": {
                    "R1": {"matrix": 2, "bed": 1},
                    "L3": {"matrix": 0, "bed": 4},
                    "RT1": {"matrix": 4, "bed": 4},
                }
            },
            "15",
        ),
        (
            I.TPSS,
            {"site": "left elbow", "erythema": 3, "induration": 2, "scaling": 2, "diameter_mm": 35},
            "7",
        ),
    ],
)
def test_each_instrument_scores_a_hand_computed_case(instrument, responses, score):
    scored = score_responses(instrument, responses)
    assert scored.score == score
    assert scored.score_value == float(Decimal(score))


def test_pasi_details_give_each_region_contribution():
    details = score_responses(I.PASI, PASI_FORM).details
    contributions = {row["region"]: row["contribution"] for row in details["summary"]}
    assert contributions == {
        "head": "0.8",
        "upper_limbs": "4.2",
        "trunk": "0.6",
        "lower_limbs": "24.0",
        "total": "29.6",
    }


def test_pasi_of_zero_and_of_maximum_keep_one_decimal():
    clear = {r: region(0, 0, 0, area=0) for r in PASI_FORM}
    worst = {r: region(4, 4, 4, area_pct=100) for r in PASI_FORM}
    assert score_responses(I.PASI, clear).score == "0.0"
    assert score_responses(I.PASI, worst).score == "72.0"


def test_dlqi_with_two_blanks_is_not_scored():
    scored = score_responses(I.DLQI, {**DLQI_FORM, "q4": None, "q9": None})
    assert (scored.score, scored.score_value) == (None, None)
    assert scored.details["valid"] is False
    assert scored.details["unanswered"] == [4, 9]


def test_dlqi_q7_no_with_blank_follow_up_scores_0_beside_one_blank():
    # The authors' instructions: Q7 "no" with the follow-up left blank scores 0 (not a blank).
    # DLQI_FORM is 13 with Q7 2 and Q10 1: Q7 → 0 and Q10 blank (0) leave 13 − 2 − 1 = 10.
    form = {**DLQI_FORM, "q7": "no, follow-up blank", "q10": None}
    scored = score_responses(I.DLQI, form)
    assert scored.score_value == 10 and scored.details["unanswered"] == [10]


def test_details_carry_bands_and_subtotals():
    assert score_responses(I.BSA, {"percent": 10.1}).details["severity"] == "severe"
    assert score_responses(I.PGA, {"grade": 1, "scale": 5}).details["grade_name"] == "almost clear"
    assert score_responses(I.DLQI, DLQI_FORM).details["band"] == "very large effect"
    nails = {"nails": {"R1": {"matrix": 2, "bed": 1}, "RT1": {"matrix": 4, "bed": 4}}}
    details = score_responses(I.NAPSI, nails).details
    assert (details["fingers_total"], details["toes_total"], details["maximum"]) == (3, 8, 16)


def problems_of(instrument, responses) -> dict[str, object]:
    with pytest.raises(ValidationError) as info:
        score_responses(instrument, responses)
    return {p.field: p.value for p in info.value.problems}


def test_pasi_lists_every_problem_with_the_instrument_names():
    form = {
        "head": region(True, "3", 5, area=2),
        "upper_limbs": region(1, 1, 1, area=7),
        "trunk": region(1, 1, 1, area=1, area_pct=5),
        "lower_limbs": {"erythema": 1, "induration": 1, "area_pct": 101, "colour": "red"},
        "neck": {},
    }
    assert problems_of(I.PASI, form) == {
        "responses.head_erythema": True,
        "responses.head_induration": "3",
        "responses.head_desquamation": 5,
        "responses.upper_limbs_area": 7,
        "responses.trunk_area_pct": 5,
        "responses.lower_limbs_desquamation": None,
        "responses.lower_limbs_area_pct": 101,
        "responses.lower_limbs.colour": "red",
        "responses.neck": {},
    }


def test_pasi_missing_or_malformed_regions():
    form = {"head": region(0, 0, 0, area=0), "trunk": [1, 2, 3], "upper_limbs": None}
    assert problems_of(I.PASI, form) == {
        "responses.trunk": [1, 2, 3],
        "responses.upper_limbs": None,
        "responses.lower_limbs": None,
    }


@pytest.mark.parametrize(
    ("instrument", "responses", "expected"),
    [
        (I.BSA, {"percent": "12"}, {"responses.percent": "12"}),
        (I.BSA, {"percent": 100.5}, {"responses.percent": 100.5}),
        (I.BSA, {"percent": float("nan")}, {"responses.percent": None}),  # value checked below
        (I.BSA, {"handprints": 7}, {"responses.unit": None}),
        (I.BSA, {"handprints": 7, "unit": "finger"}, {"responses.unit": "finger"}),
        (I.BSA, {"percent": 3, "unit": "hand"}, {"responses.percent": 3}),
        (I.BSA, {}, {"responses.percent": None}),
        (I.PGA, {"grade": 5, "scale": 5}, {"responses.grade": 5}),
        (I.PGA, {"grade": 2, "scale": "5"}, {"responses.scale": "5"}),
        (I.PGA, {"grade": True, "scale": True}, {"responses.grade": True, "responses.scale": True}),
        (I.PGA, {"grade": 2}, {"responses.scale": None}),
        (I.ITCH_NRS, {"score": 3.5}, {"responses.score": 3.5}),
        (
            I.ITCH_NRS,
            {"score": 11, "when": "today"},
            {"responses.score": 11, "responses.when": "today"},
        ),
        (I.PSSI, region(5, 0, 0), {"responses.scalp_erythema": 5, "responses.scalp_area": None}),
        (I.PSSI, region(1, 1, 1, area_pct=-1), {"responses.scalp_area_pct": -1}),
        (
            I.TPSS,
            {"site": " ", "erythema": 5, "induration": 0},
            {"responses.site": " ", "responses.erythema": 5, "responses.scaling": None},
        ),
        (
            I.TPSS,
            {"site": "knee", "erythema": 1, "induration": 1, "scaling": 1, "diameter_mm": -3},
            {"responses.diameter_mm": -3},
        ),
        (
            I.NAPSI,
            {"nails": {"R1": {"matrix": 5, "bed": "1"}, "X9": {"matrix": 0, "bed": 0}}},
            {"responses.R1_matrix": 5, "responses.R1_bed": "1", "responses.nail": "X9"},
        ),
        (
            I.NAPSI,
            {"nails": {"L2": 3, "L1": {"matrix": 1, "spots": 2}}},
            {"responses.nails.L2": 3, "responses.L1_bed": None, "responses.nails.L1.spots": 2},
        ),
        (I.NAPSI, {"nails": {}}, {"responses.nails": None}),
        (I.NAPSI, {"nails": [1]}, {"responses.nails": [1]}),
    ],
)
def test_bad_responses_name_each_field(instrument, responses, expected):
    found = problems_of(instrument, responses)
    assert set(found) == set(expected)
    for field, value in expected.items():
        if value is not None:
            assert found[field] == value


def test_dlqi_refuses_unknown_text_numbers_and_missing_keys():
    form = {**DLQI_FORM, "q2": "sometimes", "q3": 2, "q1": "not relevant", "q11": "a lot"}
    del form["q10"]
    found = problems_of(I.DLQI, form)
    assert set(found) == {
        "responses.q1",  # "not relevant" is not offered for questions 1 and 2
        "responses.q2",
        "responses.q3",
        "responses.q10",
        "responses.q11",
    }


def test_dlqi_q7_takes_only_its_own_answers():
    found = problems_of(I.DLQI, {**DLQI_FORM, "q7": "a lot", "q8": "no, a lot"})
    assert set(found) == {"responses.q7", "responses.q8"}


def test_responses_must_be_an_object():
    with pytest.raises(ValidationError) as info:
        score_responses(I.ITCH_NRS, [7])  # type: ignore[arg-type]
    assert info.value.field == "responses"


def test_problem_texts_read_well():
    with pytest.raises(ValidationError) as info:
        score_responses(I.PASI, {**PASI_FORM, "trunk": region(1, 1, 1, area=7)})
    assert str(info.value) == "responses.trunk_area=7 is outside 0–6 (an area score)"
