"""Benchmark: PASI endpoints for a million patients vs pandas groupby-apply and vectorised pandas.

Run: ``.venv/bin/python benchmarks/bench_endpoints.py [--patients N] [--sample M] [--seed S]``.
Builds a seeded cohort (13 visits per patient, rows shuffled, about 8 % of PASI missing, one
decimal, three arms), then times psotrack's input checks, per-row flags and per-patient endpoints
on the full cohort; pandas written the way an analyst would (groupby + apply per patient) on a
sample; and an idiomatic vectorised pandas version on the full cohort. Both pandas versions must
agree with psotrack on the sample (flags, first-response days, durability) before times count.
Targets on the project's 2-core machine: full cohort ≤ 3 s and ≤ 4 GB, ≥ 100× the groupby-apply
version per patient, ≥ 3× the vectorised pandas version.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from typing import Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import polars as pl
from rich.console import Console
from rich.progress import Progress

from psotrack.endpoints import (
    derive_patient_endpoints,
    derive_responders,
    prepare_assessments,
    validate_assessments,
)

VISITS: Final = (
    "SCR",
    "W0",
    "W1",
    "W2",
    "W4",
    "W8",
    "W12",
    "W16",
    "W20",
    "W24",
    "W32",
    "W40",
    "W52",
)
DAYS: Final = (-14, 0, 7, 14, 28, 56, 84, 112, 140, 168, 224, 280, 364)
ARMS: Final = ("placebo", "low dose", "high dose")
THRESHOLDS: Final = (50, 75, 90, 100)
FLAGS: Final = tuple(f"pasi{t}" for t in THRESHOLDS)
FIRST_DAYS: Final = tuple(f"first_pasi{t}_day" for t in THRESHOLDS)
MISSING_SHARE: Final = 0.08
TARGET_SECONDS: Final = 3.0
TARGET_BYTES: Final = 4 << 30
TARGET_APPLY_RATIO: Final = 100
TARGET_PANDAS_RATIO: Final = 3


def make_cohort(patients: int, seed: int) -> pl.DataFrame:
    """Long rows ``patient_id, arm, visit, day, pasi`` in random order (seeded)."""
    rng = np.random.default_rng(seed)
    visits = len(VISITS)
    baseline = rng.integers(50, 500, patients)  # PASI tenths 5.0–49.9
    effect = rng.uniform(0.0, 1.0, patients)
    patient = np.repeat(np.arange(patients), visits)
    visit = np.tile(np.arange(visits), patients)
    day = np.asarray(DAYS)[visit]
    onset = np.clip(day / 84, 0.0, 1.0)
    level = 1.0 - effect[patient] * onset + rng.normal(0.0, 0.08, patient.size)
    tenths = np.clip(np.round(baseline[patient] * level), 0, 720)
    pasi = np.where(rng.random(patient.size) < MISSING_SHARE, np.nan, tenths / 10)
    order = rng.permutation(patient.size)
    codes = pl.DataFrame({"p": patient[order], "v": visit[order].astype(np.uint8)})
    return pl.DataFrame(
        {
            "patient_id": codes.select(pl.format("P{}", pl.col("p").cast(pl.String).str.zfill(7)))
            .to_series()
            .alias("patient_id"),
            "arm": pl.Series(np.asarray(ARMS)[patient[order] % len(ARMS)]),
            "visit": pl.Series(np.asarray(VISITS)[visit[order]]),
            "day": day[order],
            "pasi": pl.Series(pasi[order]).fill_nan(None),
        }
    )


def run_psotrack(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, float]]:
    """Rows with flags and per-patient endpoints, with the time of each step."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    validate_assessments(frame)
    times["input checks alone"] = time.perf_counter() - start
    start = time.perf_counter()
    prepared = prepare_assessments(frame)
    times["checks + baselines"] = time.perf_counter() - start
    mark = time.perf_counter()
    rows = derive_responders(prepared, THRESHOLDS)
    times["per-row flags"] = time.perf_counter() - mark
    mark = time.perf_counter()
    patients = derive_patient_endpoints(prepared)
    times["per-patient endpoints"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return rows, patients, times


def _analyst_rows(visits: pd.DataFrame) -> pd.DataFrame:
    """One patient's rows with baseline, change and flags, as a script would write it."""
    visits = visits.sort_values("day")
    tenths = (visits["pasi"] * 10).round()
    before = tenths[(visits["day"] <= 0) & tenths.notna()]
    base = before.iloc[-1] if len(before) and before.iloc[-1] > 0 else np.nan
    post = (visits["day"] > 0) & tenths.notna() & (not np.isnan(base))
    visits = visits.assign(
        base=base / 10,
        chg=((tenths - base) / 10).where(post),
        pchg=((tenths - base) * 100 / base).where(post),
    )
    for threshold, flag in zip(THRESHOLDS, FLAGS, strict=True):
        # Exact: integer tenths, (base − value) × 100 ≥ T × base.
        visits[flag] = ((base - tenths) * 100 >= threshold * base).astype(float).where(post)
    return visits


def _analyst_patient(visits: pd.DataFrame) -> pd.Series:
    post = visits[visits["pchg"].notna()]
    out = {"best_pchg": post["pchg"].min() if len(post) else np.nan}
    for flag, name in zip(FLAGS, FIRST_DAYS, strict=True):
        out[name] = post.loc[post[flag] == 1, "day"].min()
    first75 = out["first_pasi75_day"]
    after = post[post["day"] >= first75] if not np.isnan(first75) else post.iloc[:0]
    evaluable = not np.isnan(visits["base"].iloc[0])
    sustained = bool(len(after)) and bool((after["pasi75"] == 1).all())
    out["pasi75_sustained"] = float(sustained) if evaluable else np.nan
    lost = after[(after["day"] > first75) & (after["pasi50"] == 0)]
    out["loss_of_response_day"] = lost["day"].min() if len(lost) else np.nan
    return pd.Series(out)


def pandas_apply(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """groupby + apply per patient: flags per patient's rows, then endpoints per patient."""
    columns = ["arm", "visit", "day", "pasi"]
    rows = frame.groupby("patient_id", group_keys=False)[columns].apply(_analyst_rows)
    rows["patient_id"] = frame["patient_id"]
    wanted = ["day", "pchg", "base", *FLAGS]
    patients = rows.groupby("patient_id")[wanted].apply(_analyst_patient).reset_index()
    return rows, patients


def pandas_vectorised(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same derivations with whole-column pandas operations and grouped reductions."""
    tenths = (frame["pasi"] * 10).round()
    before = frame[(frame["day"] <= 0) & tenths.notna()]
    last = before.groupby("patient_id")["day"].idxmax()
    base = pd.Series(tenths[last.to_numpy()].to_numpy(), index=last.index)
    base_t = frame["patient_id"].map(base[base > 0])
    post = (frame["day"] > 0) & tenths.notna() & base_t.notna()
    rows = frame.assign(
        base=base_t / 10,
        chg=((tenths - base_t) / 10).where(post),
        pchg=((tenths - base_t) * 100 / base_t).where(post),
    )
    for threshold, flag in zip(THRESHOLDS, FLAGS, strict=True):
        rows[flag] = ((base_t - tenths) * 100 >= threshold * base_t).astype(float).where(post)
    seen = rows[post]
    patients = pd.DataFrame(index=pd.Index(frame["patient_id"].unique(), name="patient_id"))
    patients["best_pchg"] = seen.groupby("patient_id")["pchg"].min()
    for flag, name in zip(FLAGS, FIRST_DAYS, strict=True):
        patients[name] = seen.loc[seen[flag] == 1].groupby("patient_id")["day"].min()
    last_below = seen.loc[seen["pasi75"] == 0].groupby("patient_id")["day"].max()
    first75 = patients["first_pasi75_day"]
    sustained = first75.notna() & ~(last_below.reindex(patients.index) > first75)
    patients["pasi75_sustained"] = sustained.astype(float).where(base.reindex(patients.index) > 0)
    reached = seen["patient_id"].map(first75)
    lost = seen[(seen["day"] > reached) & (seen["pasi50"] == 0)]
    patients["loss_of_response_day"] = lost.groupby("patient_id")["day"].min()
    return rows, patients.reset_index()


def _same(
    name: str, ours: pl.DataFrame, theirs: pd.DataFrame, keys: list[str], columns: list[str]
) -> list[str]:
    """Columns that differ between psotrack's and a pandas result (missing == missing)."""
    other = pl.from_pandas(theirs[keys + columns].reset_index(drop=True))
    joined = ours.select(keys + columns).join(other, on=keys, how="full", suffix="_pd")
    if joined.height != ours.height:
        return [f"{name}: {joined.height} keys vs psotrack's {ours.height}"]
    bad = []
    for column in columns:
        left = pl.col(column).cast(pl.Float64).fill_null(-999.0)
        right = pl.col(f"{column}_pd").cast(pl.Float64).fill_nan(None).fill_null(-999.0)
        if joined.select(((left - right).abs() > 1e-9).any()).item():
            bad.append(f"{name}: {column}")
    return bad


def check_agreement(frame: pl.DataFrame, sample: pd.DataFrame) -> list[str]:
    """Every difference between psotrack and both pandas versions on ``sample``."""
    ours_rows, ours_patients, _ = run_psotrack(frame)
    patient_columns = ["best_pchg", *FIRST_DAYS, "pasi75_sustained", "loss_of_response_day"]
    problems = []
    for name, build in (("groupby-apply", pandas_apply), ("vectorised", pandas_vectorised)):
        rows, patients = build(sample)
        problems += _same(name, ours_rows, rows, ["patient_id", "day"], ["base", "pchg", *FLAGS])
        problems += _same(name, ours_patients, patients, ["patient_id"], patient_columns)
    return problems


def _timed(build: object, frame: pd.DataFrame) -> float:
    start = time.perf_counter()
    build(frame)  # type: ignore[operator]
    return time.perf_counter() - start


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    console = Console()
    warnings.simplefilter("ignore", FutureWarning)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"building {args.patients:,} patients × 13 visits", total=6)
        cohort = make_cohort(args.patients, args.seed)
        sample_ids = cohort["patient_id"].unique().sort().head(args.sample)
        sample = cohort.filter(pl.col("patient_id").is_in(sample_ids.implode()))
        sample_pd = sample.to_pandas()
        progress.update(task, advance=1, description="checking pandas versions == psotrack")
        problems = check_agreement(sample, sample_pd)
        if problems:
            console.print("[red]pandas and psotrack differ:[/red] " + "; ".join(problems))
            return 1
        progress.update(task, advance=1, description=f"psotrack on {cohort.height:,} rows")
        runs = [run_psotrack(cohort)[2] for _ in range(args.repeats)]
        best = {step: min(run[step] for run in runs) for step in runs[0]}
        median_total = float(np.median([run["total"] for run in runs]))
        rss = _peak_rss()
        progress.update(task, advance=1, description="psotrack on the sample")
        sample_s = min(run_psotrack(sample)[2]["total"] for _ in range(args.repeats))
        progress.update(task, advance=1, description=f"groupby-apply on {args.sample:,} patients")
        apply_s = _timed(pandas_apply, sample_pd)
        progress.update(task, advance=1, description="vectorised pandas on the full cohort")
        full_pd = cohort.to_pandas()
        del cohort
        vector_s = _timed(pandas_vectorised, full_pd)
        progress.update(task, advance=1)
    patients, rows = args.patients, args.patients * len(VISITS)
    per_patient_ours = best["total"] / patients
    apply_ratio = (apply_s / args.sample) / per_patient_ours
    vector_ratio = vector_s / best["total"]
    console.print(
        f"PASI endpoints benchmark: {patients:,} patients, {rows:,} rows (best of "
        f"{args.repeats}); groupby-apply on {args.sample:,} patients; pandas {pd.__version__}, "
        f"polars {pl.__version__}"
    )
    console.print("  psotrack on the full cohort:")
    for step, seconds in best.items():
        console.print(f"    {step:<34} {seconds:8.3f} s")
    console.print(f"    {'total, median of the runs':<34} {median_total:8.3f} s")
    console.print(
        f"    {'derivations without the checks':<34} "
        f"{best['total'] - best['input checks alone']:8.3f} s"
    )
    checks = [
        (
            "psotrack full cohort (checks included)",
            f"{best['total']:.2f} s",
            f"≤ {TARGET_SECONDS:.0f} s",
            best["total"] <= TARGET_SECONDS,
        ),
        (
            "process peak RSS after psotrack",
            f"{rss / 2**30:.2f} GiB",
            "≤ 4 GiB",
            rss <= TARGET_BYTES,
        ),
        ("psotrack on the sample", f"{sample_s:.3f} s", "", True),
        ("groupby-apply on the sample", f"{apply_s:.1f} s", "", True),
        (
            "per patient: groupby-apply / psotrack",
            f"{apply_ratio:,.0f}×",
            f"≥ {TARGET_APPLY_RATIO}×",
            apply_ratio >= TARGET_APPLY_RATIO,
        ),
        ("vectorised pandas, full cohort", f"{vector_s:.2f} s", "", True),
        (
            "vectorised pandas / psotrack",
            f"{vector_ratio:.1f}×",
            f"≥ {TARGET_PANDAS_RATIO}×",
            vector_ratio >= TARGET_PANDAS_RATIO,
        ),
        ("process peak RSS incl. pandas", f"{_peak_rss() / 2**30:.2f} GiB", "", True),
    ]
    for name, value, target, ok in checks:
        mark = ("  ok" if ok else "  MISSED") if target else ""
        console.print(f"  {name:<42} {value:>12}  {target}{mark}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
