"""`psotrack score …`: score one clinical instrument from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from psotrack.cli.score_args import (
    DLQI_SYNTAX,
    int_option,
    number_option,
    parse_dlqi_answers,
    parse_ints,
    parse_nail,
    parse_region,
)
from psotrack.cli.score_output import emit, print_table, raise_if
from psotrack.errors import Problem, ValidationError
from psotrack.instruments.bsa import bsa, bsa_from_handprints
from psotrack.instruments.dlqi import COPYRIGHT as DLQI_COPYRIGHT
from psotrack.instruments.dlqi import dlqi
from psotrack.instruments.itch import itch_change, itch_nrs
from psotrack.instruments.napsi import NailScore, napsi
from psotrack.instruments.pasi import REGIONS, PasiInput, RegionScore, pasi
from psotrack.instruments.pga import PgaScale, pga, pga_success, pga_x_bsa
from psotrack.instruments.pssi import PssiInput, pssi
from psotrack.instruments.severity import PASI_BANDS_10_20, PASI_SINGLE_CUT_10, classify_severity
from psotrack.instruments.tpss import TpssInput, tpss

app = typer.Typer(
    help="Score a clinical instrument (PASI, BSA, PGA, DLQI, …).", no_args_is_help=True
)

RegionOption = Annotated[
    str | None,
    typer.Option(help="Erythema, induration, desquamation and area score, as E,I,D,A (0–4, 0–6)."),
]


@app.command("pasi")
def score_pasi(
    head: RegionOption = None,
    upper_limbs: RegionOption = None,
    trunk: RegionOption = None,
    lower_limbs: RegionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    input_csv: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Score every row of a CSV (<region>_<item> columns, or <region>_area_pct).",
        ),
    ] = None,
    output_csv: Annotated[
        Path | None,
        typer.Option("--output", help="Where --input's rows go, with a pasi column added."),
    ] = None,
) -> None:
    """Score an adult PASI from the four regions' E,I,D,A, or every row of a CSV file."""
    if input_csv is not None or output_csv is not None:
        _score_pasi_file(input_csv, output_csv, [head, upper_limbs, trunk, lower_limbs])
        return
    given = {"head": head, "upper_limbs": upper_limbs, "trunk": trunk, "lower_limbs": lower_limbs}
    missing = [
        Problem(f"--{r.replace('_', '-')}", None, "E,I,D,A", kind="missing")
        for r in REGIONS
        if given[r] is None
    ]
    if missing:
        raise ValidationError(problems=missing)
    problems: list[Problem] = []
    regions: dict[str, RegionScore] = {}
    for r in REGIONS:
        score, found = parse_region(r, given[r] or "")
        problems.extend(found)
        if score is not None:
            regions[r] = score
    if problems:
        raise ValidationError(problems=problems)
    result = pasi(PasiInput(**regions))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "instrument": "PASI",
                    "total": str(result.total),
                    "regions": {
                        r.region: {
                            "weight": str(r.weight),
                            "severity_sum": r.severity_sum,
                            "area": r.area,
                            "contribution": str(r.value),
                        }
                        for r in result.regions
                    },
                }
            )
        )
        return
    print_table("PASI", result.summary())


def _score_pasi_file(
    input_csv: Path | None, output_csv: Path | None, regions: list[str | None]
) -> None:
    from rich.console import Console

    from psotrack.interop.files import check_output_path, read_csv_text, write_csv_atomically
    from psotrack.interop.pasi_csv import score_pasi_table

    problems = []
    if input_csv is None:
        problems.append(Problem("--input", None, "the CSV to score", kind="missing"))
    if output_csv is None:
        problems.append(Problem("--output", None, "where to write the scored CSV", kind="missing"))
    if any(r is not None for r in regions):
        problems.append(
            Problem("--input", str(input_csv), "either --input or the region options", "invalid")
        )
    raise_if(problems)
    assert input_csv is not None and output_csv is not None
    check_output_path(output_csv, inputs=[input_csv])
    console = Console(stderr=True)
    with console.status("reading and checking every row"):
        scored = score_pasi_table(read_csv_text(input_csv))
    with console.status(f"writing {output_csv}"):
        write_csv_atomically(scored, output_csv)
    console.print(f"scored {scored.height} rows → {output_csv}")


# ---- Other instruments: BSA, PGA, DLQI, PSSI, NAPSI, itch NRS, TPSS, severity ----

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("bsa")
def score_bsa(
    percent: Annotated[str | None, typer.Option(help="Affected body surface, 0–100 %.")] = None,
    handprints: Annotated[
        str | None, typer.Option(help="Number of the patient's handprints (may be fractional).")
    ] = None,
    unit: Annotated[
        str, typer.Option(help="What one handprint is: 'hand' (≈ 1 %) or 'palm' (≈ 0.5 %).")
    ] = "hand",
    as_json: JsonFlag = False,
) -> None:
    """BSA % with its NPF/AAD band (mild < 3, moderate 3–10, severe > 10), from % or handprints."""
    problems: list[Problem] = []
    if (percent is None) == (handprints is None):
        problems.append(Problem("--percent/--handprints", None, "give exactly one", "missing"))
    pct = number_option("bsa", percent, problems)
    count = number_option("handprints", handprints, problems)
    raise_if(problems)
    if count is not None:
        result = bsa_from_handprints(count, unit=unit)  # type: ignore[arg-type]  # checked inside
    else:
        result = bsa(pct)  # type: ignore[arg-type]  # one of the two was given
    payload = {
        "instrument": "BSA",
        "percent": result.percent,
        "handprints": result.handprints,
        "unit": result.unit,
        "severity": result.category,
        "rule": result.severity.rule,
    }
    emit(as_json, payload, "BSA", result.summary())


@app.command("pga")
def score_pga(
    value: Annotated[str, typer.Option(help="The static PGA grade.")],
    scale: Annotated[str, typer.Option(help="5 (grades 0–4) or 6 (grades 0–5).")],
    baseline: Annotated[str | None, typer.Option(help="Baseline grade, same scale.")] = None,
    require_two_grade_improvement: Annotated[
        bool, typer.Option(help="PGA 0/1 success also needs ≥ 2 grades better than baseline.")
    ] = False,
    bsa_percent: Annotated[
        str | None, typer.Option("--bsa", help="BSA % (0–100) to report PGA×BSA.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Static PGA with its grade name, the "PGA 0/1" success test and optionally PGA×BSA."""
    problems: list[Problem] = []
    grade = int_option("pga", value, problems)
    base = int_option("baseline_pga", baseline, problems)
    scale_number = int_option("--scale", scale, problems)
    pga_scale = {5: PgaScale.FIVE_POINT, 6: PgaScale.SIX_POINT}.get(scale_number or 0)
    if scale_number is not None and pga_scale is None:
        problems.append(Problem("--scale", scale, "5 or 6 (points on the PGA scale)", "invalid"))
    percent = number_option("bsa", bsa_percent, problems)
    raise_if(problems)
    assert pga_scale is not None and grade is not None
    current = pga(grade, pga_scale)
    start = None if base is None else pga(base, pga_scale)
    success = pga_success(
        current, start, require_two_grade_improvement=require_two_grade_improvement
    )
    composite = None if percent is None else pga_x_bsa(current, percent)
    row: dict[str, object] = {
        "pga": current.grade,
        "grade": current.name,
        "scale": pga_scale.label,
        "pga_0_1_success": success.success,
    }
    if start is not None:
        row["improvement"] = success.improvement
    if composite is not None:
        row["pga_x_bsa"] = composite.value
        row["pga_x_bsa_range"] = f"0–{composite.maximum}"
    payload: dict[str, object] = {"instrument": "PGA", **row, "reason": success.reason}
    emit(as_json, payload, "PGA", [{k: str(v) for k, v in row.items()}])


@app.command("dlqi")
def score_dlqi(
    answers: Annotated[str, typer.Option(help=DLQI_SYNTAX)],
    as_json: JsonFlag = False,
) -> None:
    """Score a DLQI (0–30) with its band and subscales; --answers gives the syntax.

    Two or more blank answers: the questionnaire is reported as not scored (exit code 0, since
    that is what the patient returned); malformed answers exit with 2.
    """
    parsed, problems = parse_dlqi_answers(answers)
    raise_if(problems)
    assert parsed is not None
    result = dlqi(parsed)
    payload = {
        "instrument": "DLQI",
        "valid": result.valid,
        "total": result.total,
        "band": result.band,
        "unanswered": list(result.unanswered),
        "invalid_reason": result.invalid_reason,
        "items": {str(i.number): i.points for i in result.items},
        "subscales": {s.name: s.score for s in result.subscales},
        "copyright": DLQI_COPYRIGHT,
    }
    if as_json:
        emit(True, payload, "", [])
        return
    print_table("DLQI", result.summary())
    if result.valid:
        print_table(
            "DLQI subscales",
            [
                {"subscale": s.name, "score": s.score, "maximum": s.maximum}
                for s in result.subscales
            ],
        )
    typer.echo(DLQI_COPYRIGHT)


@app.command("pssi")
def score_pssi(
    signs: Annotated[
        str, typer.Option(help="Scalp erythema, induration, desquamation: E,I,D (0–4).")
    ],
    area: Annotated[str | None, typer.Option(help="Scalp area score 0–6.")] = None,
    area_pct: Annotated[
        str | None, typer.Option(help="Scalp area affected, 0–100 % (converted by the PASI bands).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """PSSI = (E + I + D) × scalp area score, 0–72."""
    names = ("scalp_erythema", "scalp_induration", "scalp_desquamation")
    values, problems = parse_ints("--signs", signs, names, "E,I,D")
    if (area is None) == (area_pct is None):
        problems.append(Problem("--area/--area-pct", None, "give exactly one", "missing"))
    area_value = int_option("scalp_area", area, problems)
    pct = number_option("scalp_area_pct", area_pct, problems)
    raise_if(problems)
    assert values is not None
    e, i, d = values
    if pct is not None:
        scalp = PssiInput.from_percent(e, i, d, pct)
    else:
        scalp = PssiInput(e, i, d, area_value)  # type: ignore[arg-type]  # given when pct is not
    result = pssi(scalp)
    payload = {"instrument": "PSSI", **result.summary()[0]}
    emit(as_json, payload, "PSSI", result.summary())


@app.command("napsi")
def score_napsi(
    nail: Annotated[
        list[str],
        typer.Option(
            help="NAIL=MATRIX,BED, repeatable. Fingers R1–R5/L1–L5 (1 thumb), "
            "toes RT1–RT5/LT1–LT5 (1 great toe); each score 0–4 quadrants. E.g. --nail R1=2,1"
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """NAPSI per nail (matrix + bed, 0–8), finger and toe subtotals, total over the nails given."""
    nails: dict[str, NailScore] = {}
    problems: list[Problem] = []
    for text in nail:
        parsed, found = parse_nail(text)
        problems.extend(found)
        if parsed is not None:
            if parsed[0] in nails:
                problems.append(Problem("--nail", text, "each nail once", "invalid"))
            nails[parsed[0]] = parsed[1]
    if problems and nails:  # also report what is wrong with the nails that could be read
        try:
            napsi(nails)
        except ValidationError as exc:
            problems.extend(exc.problems)
    raise_if(problems)
    result = napsi(nails)
    payload = {
        "instrument": "NAPSI",
        "total": result.total,
        "fingers_total": result.fingers_total,
        "toes_total": result.toes_total,
        "maximum": result.maximum,
        "nails_scored": list(result.nails_scored),
        "nails": {
            n.nail: {"matrix": n.matrix, "bed": n.bed, "total": n.total} for n in result.nails
        },
    }
    emit(as_json, payload, "NAPSI", result.summary())


@app.command("itch")
def score_itch(
    value: Annotated[str, typer.Option(help="Worst itch in the last 24 h, integer 0–10.")],
    baseline: Annotated[str | None, typer.Option(help="Baseline rating, to judge change.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Peak pruritus NRS (0–10); with --baseline, whether it fell by the meaningful 4 points."""
    problems: list[Problem] = []
    score = int_option("itch_nrs", value, problems)
    base = int_option("baseline_itch_nrs", baseline, problems)
    raise_if(problems)
    assert score is not None
    row: dict[str, object] = {"itch_nrs": itch_nrs(score).score}
    if base is not None:
        row.update(itch_change(base, score).summary()[0])
        del row["follow_up"]
    emit(as_json, {"instrument": "itch NRS", **row}, "Itch NRS", [row])


@app.command("tpss")
def score_tpss(
    site: Annotated[str, typer.Option(help="The target plaque's site, the same at every visit.")],
    signs: Annotated[str, typer.Option(help="Erythema, induration, scaling: E,I,S (0–4).")],
    diameter_mm: Annotated[str | None, typer.Option(help="Longest diameter in mm.")] = None,
    area_cm2: Annotated[str | None, typer.Option(help="Plaque area in cm².")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Target plaque severity score: erythema + induration + scaling of one named plaque, 0–12."""
    values, problems = parse_ints("--signs", signs, ("erythema", "induration", "scaling"), "E,I,S")
    diameter = number_option("diameter_mm", diameter_mm, problems)
    area_value = number_option("area_cm2", area_cm2, problems)
    raise_if(problems)
    assert values is not None
    e, i, scaling = values
    result = tpss(TpssInput(site, e, i, scaling, diameter_mm=diameter, area_cm2=area_value))
    payload: dict[str, object] = {"instrument": "TPSS", **result.summary()[0]}
    payload.update(diameter_mm=result.diameter_mm, area_cm2=result.area_cm2)
    emit(as_json, payload, "TPSS", result.summary())


@app.command("severity")
def score_severity(
    pasi_value: Annotated[str | None, typer.Option("--pasi", help="PASI 0–72.")] = None,
    bsa_value: Annotated[str | None, typer.Option("--bsa", help="BSA 0–100 %.")] = None,
    dlqi_value: Annotated[str | None, typer.Option("--dlqi", help="DLQI total 0–30.")] = None,
    pasi_rule: Annotated[
        str,
        typer.Option(
            help="PASI bands: 'bands-10-20' (mild <10, moderate 10–20, severe >20) "
            "or 'single-cut-10' (≤10 mild, >10 moderate-to-severe)."
        ),
    ] = "bands-10-20",
    as_json: JsonFlag = False,
) -> None:
    """Severity by the rule of tens (BSA, PASI or DLQI > 10) and by PASI and BSA bands."""
    problems: list[Problem] = []
    p = number_option("pasi", pasi_value, problems)
    b = number_option("bsa", bsa_value, problems)
    d = int_option("dlqi", dlqi_value, problems)
    if problems and (p, b, d) != (None, None, None):  # also check the values that could be read
        try:
            classify_severity(pasi=p, bsa=b, dlqi=d)
        except ValidationError as exc:
            problems.extend(exc.problems)
    rules = {"bands-10-20": PASI_BANDS_10_20, "single-cut-10": PASI_SINGLE_CUT_10}
    if pasi_rule not in rules:
        problems.append(
            Problem("--pasi-rule", pasi_rule, "bands-10-20 or single-cut-10", "invalid")
        )
    raise_if(problems)
    report = classify_severity(pasi=p, bsa=b, dlqi=d, pasi_rule=rules[pasi_rule])
    payload: dict[str, object] = {
        "instrument": "severity",
        "results": [
            {"rule": r.rule, "category": r.category, "reason": r.reason, "missing": list(r.missing)}
            for r in report.results
        ],
    }
    emit(as_json, payload, "Severity", report.summary())
