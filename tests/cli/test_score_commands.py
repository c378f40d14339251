"""`psotrack score bsa|pga|dlqi|pssi|napsi|itch|tpss|severity`: JSON answers and exit code 2."""

import json

import pytest

from psotrack.cli import main


def run_json(capsys, *args):
    code = main(["score", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_bsa_percent_and_handprints(capsys):
    out = run_json(capsys, "bsa", "--percent", "10.1")
    assert (out["percent"], out["severity"]) == ("10.1", "severe")
    assert "NPF/AAD" in out["rule"]
    # hand computed: 6 palms × 0.5 % = 3.0 % → moderate
    out = run_json(capsys, "bsa", "--handprints", "6", "--unit", "palm")
    assert (out["percent"], out["severity"], out["unit"]) == ("3.0", "moderate", "palm")


def test_bsa_table_output(capsys):
    assert main(["score", "bsa", "--percent", "2.9"]) == 0
    assert "mild" in capsys.readouterr().out


def test_pga_success_and_composite(capsys):
    # hand computed: PGA 1 from baseline 3 = 2 grades better → success; 1 × 12.5 = 12.5
    out = run_json(
        capsys,
        "pga",
        "--value",
        "1",
        "--scale",
        "5",
        "--baseline",
        "3",
        "--require-two-grade-improvement",
        "--bsa",
        "12.5",
    )
    assert out["grade"] == "almost clear" and out["pga_0_1_success"] is True
    assert (out["pga_x_bsa"], out["pga_x_bsa_range"]) == ("12.5", "0–400")
    out = run_json(capsys, "pga", "--value", "5", "--scale", "6")
    assert out["grade"] == "very severe" and out["pga_0_1_success"] is False


def test_dlqi_compact_syntax(capsys):
    # hand computed: 3+2+1+0+0(nr)+1 + Q7 no/a lot 2 + 0 + blank(0) + 1 = 10 → moderate effect
    out = run_json(capsys, "dlqi", "--answers", "3,2,1,0,nr,1,no:2,0,,1")
    assert (out["total"], out["band"], out["unanswered"]) == (10, "moderate effect", [9])
    assert out["items"]["7"] == 2 and out["items"]["9"] is None
    assert out["subscales"]["work and school"] == 2
    assert "Finlay" in out["copyright"]


def test_dlqi_two_ticks_and_yes(capsys):
    # hand computed: q1 1+2 → 2, q7 yes → 3, rest 0 → 5
    out = run_json(capsys, "dlqi", "--answers", "1+2,0,0,0,0,0,yes,0,0,0")
    assert out["total"] == 5 and out["items"]["1"] == 2


def test_dlqi_two_blanks_not_scored_exit_0(capsys):
    out = run_json(capsys, "dlqi", "--answers", "3,,1,0,0,1,no:1,0,,1")
    assert out["valid"] is False and out["total"] is None
    assert "Q2, Q9" in out["invalid_reason"]


def test_dlqi_q7_no_with_blank_follow_up_scores_0(capsys):
    # The authors' instructions: Q7 "no" with the follow-up blank scores 0, not a blank item;
    # hand computed: 3 + blank Q2 (0) + 1 + 0 + 0 + 1 + Q7 0 + 0 + 1 + 1 = 7 → moderate effect
    out = run_json(capsys, "dlqi", "--answers", "3,,1,0,0,1,no,0,1,1")
    assert (out["valid"], out["total"], out["unanswered"]) == (True, 7, [2])
    assert out["items"]["7"] == 0


def test_dlqi_table_prints_copyright(capsys):
    assert main(["score", "dlqi", "--answers", "0,0,0,0,0,0,no:0,0,0,0"]) == 0
    out = capsys.readouterr().out
    assert "no effect" in out and "© Dermatology Life Quality Index" in out


def test_pssi_from_percent(capsys):
    # hand computed: (3+2+4) × area score 3 (35 %) = 27
    out = run_json(capsys, "pssi", "--signs", "3,2,4", "--area-pct", "35")
    assert (out["area"], out["pssi"]) == (3, 27)
    assert run_json(capsys, "pssi", "--signs", "4,4,4", "--area", "6")["pssi"] == 72


def test_napsi_named_nails(capsys):
    # hand computed: R1 2+1, L3 0+4 → fingers 7; LT5 1+1 → toes 2; total 9
    out = run_json(capsys, "napsi", "--nail", "R1=2,1", "--nail", "L3=0,4", "--nail", "lt5=1,1")
    assert (out["fingers_total"], out["toes_total"], out["total"]) == (7, 2, 9)
    assert out["nails_scored"] == ["R1", "L3", "LT5"] and out["maximum"] == 24


def test_itch_with_baseline(capsys):
    out = run_json(capsys, "itch", "--value", "4", "--baseline", "8")
    assert (out["itch_nrs"], out["reduction"], out["meaningful_reduction"]) == (4, 4, True)


def test_tpss(capsys):
    out = run_json(capsys, "tpss", "--site", "left elbow", "--signs", "3,2,2", "--area-cm2", "9.6")
    assert (out["tpss"], out["site"], out["area_cm2"], out["diameter_mm"]) == (
        7,
        "left elbow",
        "9.6",
        None,
    )


def test_severity_rules_named(capsys):
    out = run_json(capsys, "severity", "--pasi", "12", "--bsa", "8", "--dlqi", "4")
    categories = [(r["rule"].split()[0], r["category"]) for r in out["results"]]
    assert categories == [("rule", "severe"), ("PASI", "moderate"), ("BSA", "moderate")]
    out = run_json(capsys, "severity", "--pasi", "10", "--pasi-rule", "single-cut-10")
    assert [r["category"] for r in out["results"]] == ["undetermined", "mild"]


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (["bsa", "--percent", "100.5"], ["bsa=100.5 is outside 0–100"]),
        (["bsa", "--percent", "abc"], ["bsa='abc' is not a number"]),
        (["bsa", "--percent", "nan"], ["bsa='nan' is not a number"]),
        (["bsa", "--handprints", "201", "--unit", "palm"], ["handprints=201 is outside 0–200"]),
        (["bsa", "--handprints", "3", "--unit", "foot"], ["unit='foot'"]),
        (["bsa"], ["--percent/--handprints is missing"]),
        (["pga", "--value", "5", "--scale", "5"], ["pga=5 is outside 0–4"]),
        (["pga", "--value", "2", "--scale", "7"], ["--scale='7'"]),
        (
            ["pga", "--value", "1", "--scale", "5", "--require-two-grade-improvement"],
            ["baseline_pga is missing"],
        ),
        (["dlqi", "--answers", "3,2,1,0,nr,1,2,0,,x"], ["q7='2'", "q10='x'"]),
        (["dlqi", "--answers", "nr,0,0,0,0,0,yes,0,0,0"], ["q1='not relevant'"]),
        (["dlqi", "--answers", "3,2"], ["10 comma-separated answers"]),
        (["dlqi", "--answers", "1+2+3,0,0,0,0,0,yes,0,0,0"], ["q1='1+2+3'"]),
        (["pssi", "--signs", "1,1,1", "--area", "7"], ["scalp_area=7 is outside 0–6"]),
        (["pssi", "--signs", "1,x,5", "--area", "2"], ["scalp_induration='x' is not an integer"]),
        (
            ["napsi", "--nail", "R9=1,1", "--nail", "R1=5,1", "--nail", "L1=1"],
            ["nail='R9'", "R1_matrix=5 is outside 0–4", "--nail='1'"],
        ),
        (["napsi", "--nail", "R1=1,1", "--nail", "r1=0,0"], ["each nail once"]),
        (["itch", "--value", "3.5"], ["itch_nrs='3.5' is not an integer"]),
        (["itch", "--value", "11"], ["itch_nrs=11 is outside 0–10"]),
        (["tpss", "--site", " ", "--signs", "5,1,1"], ["site=' '", "erythema=5 is outside 0–4"]),
        (["severity", "--pasi", "80", "--dlqi", "3.5"], ["pasi=80 is outside 0–72", "dlqi='3.5'"]),
        (["severity"], ["give at least one"]),
    ],
)
def test_bad_input_exits_2_naming_the_field(capsys, args, messages):
    assert main(["score", *args]) == 2
    err = capsys.readouterr().err
    for message in messages:
        assert message in err
