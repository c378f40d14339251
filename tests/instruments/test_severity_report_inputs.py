"""classify_severity passes every input it is given to every rule that reads it.

Pinned after the mutation run (docs/mutation.md). Rule of tens (Finlay 2005, reference
instruments.md): severe when BSA > 10 or PASI > 10 or DLQI > 10.
"""

from psotrack.instruments.severity import BSA_NPF_AAD, RULE_OF_TENS, classify_severity


def test_dlqi_alone_makes_the_rule_of_tens_severe():
    # PASI 3 and BSA 2 are below 10; DLQI 12 > 10 → severe, and the reason says which
    report = classify_severity(pasi=3, bsa=2, dlqi=12)
    tens = report.results[0]
    assert (tens.rule, tens.category, tens.reason) == (RULE_OF_TENS, "severe", "DLQI 12 > 10")


def test_bsa_is_classified_when_no_pasi_is_given():
    # BSA 12 > 10: severe by the rule of tens and by NPF/AAD (> 10)
    report = classify_severity(bsa=12)
    assert [(r.rule, r.category) for r in report.results] == [
        (RULE_OF_TENS, "severe"),
        (BSA_NPF_AAD.name, "severe"),
    ]
