"""The CDISC export (issue 17) on the tiny hand-built cohort, read back with ``pandas.read_sas``.

Known answers (tests/cohort_records.py; PASI with the lower limbs only, weight 0.4, signs
E4 I4 D2 = 10): alpha W0 area 5 → 0.4 × 10 × 5 = 20.0, W12 (day 84) area 1 → 4.0: CHG −16.0,
PCHG −80 %, PASI 50 and 75 reached (4.0 ≤ 10.0, 4.0 ≤ 5.0), PASI 90 not (4.0 > 2.0). beta W0
20.0, W12 area 4 → 16.0: CHG −4.0, PCHG −20 %, no response. gamma (no dose, withdrawn): W0
16.0, nothing after. delta: nothing recorded. Day 0 = W0 for everyone (the dose date for
alpha and beta, the enrollment start for gamma and delta), so day 84 is CDISC day 85.

Every ADaM number is also checked against the endpoint engine run here independently on
``assessments_frame``. ``pandas.read_sas`` decodes an IBM-format 0 as 5.4e-79
(pandas-dev/pandas#50670; the file holds eight zero bytes): :func:`read_xpt` rounds it back.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from psotrack.cli import main
from psotrack.endpoints import derive_responders, derive_time_to_event
from psotrack.interop.cdisc_adam_specs import ADAM_SPECS
from psotrack.interop.cdisc_files import cdisc_export, write_cdisc_export
from psotrack.interop.cdisc_sdtm import qs
from psotrack.interop.cdisc_sdtm_specs import SDTM_SPECS
from psotrack.interop.cdisc_specs import check_spec
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import create_user
from psotrack.services.research_export import research_dataset
from psotrack.services.scoring import score_responses
from psotrack.services.timeline import assessments_frame
from psotrack.store import make_engine, upgrade
from psotrack.store.vocabulary import Instrument, Role
from tests.cohort_records import build_tiny_cohort
from tests.services.conftest import actors, db  # noqa: F401  (fixtures)

ALL_SPECS = {spec.name: spec for spec in (*SDTM_SPECS, *ADAM_SPECS)}


def read_xpt(path: Path) -> pd.DataFrame:
    """An XPT read by pandas (not by the writer's library), IBM zero read as 0.

    pandas counts records shorter than 80 bytes wrongly (it takes every 8-byte blank block of
    the last 80-byte card for padding, so a blank CMCLAS drops the last CM record; pyreadstat
    reads it): the count is set here from the transport rule instead, the data after the last
    non-blank byte being padding (our records always hold a USUBJID).
    """
    with pd.read_sas(path, format="xport", encoding="ascii", iterator=True) as reader:
        body = path.read_bytes()[reader.record_start :].rstrip(b" ")
        reader.nobs = -(-len(body) // reader.record_length)
        if reader.nobs == 0:  # pandas raises StopIteration on a data set with no records
            return pd.DataFrame(columns=reader.columns)
        frame = reader.read()
    numbers = frame.select_dtypes("number").columns
    frame[numbers] = frame[numbers].mask(frame[numbers].abs() < 1e-70, 0.0)
    return frame


@pytest.fixture
def exported(db: Database, actors: dict[Role, Actor], tmp_path: Path):  # noqa: F811
    build_tiny_cohort(db, actors[Role.CLINICIAN])
    researcher = actors[Role.RESEARCHER]
    export = cdisc_export(research_dataset(db, researcher), assessments_frame(db, researcher))
    folder = tmp_path / "cdisc"
    write_cdisc_export(export, folder)
    return folder, export, assessments_frame(db, researcher)


def _subject(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    return frame[frame["USUBJID"].str.endswith(code)]


def test_adpasi_by_hand_and_by_the_engine(exported):
    folder, _, assessments = exported
    adpasi = read_xpt(folder / "adpasi.xpt")
    total = adpasi[adpasi["PARAMCD"] == "PASITOT"].sort_values(["USUBJID", "ADY"])
    post = total[total["AVISITN"] > 0]
    # alpha then beta (USUBJID order follows research ids, so compare as a set of rows)
    rows = {
        (r.AVAL, r.BASE, r.CHG, round(r.PCHG, 6), r.ADY, r.CRIT1FL, r.CRIT2FL, r.CRIT3FL)
        for r in post.itertuples()
    }
    assert rows == {(4.0, 20.0, -16.0, -80.0, 85.0, "Y", "Y", "N"),
                    (16.0, 20.0, -4.0, -20.0, 85.0, "N", "N", "N")}  # fmt: skip
    base = total[total["ABLFL"] == "Y"]
    assert sorted(base["AVAL"]) == [16.0, 20.0, 20.0]  # gamma 16.0, alpha and beta 20.0
    assert set(base["AVISIT"]) == {"BASELINE"} and set(base["ADY"]) == {1.0}
    assert set(base["CRIT1FL"]) == {""}  # no response flag on a baseline record
    # The engine, run here on the same table, gives the same numbers row by row.
    engine = derive_responders(assessments.select("patient_id", "arm", "visit", "day", "pasi"))
    engine = engine.filter(pl.col("day") > 0, pl.col("pasi").is_not_null())
    for row in engine.iter_rows(named=True):
        mine = post[post["USUBJID"] == f"PSOTRACK-{row['patient_id']}"].iloc[0]
        assert (mine.BASE, mine.CHG, mine.PCHG) == (row["base"], row["chg"], row["pchg"])
        flags = [{1: "Y", 0: "N"}[row[f"pasi{t}"]] for t in (50, 75, 90)]
        assert [mine.CRIT1FL, mine.CRIT2FL, mine.CRIT3FL] == flags
    responders = adpasi[adpasi["PARAMCD"] == "PASI75"]
    assert sorted(zip(responders["AVAL"], responders["AVALC"], strict=True)) == [
        (0.0, "N"),  # beta
        (1.0, "Y"),  # alpha
    ]


def test_adtte_by_hand_and_by_the_engine(exported):
    folder, export, assessments = exported
    adtte = read_xpt(folder / "adtte.xpt")
    tte = adtte[adtte["PARAMCD"] == "TTPASI75"]
    # alpha reaches PASI 75 on day 84; beta censored at day 84; gamma, evaluable but never
    # seen after day 0, censored at 0. delta has no baseline: not at risk.
    got = sorted(zip(tte["AVAL"], tte["CNSR"], strict=True))
    assert got == [(0.0, 1.0), (84.0, 0.0), (84.0, 1.0)]
    engine = derive_time_to_event(assessments.select("patient_id", "arm", "visit", "day", "pasi"))
    assert got == sorted((float(t), float(1 - e)) for t, e in engine.select("time", "event").rows())
    # Both doses on day 0 → stop day 0; nobody reached PASI 50 by day 0 → no relapse records.
    assert export.relapse_stop_day == 0
    assert "TTRELAPS" not in set(adtte["PARAMCD"])


def test_adsl_populations(exported):
    folder, _, _ = exported
    adsl = read_xpt(folder / "adsl.xpt")
    assert len(adsl) == 4
    # alpha and beta dosed (SAFFL); alpha, beta and gamma have a baseline PASI > 0 (EFFFL).
    assert sorted(adsl["SAFFL"]) == ["N", "N", "Y", "Y"]
    assert sorted(adsl["EFFFL"]) == ["N", "Y", "Y", "Y"]
    assert set(adsl["AGE"]) == {55.0}  # born 1970-06-01, day 0 2026-01-05: 55 whole years


def test_sdtm_by_hand(exported):
    folder, _, _ = exported
    dm = read_xpt(folder / "dm.xpt")
    assert len(dm) == 4 and sorted(dm["SEX"]) == ["F", "M", "M", "M"]
    ex = read_xpt(folder / "ex.xpt")
    assert list(ex["EXSTDY"]) == [1.0, 1.0] and set(ex["EXDOSE"]) == {1.5e6}
    ae = read_xpt(folder / "ae.xpt")
    # beta's infection on 2026-01-15 = day 10 → AESTDY 11; alpha's reaction on day 0 → 1.
    assert sorted(zip(ae["AESTDY"], ae["AETOXGR"], ae["AESER"], strict=True)) == [
        (1.0, "2", "N"),
        (11.0, "3", "Y"),
    ]
    cm = read_xpt(folder / "cm.xpt")
    before = (date(2026, 1, 5) - date(2025, 6, 1)).days  # 218: no day-0 shift before day 0
    assert set(cm["CMSTDY"]) == {-before} and len(cm) == 3
    rs = read_xpt(folder / "rs.xpt")
    day_1 = rs[(rs["RSDY"] == 1.0) & (rs["RSTESTCD"].str.startswith("PALL"))]
    # W0 (day 0 → RSDY 1) of alpha, beta (lower limbs E4 I4 D2, area 5) and gamma (area 4).
    found = day_1.groupby("RSTESTCD")["RSSTRESN"].apply(sorted).to_dict()
    assert found == {
        "PALLER": [4.0] * 3,
        "PALLIN": [4.0] * 3,
        "PALLDE": [2.0] * 3,
        "PALLAR": [4.0, 5.0, 5.0],
    }
    assert not (rs[rs["RSTESTCD"].str.startswith("PAHD")]["RSSTRESN"] != 0).any()
    totals = rs[rs["RSTESTCD"] == "PASITOT"]
    assert sorted(totals["RSSTRESN"]) == [4.0, 16.0, 16.0, 20.0, 20.0]
    qs = read_xpt(folder / "qs.xpt")
    q7 = qs[qs["QSTESTCD"] == "DLQI107"]
    # dlqi(20) (alpha, beta at W0): q7 "no, a lot" = 2; dlqi(10) and dlqi(1) (W12): q7 is
    # item 7 > 10 // 2 and > 1 // 2 + 1, "no, not at all" = 0 (DLQI107 coded 3/2/1/0).
    assert sorted(zip(q7["QSORRES"], q7["QSSTRESN"], strict=True)) == [
        ("NO, A LOT", 2.0),
        ("NO, A LOT", 2.0),
        ("NO, NOT AT ALL", 0.0),
        ("NO, NOT AT ALL", 0.0),
    ]
    totals = qs[qs["QSTESTCD"] == "DLQITOT"]
    assert sorted(totals["QSSTRESN"]) == [1.0, 10.0, 20.0, 20.0]
    assert set(qs["QSTESTCD"]) == {f"DLQI1{n:02d}" for n in range(1, 11)} | {"DLQITOT"}


def test_v5_limits_and_define_list_every_variable(exported):
    folder, export, _ = exported
    define = pd.read_csv(folder / "define.csv", keep_default_na=False)
    for data in export.datasets:
        assert check_spec(data.spec) == []
        path = folder / f"{data.spec.name.lower()}.xpt"
        frame = read_xpt(path)
        assert list(frame.columns) == list(data.spec.names)
        listed = define[define["dataset"] == data.spec.name]
        assert list(listed["variable"]) == list(data.spec.names)
        assert (listed["label"].str.len() <= 40).all() and (listed["length"] <= 200).all()
        for variable in data.spec.variables:
            if variable.kind == "Char" and len(frame):
                longest = frame[variable.name].str.len().max()
                assert longest <= variable.length, (data.spec.name, variable.name)
    assert set(define["dataset"]) == set(ALL_SPECS)
    assert (define["variable"].str.len() <= 8).all()


def test_the_command_line_writes_and_refuses(tmp_path, capsys):
    """The command on a SQLite file of its own (the command line reaches it by URL)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    own = Database.from_engine(engine, photo_dir=tmp_path / "photos")
    users = {}
    for role in (Role.CLINICIAN, Role.RESEARCHER):
        form = {"username": role.value, "display_name": role.value, "role": role.value}
        users[role] = Actor(create_user(own, SYSTEM, form), role, role.value)
    build_tiny_cohort(own, users[Role.CLINICIAN])
    engine.dispose()
    out = tmp_path / "cli"
    args = ["export", "cdisc", "--output", str(out), "--user", "researcher", "--database-url", url]
    assert main([*args, "--standard", "adam"]) == 0
    assert sorted(p.name for p in out.glob("*.xpt")) == ["adpasi.xpt", "adsl.xpt", "adtte.xpt"]
    bad = [*args, "--standard", "sas", "--study-id", "no spaces", "--stop-day", "-1"]
    capsys.readouterr()
    assert main(bad) == 2
    # --standard, --study-id, --stop-day, and --output (exists now): one line each.
    assert len(capsys.readouterr().err.strip().splitlines()) == 4


def test_a_dlqi_with_a_blank_and_two_ticks_is_scored_by_the_instrument():
    """Q1 ticked "a lot" and "very much" → the higher, 3; Q2 blank (one blank allowed: no
    points, total counts it 0); Q7 "yes" → 3 (DLQI107 coding); the rest "not at all" → 0.
    Total 3 + 0 + 3 = 6 (instruments/dlqi.py rules)."""
    answers = {f"q{n}": "not at all" for n in range(1, 11)}
    answers |= {"q1": ["a lot", "very much"], "q2": None, "q7": "yes"}
    scored = score_responses(Instrument.DLQI, answers)
    assert scored.score == "6"
    tables = {
        "visits": pl.DataFrame({"research_id": ["PT-1"], "visit_key": [1], "visit_day": [0]}),
        "assessments": pl.DataFrame(
            {
                "research_id": ["PT-1"],
                "visit_key": [1],
                "instrument": ["dlqi"],
                "responses": [json.dumps(answers)],
                "score": [scored.score],
                "score_value": [scored.score_value],
            }
        ),
    }
    frame = qs(tables, "S1").frame
    got = {r["QSTESTCD"]: (r["QSORRES"], r["QSSTRESN"]) for r in frame.iter_rows(named=True)}
    assert got["DLQI101"] == ("A LOT + VERY MUCH", 3.0)
    assert got["DLQI102"] == (None, None)
    assert got["DLQI107"] == ("YES", 3.0)
    assert got["DLQITOT"] == ("6", 6.0)
    assert list(frame["QSDY"].unique()) == [1.0] and frame["USUBJID"][0] == "S1-PT-1"


def test_a_failed_write_leaves_no_folder(exported, tmp_path, monkeypatch):
    _, export, _ = exported

    def broken(*_args: object) -> None:
        raise RuntimeError("disk pulled out")

    monkeypatch.setattr("psotrack.interop.cdisc_files.write_xpt", broken)
    before = set(tmp_path.iterdir())
    with pytest.raises(RuntimeError, match="disk pulled out"):
        write_cdisc_export(export, tmp_path / "again")
    assert set(tmp_path.iterdir()) == before  # neither the folder nor its temporary one


def test_docstring_examples():
    import doctest

    from psotrack.interop import cdisc_specs

    result = doctest.testmod(cdisc_specs)
    assert result.attempted > 0 and result.failed == 0
