"""`psotrack score pasi --input --output`: pass-through columns, exact totals, all or nothing."""

import csv
from pathlib import Path

from psotrack.cli import main
from psotrack.instruments.pasi import REGIONS

SIGNS = ("erythema", "induration", "desquamation")


def header(area_pct_regions: tuple[str, ...] = ()) -> list[str]:
    names = ["patient"]
    for region in REGIONS:
        names += [f"{region}_{s}" for s in SIGNS]
        names.append(f"{region}_area_pct" if region in area_pct_regions else f"{region}_area")
    return [*names, "comment"]


def write(path: Path, rows: list[list[str]], names: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows(rows)
    return path


def row(patient: str, regions: list[str], comment: str = "") -> list[str]:
    return [patient, *",".join(regions).split(","), comment]


def test_scores_rows_and_passes_other_columns_through(tmp_path, capsys):
    names = header(area_pct_regions=("trunk",))
    source = write(
        tmp_path / "in.csv",
        [
            # head 0.1·2·1=0.2; upper 0.2·5·2=2.0; trunk 29.9 % → 2: 0.3·7·2=4.2; lower 0.4·4·4=6.4
            row("P-001", ["1,1,0,1", "2,2,1,2", "3,2,2,29.9", "2,1,1,4"], "first, with comma"),
            # trunk exactly 30 % → area 3: 0.3·1·3 = 0.9
            row("P-002", ["0,0,0,0", "0,0,0,0", "1,0,0,30", "0,0,0,0"], ""),
            row("P-003", ["4,4,4,6", "4,4,4,6", "4,4,4,100", "4,4,4,6"], "maximum"),
        ],
        names,
    )
    target = tmp_path / "out.csv"
    assert main(["score", "pasi", "--input", str(source), "--output", str(target)]) == 0
    with target.open() as handle:
        out = list(csv.DictReader(handle))
    assert list(out[0]) == [*names, "pasi"]
    assert [r["pasi"] for r in out] == ["12.8", "0.9", "72.0"]
    assert out[0]["comment"] == "first, with comma"
    assert out[0]["trunk_area_pct"] == "29.9"


def test_any_bad_row_writes_nothing_and_lists_every_row_and_field(tmp_path, capsys):
    names = header(area_pct_regions=("head",))
    source = write(
        tmp_path / "in.csv",
        [row("ok", ["1,1,1,5", "1,1,1,1", "1,1,1,1", "1,1,1,1"])]
        + [row("ok", ["1,1,1,5", "1,1,1,1", "1,1,1,1", "1,1,1,1"])] * 15
        + [
            row("bad", ["1,1,1,5", "1,1,1,1", "1,1,1,7", "1,x,1,1"]),
            row("bad", ["1,1,1,101", "1,1,1,1", "1,1,1,1", "1,1,,1"]),
        ],
        names,
    )
    target = tmp_path / "out.csv"
    target.write_text("previous content\n")
    code = main(["score", "pasi", "--input", str(source), "--output", str(target)])
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: row 17: trunk_area=7 is outside 0–6 (an area score)",
        "error: row 17: lower_limbs_induration='x' is not a whole number 0–4",
        "error: row 18: head_area_pct=101 is outside 0–100 (a percentage of the region)",
        "error: row 18: lower_limbs_desquamation is missing (a whole number 0–4)",
    ]
    assert target.read_text() == "previous content\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_missing_and_ambiguous_columns_exit_2(tmp_path, capsys):
    names = header()
    names.remove("head_erythema")
    names.append("trunk_area_pct")
    source = write(tmp_path / "in.csv", [["0"] * len(names)], names)
    assert main(["score", "pasi", "--input", str(source), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "head_erythema is missing" in err
    assert "one of trunk_area or trunk_area_pct, not both" in err
    assert not (tmp_path / "o").exists()


def test_input_that_already_has_pasi_is_refused(tmp_path, capsys):
    names = [*header(), "pasi"]
    source = write(tmp_path / "in.csv", [["0"] * len(names)], names)
    assert main(["score", "pasi", "--input", str(source), "--output", str(tmp_path / "o")]) == 2
    assert "psotrack computes pasi itself" in capsys.readouterr().err


def test_missing_file_and_missing_output_exit_2(tmp_path, capsys):
    assert main(["score", "pasi", "--input", str(tmp_path / "nope.csv"), "--output", "o"]) == 2
    assert "an existing CSV file" in capsys.readouterr().err
    source = write(tmp_path / "in.csv", [], header())
    assert main(["score", "pasi", "--input", str(source)]) == 2
    assert "--output is missing" in capsys.readouterr().err


def test_region_options_and_input_together_are_refused(tmp_path, capsys):
    source = write(tmp_path / "in.csv", [], header())
    argv = ["score", "pasi", "--input", str(source), "--output", "o", "--head", "1,1,1,1"]
    assert main(argv) == 2
    assert "either --input or the region options" in capsys.readouterr().err


def test_header_only_file_is_refused_and_nothing_written(tmp_path, capsys):
    # Issue 14: a file with a header and no rows used to exit 0 with a header-only output.
    source = write(tmp_path / "in.csv", [], header())
    target = tmp_path / "out.csv"
    assert main(["score", "pasi", "--input", str(source), "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least one data row" in err
    assert not target.exists()


def test_cells_follow_the_one_number_grammar(tmp_path, capsys):
    # Issue 14: percentages were read by a float cast (1e1, nan, inf passed); grades by a \d
    # pattern that matched other scripts' digits. Now one grammar, and huge grades are named.
    names = header(area_pct_regions=("trunk",))
    rows = [
        row("A", ["1,1,0,1", "2,2,1,2", "3,2,2,1e1", "2,1,1,4"]),
        row("B", ["1,1,0,1", "2,2,1,2", "3,2,2,nan", "2,1,1,4"]),
        row("C", ["١,1,0,1", "2,2,1,2", "3,2,2,10", "2,1,1,4"]),
        row("D", ["1,1,0,1", "2,2,1,2", "3,2,2,10", "2,1,1," + "9" * 30]),
        row("E", ["1,1,0,1", "2,2,1,2", "3,2,2,-0.5", "2,1,1,4"]),
    ]
    source = write(tmp_path / "in.csv", rows, names)
    target = tmp_path / "out.csv"
    assert main(["score", "pasi", "--input", str(source), "--output", str(target)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: row 1: trunk_area_pct='1e1' is not a number 0–100 (a percentage of the region)",
        "error: row 2: trunk_area_pct='nan' is not a number 0–100 (a percentage of the region)",
        "error: row 3: head_erythema='١' is not a whole number 0–4",
        f"error: row 4: lower_limbs_area='{'9' * 30}' is outside 0–6",
        "error: row 5: trunk_area_pct=-0.5 is outside 0–100 (a percentage of the region)",
    ]
    assert not target.exists()
