"""The `psotrack score pasi` command: totals, JSON, and exit code 2 with every problem listed."""

import json

from psotrack.cli import main


def test_pasi_json_total_and_regions(capsys):
    # Hand computed: each region E+I+D = 5, area 2 → 0.1·10 + 0.2·10 + 0.3·10 + 0.4·10 = 10.0
    code = main(
        ["score", "pasi", "--head", "2,2,1,2", "--upper-limbs", "2,2,1,2"]
        + ["--trunk", "2,2,1,2", "--lower-limbs", "2,2,1,2", "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == "10.0"
    assert out["regions"]["trunk"]["contribution"] == "3.0"


def test_pasi_bad_values_exit_2_and_name_each_field(capsys):
    code = main(
        ["score", "pasi", "--head", "2,2,1,2", "--upper-limbs", "2,2,1,2"]
        + ["--trunk", "2,2,1,7", "--lower-limbs", "2,x,1,2"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "trunk_area=7 is outside 0–6" in err
    assert "lower_limbs_induration='x' is not an integer" in err


def test_pasi_missing_region_exit_2(capsys):
    assert main(["score", "pasi", "--head", "1,1,1,1"]) == 2
    assert "--trunk is missing" in capsys.readouterr().err
