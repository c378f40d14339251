"""REDCap files: the data dictionary, the export's rows, checkboxes, labels and branching logic."""

from pathlib import Path

import pytest

from psotrack.errors import ValidationError
from psotrack.interop.dlqi_items import dlqi_answer, dlqi_responses
from psotrack.interop.redcap_files import (
    RecordRow,
    checked_codes,
    choice_code,
    parse_choices,
    read_dictionary,
    read_records,
    unique_event_name,
)
from psotrack.interop.redcap_logic import shown
from psotrack.interop.redcap_mapping import mapping_from, read_mapping

DATA = Path(__file__).parents[1] / "data" / "redcap"


def row(**cells: str) -> RecordRow:
    return RecordRow("1", "baseline_arm_1", None, None, dict(cells))


def test_dictionary_is_read_by_position_with_its_choices():
    dictionary = read_dictionary(DATA / "dictionary.csv")
    assert dictionary.record_field == "record_id"
    criteria = dictionary.fields["ae_serious_criteria"]
    assert criteria.field_type == "checkbox"
    assert criteria.choices["3"] == "Hospitalisation"
    assert criteria.branching == "[ae_serious] = '1'"
    assert dictionary.fields["ae_verbatim_term"].identifier
    # yesno fields have REDCap's fixed choices
    assert choice_code(dictionary.fields["ae_serious"], "Yes") == "1"


def test_a_dictionary_without_the_18_columns_is_refused(tmp_path):
    bad = tmp_path / "dict.csv"
    bad.write_text("Variable / Field Name,Form Name,Field Type\nrecord_id,visit,text\n")
    with pytest.raises(ValidationError, match="18 data dictionary columns"):
        read_dictionary(bad)


def test_every_bad_dictionary_row_is_named(tmp_path):
    text = (DATA / "dictionary.csv").read_text().splitlines()
    text[2] = text[2].replace(",text,", ",textbox,", 1)  # line 3: an unknown field type
    text.append("pga_grade" + text[-1][text[-1].index(",") :])  # a field named twice
    bad = tmp_path / "dict.csv"
    bad.write_text("\n".join(text) + "\n")
    with pytest.raises(ValidationError) as refused:
        read_dictionary(bad)
    messages = [str(p) for p in refused.value.problems]
    assert any("dictionary line 3: visit_date field type='textbox'" in m for m in messages)
    assert any("field name='pga_grade': each field once" in m for m in messages)


def test_choices_keep_commas_inside_labels():
    assert parse_choices("1, Mild | 2, Moderate, marked") == {"1": "Mild", "2": "Moderate, marked"}


def test_labels_export_reads_back_as_codes():
    dictionary = read_dictionary(DATA / "dictionary.csv")
    grade = dictionary.fields["pga_grade"]
    assert choice_code(grade, "3") == "3"
    assert choice_code(grade, "moderate") == "3"  # label, any case
    assert choice_code(grade, "Very bad") is None


def test_event_labels_become_unique_event_names():
    assert unique_event_name("Week 4 (Arm 2: Standard care)") == "week_4_arm_2"
    assert unique_event_name("baseline_arm_1") == "baseline_arm_1"


def test_checkbox_columns_raw_and_labelled():
    dictionary = read_dictionary(DATA / "dictionary.csv")
    criteria = dictionary.fields["ae_serious_criteria"]
    raw = row(**{f"ae_serious_criteria___{i}": "1" if i in (2, 3) else "0" for i in range(1, 5)})
    assert checked_codes(raw, criteria) == (["2", "3"], [])
    labelled = row(ae_serious_criteria___1="Unchecked", ae_serious_criteria___3="Checked")
    assert checked_codes(labelled, criteria) == (["3"], [])
    codes, problems = checked_codes(row(ae_serious_criteria___1="yes please"), criteria)
    assert codes == [] and problems[0].field == "ae_serious_criteria___1"


def test_branching_logic_hides_a_field():
    dictionary = read_dictionary(DATA / "dictionary.csv")
    criteria = dictionary.fields["ae_serious_criteria"]
    assert shown(criteria, row(ae_serious="1"), dictionary)
    assert shown(criteria, row(ae_serious="Yes"), dictionary)  # labels export
    assert not shown(criteria, row(ae_serious="0"), dictionary)
    assert not shown(criteria, row(), dictionary)


def test_unreadable_branching_logic_leaves_the_field_shown():
    dictionary = read_dictionary(DATA / "dictionary.csv")
    item = dictionary.fields["pasi_head_area"]
    odd = type(item)(**{**item.__dict__, "branching": "datediff([a], 'today', 'd') > 3"})
    assert shown(odd, row(), dictionary)
    both = type(item)(**{**item.__dict__, "branching": "([pasi_done] = '1' or [pga_grade] <> '')"})
    assert shown(both, row(pga_grade="2"), dictionary)
    assert not shown(both, row(pasi_done="0"), dictionary)


def test_export_columns_unknown_to_the_dictionary_are_refused(tmp_path):
    dictionary = read_dictionary(DATA / "dictionary.csv")
    bad = tmp_path / "records.csv"
    bad.write_text("record_id,redcap_event_name,pasi_colour,lab_units\n1,baseline_arm_1,red,mg\n")
    with pytest.raises(ValidationError) as refused:
        read_records(bad, dictionary)
    assert [p.value for p in refused.value.problems] == ["pasi_colour", "lab_units"]


def test_repeat_rows_keep_their_instance():
    dictionary = read_dictionary(DATA / "dictionary.csv")
    rows = read_records(DATA / "records_labels.csv", dictionary)
    ae = [r for r in rows if r.repeat_instrument == "adverse_events"]
    assert [(r.event, r.instance) for r in ae] == [("week_4_arm_1", 1), ("week_4_arm_1", 2)]
    assert ae[1].where == "record 1, event week_4_arm_1, instance 2"


def test_mapping_overrides_and_refusals(tmp_path):
    mapping = mapping_from({"pasi": {"fields": {"trunk_area": "tr_a"}, "calculated": "p"}})
    assert mapping.field("pasi", "trunk_area") == "tr_a"
    assert mapping.field("pasi", "head_area") == "pasi_head_area"
    assert mapping.calculated["pasi"] == "p"
    source = tmp_path / "map.toml"
    source.write_text('[pasi.fields]\ntrunk_colour = "x"\n[pga]\nscale = 7\n[lab]\n')
    with pytest.raises(ValidationError) as refused:
        read_mapping(source)
    fields = [p.field for p in refused.value.problems]
    assert fields == ["mapping [lab]", "mapping [pasi.fields] trunk_colour", "mapping [pga] scale"]


def test_dlqi_items_coded_as_cdisc_qs():
    # instruments.md: 3/2/1/0 = very much/a lot/a little/not at all; DLQI107: 3 = yes,
    # 2/1/0 = "no", then a lot/a little/not at all.
    assert [dlqi_answer(1, c) for c in "3210"] == ["very much", "a lot", "a little", "not at all"]
    assert [dlqi_answer(7, c) for c in "3210"] == [
        "yes",
        "no, a lot",
        "no, a little",
        "no, not at all",
    ]
    assert dlqi_answer(7, "Yes") == "yes" and dlqi_answer(3, "A LOT") == "a lot"
    assert (
        dlqi_answer(5, "") is None and dlqi_answer(5, "4") is ... and dlqi_answer(5, "3.0") is ...
    )
    responses, problems = dlqi_responses(
        ["3", "2", "1", "0", None, "0", "9", "0", "0", "0"],
        [f"DLQI{100 + n}" for n in range(1, 11)],
    )
    assert responses["q5"] is None and responses["q7"] is None
    assert [(p.field, p.value) for p in problems] == [("DLQI107", "9")]


@pytest.mark.parametrize("module", ["psotrack.interop.redcap_files", "psotrack.interop.dlqi_items"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_dlqi_choices_are_read_by_their_labels_when_coded_otherwise(tmp_path):
    """A project coding DLQI 1 = very much … 4 = not at all: its labels decide, not the codes."""
    from psotrack.services.redcap_plan import plan_redcap

    header = (DATA / "dictionary.csv").read_text().splitlines()[0]
    choices = '"1, Very much | 2, A lot | 3, A little | 4, Not at all"'
    q7 = '"1, Yes | 2, No - a lot | 3, No - a little | 4, No - not at all"'
    lines = [header, "record_id,visit,,text,Record ID" + "," * 13]
    lines.append("visit_date,visit,,text,Date" + "," * 13)
    for n in range(1, 11):
        lines.append(f"dlqi_q{n},dlqi,,radio,Item {n},{q7 if n == 7 else choices}" + "," * 12)
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    items = ",".join(f"dlqi_q{n}" for n in range(1, 11))
    (tmp_path / "r.csv").write_text(
        f"record_id,redcap_event_name,visit_date,{items}\n"
        "9,baseline_arm_1,2024-01-08,1,2,3,4,4,4,1,4,4,4\n"
    )
    dictionary = read_dictionary(tmp_path / "d.csv")
    plan = plan_redcap(
        dictionary, read_records(tmp_path / "r.csv", dictionary), mapping_from({}), None
    )
    assert plan.problems == []
    responses = plan.records["9"].visits["baseline_arm_1"].assessments[0].responses
    assert [responses[f"q{n}"] for n in (1, 2, 3, 4, 7)] == [
        "very much",
        "a lot",
        "a little",
        "not at all",
        "yes",
    ]
