"""The summary tables every instrument hands to the CLI and stores with a scored assessment.

Each table is pinned cell by cell for one hand-computed case: the mutation run (docs/mutation.md)
showed that a renamed column, a dropped row or a wrong subtotal went unnoticed, while the table
is what a clinician reads and what ``services/scoring.py`` stores in the record.
"""

from psotrack.instruments.bsa import bsa, bsa_from_handprints
from psotrack.instruments.dlqi import DlqiAnswer, DlqiInput, Q7Answer, dlqi
from psotrack.instruments.itch import itch_change
from psotrack.instruments.napsi import NailScore, napsi
from psotrack.instruments.pasi import PasiInput, RegionScore, pasi
from psotrack.instruments.pga import PgaScale, pga, pga_x_bsa
from psotrack.instruments.pssi import PssiInput, pssi
from psotrack.instruments.severity import BSA_NPF_AAD, PASI_BANDS_10_20, classify_severity
from psotrack.instruments.tpss import TpssInput, tpss

A = DlqiAnswer
VM, AL, LI, NO, NR = A.VERY_MUCH, A.A_LOT, A.A_LITTLE, A.NOT_AT_ALL, A.NOT_RELEVANT


def test_pasi_table_has_one_row_per_region_and_the_total():
    # head 0.1·(1+1+0)·1 = 0.2; upper 0.2·(2+2+1)·2 = 2.0; trunk 0.3·(3+2+2)·3 = 6.3;
    # lower 0.4·(2+1+1)·4 = 6.4; total 14.9 (area scores as given)
    result = pasi(
        PasiInput(
            head=RegionScore(1, 1, 0, 1),
            upper_limbs=RegionScore(2, 2, 1, 2),
            trunk=RegionScore(3, 2, 2, 3),
            lower_limbs=RegionScore(2, 1, 1, 4),
        )
    )
    blank = {"weight": "", "e_i_d": "", "area": ""}
    assert result.summary() == [
        {"region": "head", "weight": "0.1", "e_i_d": 2, "area": 1, "contribution": "0.2"},
        {"region": "upper_limbs", "weight": "0.2", "e_i_d": 5, "area": 2, "contribution": "2.0"},
        {"region": "trunk", "weight": "0.3", "e_i_d": 7, "area": 3, "contribution": "6.3"},
        {"region": "lower_limbs", "weight": "0.4", "e_i_d": 4, "area": 4, "contribution": "6.4"},
        {"region": "total", **blank, "contribution": "14.9"},
    ]


def test_napsi_table_has_nails_in_anatomical_order_then_subtotals():
    # R1 2+1 = 3, L3 0+4 = 4 → 2 fingernails 7; RT1 4+4 = 8 → 1 toenail 8; total 15 of 3 × 8 = 24
    result = napsi({"L3": NailScore(0, 4), "RT1": NailScore(4, 4), "R1": NailScore(2, 1)})
    empty = {"matrix": "", "bed": ""}
    assert result.summary() == [
        {"nail": "R1", "name": "right thumb", "matrix": 2, "bed": 1, "total": 3},
        {"nail": "L3", "name": "left middle finger", "matrix": 0, "bed": 4, "total": 4},
        {"nail": "RT1", "name": "right great toe", "matrix": 4, "bed": 4, "total": 8},
        {"nail": "fingers", "name": "2 fingernails", **empty, "total": 7},
        {"nail": "toes", "name": "1 toenail", **empty, "total": 8},
        {"nail": "total", "name": "0–24", **empty, "total": 15},
    ]


def test_napsi_table_without_toenails_has_no_toe_row_and_singular_names():
    # one fingernail L3 0+4 = 4 of 8; two toenails 1+1 and 2+0 → "2 toenails", "1 fingernail"
    fingers_only = napsi({"L3": NailScore(0, 4)}).summary()
    assert [row["nail"] for row in fingers_only] == ["L3", "fingers", "total"]
    assert fingers_only[1]["name"] == "1 fingernail"
    assert fingers_only[2] == {"nail": "total", "name": "0–8", "matrix": "", "bed": "", "total": 4}
    toes = napsi({"R1": NailScore(1, 1), "LT1": NailScore(2, 0), "RT2": NailScore(0, 1)})
    rows = {row["nail"]: row for row in toes.summary()}
    assert (rows["fingers"]["name"], rows["fingers"]["total"]) == ("1 fingernail", 2)
    assert (rows["toes"]["name"], rows["toes"]["total"]) == ("2 toenails", 3)
    assert rows["total"]["total"] == 5


def test_pssi_and_tpss_tables():
    # PSSI (3 + 2 + 4) × 3 = 27; TPSS 3 + 2 + 2 = 7 with its size kept as typed
    assert pssi(PssiInput(3, 2, 4, 3)).summary() == [
        {"erythema": 3, "induration": 2, "desquamation": 4, "e_i_d": 9, "area": 3, "pssi": 27}
    ]
    plaque = tpss(TpssInput(" left elbow ", 3, 2, 2, diameter_mm=35, area_cm2=9.6))
    assert plaque.summary() == [
        {
            "site": "left elbow",
            "erythema": 3,
            "induration": 2,
            "scaling": 2,
            "tpss": 7,
            "diameter_mm": "35",
            "area_cm2": "9.6",
        }
    ]
    unsized = tpss(TpssInput("knee", 1, 0, 0)).summary()[0]
    assert (unsized["tpss"], unsized["diameter_mm"], unsized["area_cm2"]) == (1, "", "")


def test_dlqi_table_has_ten_items_and_the_banded_total():
    # 3+2+1+0+0 (not relevant) +1 + Q7 "no, a lot" 2 + 3+0+1 = 13 → very large effect (11–20)
    result = dlqi(DlqiInput(VM, AL, LI, NO, NR, LI, Q7Answer.NO_A_LOT, VM, NO, LI))
    rows = result.summary()
    assert len(rows) == 11
    assert rows[0] == {
        "item": 1,
        "label": "skin symptoms",
        "answer": "very much",
        "points": 3,
        "note": "",
    }
    assert rows[4] == {
        "item": 5,
        "label": "social and leisure",
        "answer": "not relevant",
        "points": 0,
        "note": "not relevant: scored 0",
    }
    assert rows[6]["answer"] == "no, a lot" and rows[6]["points"] == 2
    assert [row["points"] for row in rows[:10]] == [3, 2, 1, 0, 0, 1, 2, 3, 0, 1]
    assert rows[10] == {
        "item": "total",
        "label": "DLQI 0–30",
        "answer": "",
        "points": 13,
        "note": "very large effect",
    }


def test_dlqi_table_of_an_unscored_form_says_why():
    # three blank items: more than the one blank the scoring rules allow → no total
    result = dlqi(DlqiInput(q1=VM, q2=AL, q3=LI, q4=NO, q5=NO, q6=NO, q7=Q7Answer.NO_NOT_AT_ALL))
    rows = result.summary()
    assert not result.valid
    assert [row["points"] for row in rows[7:10]] == ["", "", ""]
    assert rows[10]["points"] == ""
    assert rows[10]["note"] == f"invalid: {result.invalid_reason}"
    assert result.invalid_reason  # the reason itself is pinned in test_dlqi.py


def test_bsa_table_says_how_it_was_measured():
    # 12.5 % typed → severe (> 10); 7 palms × 0.5 % = 3.5 % → moderate (3–10)
    assert bsa(12.5).summary() == [
        {
            "bsa_percent": "12.5",
            "measured_as": "percent",
            "severity": "severe",
            "rule": BSA_NPF_AAD.name,
        }
    ]
    assert bsa_from_handprints(7, unit="palm").summary() == [
        {
            "bsa_percent": "3.5",
            "measured_as": "7 × palm",
            "severity": "moderate",
            "rule": BSA_NPF_AAD.name,
        }
    ]


def test_pga_tables():
    # PGA 3 on the 5-point scale is "moderate"; PGA × BSA = 3 × 12.5 = 37.5 of 4 × 100 = 400
    grade = pga(3, PgaScale.FIVE_POINT)
    assert grade.summary() == [{"pga": 3, "grade": "moderate", "scale": "5-point PGA (0–4)"}]
    product = pga_x_bsa(grade, 12.5)
    assert product.summary() == [
        {
            "pga": 3,
            "bsa_percent": "12.5",
            "pga_x_bsa": "37.5",
            "range": "0–400",
            "scale": "5-point PGA (0–4)",
        }
    ]


def test_itch_table():
    # 8 → 4: reduction 4, meaningful (≥ 4), and a baseline of 8 allows a 4-point response
    assert itch_change(8, 4).summary() == [
        {
            "baseline": 8,
            "follow_up": 4,
            "reduction": 4,
            "meaningful_reduction": True,
            "baseline_allows_response": True,
        }
    ]
    # 3 → 0: reduction 3 is not meaningful and a baseline below 4 cannot allow it
    low = itch_change(3, 0).summary()[0]
    assert (low["reduction"], low["meaningful_reduction"], low["baseline_allows_response"]) == (
        3,
        False,
        False,
    )


def test_severity_table_has_one_row_per_rule_with_its_reason():
    # PASI 12 > 10 → rule of tens severe; PASI 12 in 10–20 → moderate; BSA 2.9 < 3 → mild
    rows = classify_severity(pasi=12, bsa=2.9, dlqi=3).summary()
    assert rows == [
        {"rule": "rule of tens (Finlay 2005)", "category": "severe", "reason": "PASI 12 > 10"},
        {
            "rule": PASI_BANDS_10_20.name,
            "category": "moderate",
            "reason": "PASI 12 → moderate (mild: < 10; moderate: ≤ 20; severe: above 20)",
        },
        {
            "rule": BSA_NPF_AAD.name,
            "category": "mild",
            "reason": "BSA 2.9 → mild (mild: < 3; moderate: ≤ 10; severe: above 10)",
        },
    ]
