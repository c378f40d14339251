"""The shipped table of published MSC psoriasis counts: loads, validates, recomputes intervals.

Known answers: Cheng L, et al. Signal Transduct Target Ther 2022;7:263 (abstract: 8/17 reached at
least PASI 40, 3/17 PGA 0/1); Yao D, et al. Ann Transl Med 2021;9:1653 (2 of 7 kept PASI 50 at one
year). Intervals are checked against statsmodels' Clopper–Pearson (``method="beta"``).
"""

import copy
import json
from importlib import resources

import pytest
from statsmodels.stats.proportion import proportion_confint

from psotrack.errors import ValidationError
from psotrack.evidence import (
    KNOWN_ENDPOINTS,
    derive_published_rates,
    load_published_table,
    parse_published_table,
)


def _document() -> dict:
    text = resources.files("psotrack").joinpath("data/trials.json").read_text(encoding="utf-8")
    return json.loads(text)


def _row(frame, study_id, endpoint):
    rows = frame.filter((frame["study_id"] == study_id) & (frame["endpoint"] == endpoint))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_shipped_table_loads_with_version_and_whole_counts():
    table = load_published_table()
    assert table.version == "1.0.0"
    assert table.label.startswith("version 1.0.0 (")
    for row in table.rows:
        assert type(row.responders) is int and type(row.denominator) is int
        assert 0 <= row.responders <= row.denominator <= row.n_enrolled
        assert row.endpoint in KNOWN_ENDPOINTS
        assert row.doi and row.authors and row.journal


def test_cheng_pasi40_rate_and_exact_interval_match_statsmodels():
    row = _row(derive_published_rates(load_published_table()), "cheng2022", "PASI40")
    assert (row["responders"], row["denominator"]) == (8, 17)
    assert row["rate"] == 8 / 17
    low, high = proportion_confint(8, 17, alpha=0.05, method="beta")
    assert row["ci_low"] == pytest.approx(low, abs=1e-12)
    assert row["ci_high"] == pytest.approx(high, abs=1e-12)
    # trials.md: "an observed 47 % has an exact 95 % interval of about 23–72 %"
    # (quoted to two decimals: compared to half a unit of that digit, not by rounding)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.23, 0.72), abs=5e-3)


def test_cheng_pga01_is_3_of_17():
    row = _row(derive_published_rates(load_published_table()), "cheng2022", "PGA01")
    assert (row["responders"], row["denominator"]) == (3, 17)
    low, high = proportion_confint(3, 17, alpha=0.05, method="beta")
    assert row["ci_low"] == pytest.approx(low, abs=1e-12)
    assert row["ci_high"] == pytest.approx(high, abs=1e-12)


def test_every_shipped_interval_is_recomputed_exactly():
    frame = derive_published_rates(load_published_table())
    for row in frame.iter_rows(named=True):
        low, high = proportion_confint(row["responders"], row["denominator"], method="beta")
        assert row["rate"] == row["responders"] / row["denominator"]
        assert row["ci_low"] == pytest.approx(low, abs=1e-12)
        assert row["ci_high"] == pytest.approx(high, abs=1e-12)
        assert row["ci_method"] == "exact" and row["table_version"] == "1.0.0"


def test_unconfirmed_pasi75_one_third_claim_is_not_shipped():
    # trials.md: "treat it as unverified and do not ship it as data".
    table = load_published_table()
    assert not [r for r in table.rows if r.study_id == "cheng2022" and r.endpoint == "PASI75"]
    assert any("PASI 75" in item for item in table.omitted)


def test_table_data_holds_no_typed_rates_or_intervals():
    for raw in _document()["rows"]:
        assert not {"rate", "ci_low", "ci_high"} & set(raw)


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"responders": 18}, "responders", "row 1: responders=18 is outside 0–17"),
        ({"responders": 8.0}, "responders", "responders=8.0 is not a whole number"),
        ({"denominator": True}, "denominator", "denominator=True is not a whole number"),
        ({"denominator": 20}, "denominator", "denominator=20 is outside 1–17"),
        ({"endpoint": "PASI 40"}, "endpoint", "endpoint='PASI 40': one of PASI40"),
        ({"verified": "yes"}, "verified", "verified='yes' is not true or false"),
        ({"rate": 0.47}, "rate", "rate=0.47: not a field of the evidence table"),
        ({"doi": ""}, "doi", "doi='' is not a non-empty text"),
    ],
)
def test_bad_rows_are_refused_naming_row_field_and_value(change, field, text):
    document = _document()
    document["rows"][0].update(change)
    with pytest.raises(ValidationError) as caught:
        parse_published_table(document)
    assert caught.value.field == field
    assert text in str(caught.value)
    assert caught.value.problems[0].row == 1


def test_missing_field_and_every_problem_reported():
    document = _document()
    del document["rows"][0]["time_point"]
    document["rows"][2]["responders"] = -1
    with pytest.raises(ValidationError) as caught:
        parse_published_table(document)
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {(1, "time_point"), (3, "responders")}


def test_duplicate_study_endpoint_time_point_is_refused():
    document = _document()
    document["rows"].append(copy.deepcopy(document["rows"][0]))
    with pytest.raises(ValidationError, match="repeats row 1"):
        parse_published_table(document)


def test_version_must_be_semver_and_date_iso():
    document = _document()
    document["version"], document["date"] = "v1", "25/11/2026"
    with pytest.raises(ValidationError) as caught:
        parse_published_table(document)
    assert [p.field for p in caught.value.problems] == ["version", "date"]


def test_case_report_keeps_its_count_but_gets_no_interval():
    document = _document()
    case = copy.deepcopy(document["rows"][0])
    case.update(study_id="case2018", design="case report", n_enrolled=1, responders=1)
    case.update(denominator=1, endpoint="PASI75", verified=False)
    document["rows"] = [case]
    row = derive_published_rates(parse_published_table(document)).row(0, named=True)
    assert row["rate"] == 1.0 and row["verified"] is False
    assert row["ci_low"] is None and row["ci_high"] is None and row["ci_method"] is None
