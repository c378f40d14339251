"""The ADaM data set specs that :mod:`.cdisc_adam` fills and the define CSV lists."""

from __future__ import annotations

from typing import Final

from psotrack.interop.cdisc_specs import DatasetSpec, char, num

#: (threshold %, PARAMCD of the responder parameter, CRITy text) for CRIT1/CRIT2/CRIT3.
CRITERIA: Final = (
    (50, "PASI50", "PASI 50: >= 50% improvement from baseline"),
    (75, "PASI75", "PASI 75: >= 75% improvement from baseline"),
    (90, "PASI90", "PASI 90: >= 90% improvement from baseline"),
)
_ENGINE = "endpoints.derive_responders"
_DY = "psotrack study day + 1 when >= 0 (CDISC has no day 0)"

_IDS = (
    char("STUDYID", "Study Identifier", 20, "--study-id option (default PSOTRACK)"),
    char("USUBJID", "Unique Subject Identifier", 40, "STUDYID-research id"),
)
ADSL: Final = DatasetSpec(
    "ADSL",
    "Subject-Level Analysis Dataset",
    "ADaM",
    "ADSL: one record per subject",
    (
        *_IDS,
        char("SUBJID", "Subject Identifier for the Study", 20, "research id"),
        num("AGE", "Age", "DM.AGE (empty when 90+)"),
        char("AGEGR1", "Pooled Age Group 1", 10, "age at day 0, 90 or older as 90+"),
        char("SEX", "Sex", 1, "DM.SEX"),
        char("ARM", "Description of Planned Arm", 200, "DM.ARM"),
        char("TRT01P", "Planned Treatment for Period 01", 200, "DM.ARM"),
        char("SAFFL", "Safety Population Flag", 1, "Y when the subject had an administration"),
        char(
            "EFFFL",
            "Efficacy Population Flag",
            1,
            "Y when evaluable (baseline PASI > 0): endpoints.derive_baseline",
        ),
        num("TRTSDY", "Study Day of First Exposure", f"first administration: {_DY}"),
        num("TRTEDY", "Study Day of Last Exposure", f"last administration: {_DY}"),
        char(
            "SYNTHFL", "Demo (synthetic) Record Flag", 1, "Y for synthetic demo records (psotrack)"
        ),
    ),
)
ADPASI: Final = DatasetSpec(
    "ADPASI",
    "PASI Analysis Dataset",
    "ADaM",
    "BDS: one record per subject, parameter and visit",
    (
        *_IDS,
        char("TRTP", "Planned Treatment", 200, "arm of the assessment table"),
        char(
            "PARAMCD",
            "Parameter Code",
            8,
            "PASITOT (total); PASI50/PASI75/PASI90 (responders, post-baseline only)",
        ),
        char("PARAM", "Parameter", 200, "text of PARAMCD"),
        num("AVAL", "Analysis Value", f"PASI total as recorded; responders 1/0 from {_ENGINE}"),
        char("AVALC", "Analysis Value (C)", 1, "responders: Y/N of AVAL"),
        num("BASE", "Baseline Value", f"base from {_ENGINE} (last PASI on or before day 0)"),
        num("CHG", "Change from Baseline", f"chg from {_ENGINE} (post-baseline PASITOT)"),
        num("PCHG", "Percent Change from Baseline", f"pchg from {_ENGINE} (evaluable only)"),
        char("ABLFL", "Baseline Record Flag", 1, "Y on the last PASI on or before day 0"),
        char("AVISIT", "Analysis Visit", 20, "BASELINE on the ABLFL record, else DAY + day"),
        num("AVISITN", "Analysis Visit (N)", "psotrack study day (day 0 = first dose)"),
        num("ADY", "Analysis Relative Day", _DY),
        *(
            variable
            for number, (threshold, _, _) in enumerate(CRITERIA, start=1)
            for variable in (
                char(f"CRIT{number}", f"Analysis Criterion {number}", 60, "criterion text"),
                char(
                    f"CRIT{number}FL",
                    f"Criterion {number} Evaluation Result Flag",
                    1,
                    f"pasi{threshold} from {_ENGINE}: Y/N, empty where not assessable",
                ),
            )
        ),
    ),
)
ADTTE: Final = DatasetSpec(
    "ADTTE",
    "Time-to-Event Analysis Dataset",
    "ADaM",
    "BDS-TTE: one record per subject and parameter",
    (
        *_IDS,
        char("TRTP", "Planned Treatment", 200, "arm of the assessment table"),
        char(
            "PARAMCD",
            "Parameter Code",
            8,
            "TTPASI75 (from day 0); TTRELAPS (from the stop day, responders to PASI 50)",
        ),
        char("PARAM", "Parameter", 200, "text of PARAMCD"),
        num(
            "AVAL",
            "Analysis Value",
            "days: time from endpoints.derive_time_to_event(75) / derive_time_to_relapse",
        ),
        char("AVALU", "Analysis Value Unit", 10, 'constant "DAYS"'),
        num("CNSR", "Censor", "1 - event of the same engine function (0 event, 1 censored)"),
        num("STARTDY", "Time-to-Event Origin Study Day", f"day 0 or the stop day: {_DY}"),
        char("EVNTDESC", "Event or Censoring Description", 60, "event, or last PASI (censored)"),
    ),
)
ADAM_SPECS: Final = (ADSL, ADPASI, ADTTE)
