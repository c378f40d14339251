"""No identifier in any byte of a CDISC export (issue 17).

Reuses the research export's source database (the demo plus hand-made patients with distinctive
names, MRNs, birth dates, staff, free text in every free-text column, ages 89 and 90+) and its
byte scanner (tests/interop/test_research_export.py), which also fails on any ISO date: the
CDISC export holds study days only.
"""

from __future__ import annotations

import pandas as pd

from psotrack.endpoints import derive_time_to_relapse
from psotrack.interop.cdisc_files import cdisc_export, write_cdisc_export
from psotrack.services.research_export import research_dataset
from psotrack.services.timeline import assessments_frame
from tests.interop.test_research_export import identifiers, scan_export, source  # noqa: F401


def test_the_scanner_finds_no_identifier_in_any_byte(source, identifiers, tmp_path):  # noqa: F811
    researcher = source.researcher
    assessments = assessments_frame(source.db, researcher)
    export = cdisc_export(research_dataset(source.db, researcher), assessments)
    folder = tmp_path / "cdisc"
    write_cdisc_export(export, folder)
    assert len(list(folder.glob("*.xpt"))) == 11
    assert scan_export(folder, identifiers, None) == []
    # Philippa (89 at day 0) keeps her age; Bartholomew (90) is top-coded: AGE empty, 90+.
    dm = pd.read_sas(folder / "dm.xpt", format="xport", encoding="ascii")
    assert {"89", "90+"} <= set(dm["AGETXT"].replace("", None).dropna()) | {
        str(int(a)) for a in dm["AGE"].dropna()
    }
    # Time to relapse (the demo stops dosing): ADTTE as the engine gives it, run here.
    assert export.relapse_stop_day is not None
    adtte = pd.read_sas(folder / "adtte.xpt", format="xport", encoding="ascii")
    relapse = adtte[adtte["PARAMCD"] == "TTRELAPS"]
    columns = ["patient_id", "arm", "visit", "day", "pasi"]
    engine = derive_time_to_relapse(assessments.select(columns), export.relapse_stop_day)
    assert engine.height > 0
    mine = {
        (u, a, round(c))
        for u, a, c in zip(relapse["USUBJID"], relapse["AVAL"], relapse["CNSR"], strict=True)
    }
    assert mine == {
        (f"PSOTRACK-{p}", float(t), 1 - e)
        for p, t, e in engine.select("patient_id", "time", "event").rows()
    }
