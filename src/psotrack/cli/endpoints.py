"""`psotrack endpoints …`: derive per-row flags, per-patient endpoints and responder rates from CSV.

Every command reads a long assessment file (``patient_id, visit, day, pasi`` and optional
``arm, pga, bsa, dlqi, itch``) or, with ``--wide``, a table with one column per visit; ``NA`` and
empty cells are missed assessments. Any bad row stops the command with every problem listed (exit
code 2) before anything is written; output goes through a temporary file renamed into place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from psotrack.cli.number_options import whole_number
from psotrack.errors import Problem, ValidationError
from psotrack.number_text import parse_integer

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from psotrack.endpoints import Assessments

#: Cells read as a missed assessment.
NULL_TEXT: Final = ["NA", ""]
DERIVED_COLUMNS: Final = (
    "base",
    "chg",
    "pchg",
    "base_note",
    "pasi50",
    "pasi75",
    "pasi90",
    "pasi100",
)
PATIENT_COLUMNS: Final = (
    "patient_id",
    "arm",
    "base",
    "best_pchg",
    "first_pasi50_day",
    "first_pasi75_day",
    "first_pasi90_day",
    "first_pasi100_day",
    "pasi75_sustained",
    "loss_of_response_day",
)
RATE_COLUMNS: Final = (
    "arm",
    "visit",
    "day",
    "n",
    "responders",
    "rate",
    "ci_low",
    "ci_high",
    "missing",
    "denominator",
    "ci",
    "endpoint",
)
#: Decimals written: PASI-like values one, percent changes two, proportions six.
PASI_DECIMALS: Final = 1
PERCENT_DECIMALS: Final = 2
PROPORTION_DECIMALS: Final = 6

InputOption = Annotated[
    Path, typer.Option("--input", help="The assessment CSV (long, or wide with --wide).")
]
OutputOption = Annotated[
    Path, typer.Option("--output", help="Where to write the result CSV (replaced atomically).")
]
WideOption = Annotated[
    bool,
    typer.Option(
        "--wide",
        help="The input has one row per patient and one PASI column per visit (BASELINE, "
        "WEEKnn, DAYnn), like WWW_SustainedResponse.csv.",
    ),
]
DaysOption = Annotated[
    str | None,
    typer.Option(
        "--days",
        help="With --wide: visit days by column name, e.g. 'BASELINE=0,WEEK01=7,M6=182' "
        "(overrides days read from the names).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``endpoints`` command group to the psotrack application."""
    group = typer.Typer(
        help="Derive PASI response endpoints from an assessment CSV.", no_args_is_help=True
    )
    group.command("derive")(derive)
    group.command("patients")(patients)
    group.command("responders")(responders)
    app.add_typer(group, name="endpoints")


def derive(
    input_csv: InputOption,
    output_csv: OutputOption,
    wide: WideOption = False,
    days: DaysOption = None,
) -> None:
    """Every input row plus base, chg, pchg and the PASI 50/75/90/100 flags (1/0).

    ``base_note`` says why ``pchg`` and the flags are empty for a patient who is not evaluable
    (no baseline PASI, or a baseline of 0: ``base`` and ``chg`` are then still printed).
    """
    import polars as pl

    from psotrack.endpoints import derive_responders

    _check_output(output_csv, input_csv)
    console = _console()
    assessments, columns = _load(console, input_csv, wide, days)
    with console.status("deriving change from baseline and responder flags"):
        rows = derive_responders(assessments)
        out = rows.select(*columns, *DERIVED_COLUMNS).with_columns(
            *(pl.col(c).round(PASI_DECIMALS) for c in ("pasi", "base", "chg")),
            pl.col("pchg").round(PERCENT_DECIMALS),
        )
    _write(console, out, output_csv, f"{out.height} rows")


def patients(
    input_csv: InputOption,
    output_csv: OutputOption,
    wide: WideOption = False,
    days: DaysOption = None,
) -> None:
    """One row per patient: baseline, best change, first PASI 50/75/90/100 day, durability."""
    import polars as pl

    from psotrack.endpoints import derive_patient_endpoints

    _check_output(output_csv, input_csv)
    console = _console()
    assessments, _ = _load(console, input_csv, wide, days)
    with console.status("deriving per-patient endpoints"):
        out = (
            derive_patient_endpoints(assessments)
            .select(PATIENT_COLUMNS)
            .with_columns(
                pl.col("base").round(PASI_DECIMALS),
                pl.col("best_pchg").round(PERCENT_DECIMALS),
                pl.col("pasi75_sustained").cast(pl.Int8),
            )
        )
    _write(console, out, output_csv, f"{out.height} patients")


def responders(
    input_csv: InputOption,
    output_csv: OutputOption,
    missing: Annotated[
        str,
        typer.Option(
            "--missing",
            help="Missing-data rule: nri (a missed visit is no response), observed (those with "
            "a value at the visit) or locf (last value carried forward).",
        ),
    ],
    denominator: Annotated[
        str,
        typer.Option(
            "--denominator",
            help="Patients with no evaluable baseline (none, or PASI 0): itt (every enrolled "
            "patient counts, those as non-responders; the default) or evaluable (left out).",
        ),
    ] = "itt",
    threshold: Annotated[
        int,
        typer.Option(
            "--threshold",
            help="PASI improvement in % (1–100).",
            parser=whole_number("--threshold"),
        ),
    ] = 75,
    by: Annotated[
        str | None, typer.Option("--by", help="Split the rates by this column (e.g. arm).")
    ] = None,
    ci: Annotated[
        str, typer.Option("--ci", help="Interval: exact (Clopper–Pearson), wilson or jeffreys.")
    ] = "exact",
    wide: WideOption = False,
    days: DaysOption = None,
) -> None:
    """Responder rate per arm and post-baseline visit with its 95 % interval, ordered by day.

    The output's ``missing`` column names the missing-data rule, ``denominator`` the rule for
    patients with no evaluable baseline, ``ci`` the interval and ``endpoint`` the threshold (e.g.
    PASI75); without ``--by`` the single group is ``all``. Both rules are also printed.
    """
    import polars as pl

    from psotrack.endpoints import (
        DENOMINATOR_RULES,
        DENOMINATOR_TEXT,
        MISSING_RULES,
        derive_response_rates,
    )
    from psotrack.endpoints.response import check_percent
    from psotrack.stats.proportions import PROPORTION_METHODS

    _check_output(output_csv, input_csv)
    problems = []
    if missing not in MISSING_RULES:
        problems.append(Problem("--missing", missing, "nri, observed or locf", kind="invalid"))
    if denominator not in DENOMINATOR_RULES:
        problems.append(Problem("--denominator", denominator, "itt or evaluable", kind="invalid"))
    if ci not in PROPORTION_METHODS:
        problems.append(Problem("--ci", ci, "exact, wilson or jeffreys", kind="invalid"))
    try:
        check_percent("--threshold", threshold)
    except ValidationError as error:
        problems += error.problems
    if problems:
        raise ValidationError(problems=problems)
    console = _console()
    assessments, columns = _load(console, input_csv, wide, days)
    if by is not None and by not in columns:
        allowed = "a column of the input (" + ", ".join(columns) + ")"
        raise ValidationError("--by", by, allowed, kind="invalid")
    with console.status(f"counting PASI {threshold} responders ({missing})"):
        rates = derive_response_rates(
            assessments,
            threshold=threshold,
            missing=missing,  # type: ignore[arg-type]
            by=by,
            ci=ci,  # type: ignore[arg-type]
            denominator=denominator,  # type: ignore[arg-type]
        )
        out = rates.rename({by: "arm"} if by not in (None, "arm") else {}).with_columns(
            *(pl.col(c).round(PROPORTION_DECIMALS) for c in ("rate", "ci_low", "ci_high")),
            pl.lit(f"PASI{threshold}").alias("endpoint"),
        )
    rules = f"missing: {missing}; denominator: {denominator}, {DENOMINATOR_TEXT[denominator]}"
    _write(console, out.select(RATE_COLUMNS), output_csv, f"{out.height} rates ({rules})")


def _check_output(output: Path, source: Path) -> None:
    """Refuse a bad output path (a folder, the input, …) before reading anything."""
    from psotrack.interop.files import check_output_path

    check_output_path(output, inputs=[source])


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _load(
    console: Console, path: Path, wide: bool, days: str | None
) -> tuple[Assessments, list[str]]:
    """Read, reshape (``--wide``) and check the input; return it and its long column names."""
    from psotrack.endpoints import prepare_assessments, wide_to_long

    if days is not None and not wide:
        raise ValidationError("--days", days, "used only with --wide", kind="invalid")
    with console.status(f"reading {path}"):
        frame = read_assessment_csv(path)
    visits: list[str] = []
    if wide:
        day_of = parse_days(days) if days is not None else None
        frame = wide_to_long(frame, day_of)
        visits = frame["visit"].unique(maintain_order=True).to_list()
        if frame["arm"].null_count() == frame.height:
            frame = frame.drop("arm")
    with console.status(f"checking {frame.height} assessment rows"):
        try:
            assessments = prepare_assessments(frame, allow_unknown=False)
        except ValidationError as error:
            raise _in_wide_rows(error, visits) if wide else error from None
    return assessments, frame.columns


def read_assessment_csv(path: Path) -> pl.DataFrame:
    """Read a CSV with every column as text and ``NA`` or empty cells as missing."""
    from psotrack.interop.files import read_csv_text

    return read_csv_text(path, null_values=NULL_TEXT)


def parse_days(text: str) -> dict[str, int]:
    """``'BASELINE=0,WEEK01=7'`` → ``{'BASELINE': 0, 'WEEK01': 7}`` (problems for bad items).

    Days are whole numbers by :mod:`psotrack.number_text`; their range is checked with the
    table (:func:`psotrack.endpoints.wide_to_long`).
    """
    found: dict[str, int] = {}
    problems: list[Problem] = []
    for item in text.split(","):
        name, sep, day_text = item.partition("=")
        day = parse_integer(day_text)
        if not sep or not name.strip() or day is None:
            problems.append(Problem("--days", item, "NAME=DAY with a whole day", kind="invalid"))
        else:
            found[name.strip()] = day
    if problems:
        raise ValidationError(problems=problems)
    return found


def _in_wide_rows(error: ValidationError, visits: list[str]) -> ValidationError:
    """Renumber problems from long rows to the wide file's rows, naming the visit column."""
    if not visits:
        return error
    problems = []
    for problem in error.problems:
        if problem.row is None:
            problems.append(problem)
            continue
        index = problem.row - 1
        visit = visits[index % len(visits)]
        allowed = f"{problem.allowed} (visit column {visit})"
        problems.append(
            Problem(problem.field, problem.value, allowed, problem.kind, 1 + index // len(visits))
        )
    return ValidationError(problems=problems)


def _write(console: Console, frame: pl.DataFrame, path: Path, what: str) -> None:
    from psotrack.interop.files import write_csv_atomically

    with console.status(f"writing {path}"):
        write_csv_atomically(frame, path)
    console.print(f"wrote {what} → {path}")
