"""The SDTM data set specs and code lists that :mod:`.cdisc_sdtm` fills and the define CSV lists.

Codes marked "psotrack code" are not (or not confirmably) CDISC controlled terminology; the
define CSV says so beside each of them.
"""

from __future__ import annotations

from typing import Final

from psotrack.interop.cdisc_specs import DatasetSpec, Variable, char, num

_RESEARCH = "research export (services/research_tables.py)"
_DY = "psotrack study day (day 0 = first administration) + 1 when >= 0 (CDISC has no day 0)"


def _ids(domain: str) -> tuple[Variable, ...]:
    return (
        char("STUDYID", "Study Identifier", 20, "--study-id option (default PSOTRACK)"),
        char("DOMAIN", "Domain Abbreviation", 2, f'constant "{domain}"'),
        char("USUBJID", "Unique Subject Identifier", 40, "STUDYID-research id (never the MRN)"),
    )


DM: Final = DatasetSpec(
    "DM",
    "Demographics",
    "SDTM",
    "one record per subject",
    (
        *_ids("DM"),
        char("SUBJID", "Subject Identifier for the Study", 20, "research id"),
        num("AGE", "Age", f"whole years at day 0 from the {_RESEARCH}; empty when 90+"),
        char("AGETXT", "Age Range", 10, "90+ for ages of 90 or more (top-coded), else empty"),
        char("AGEU", "Age Units", 5, 'constant "YEARS"'),
        char("SEX", "Sex", 1, "female F, male M, other or unknown U"),
        char("ARMCD", "Planned Arm Code", 20, "ARM with letters and digits only, 20 at most"),
        char("ARM", "Description of Planned Arm", 200, "newest enrollment's arm, upper case"),
        char("ACTARM", "Description of Actual Arm", 200, "as ARM (psotrack records one arm)"),
        char(
            "SYNTHFL", "Demo (synthetic) Record Flag", 1, "Y for synthetic demo records (psotrack)"
        ),
    ),
)
EX: Final = DatasetSpec(
    "EX",
    "Exposure",
    "SDTM",
    "one record per administration",
    (
        *_ids("EX"),
        num("EXSEQ", "Sequence Number", "1, 2, ... per subject by EXSTDY"),
        char("EXTRT", "Name of Treatment", 200, "product source (coded), e.g. UC-MSC"),
        num("EXDOSE", "Dose", "cells per kg body weight as recorded"),
        char("EXDOSU", "Dose Units", 20, 'constant "cells/kg"'),
        char("EXROUTE", "Route of Administration", 40, "route coded to CDISC ROUTE terms"),
        num("EXSTDY", "Study Day of Start of Treatment", f"start: {_DY}"),
        num("EXENDY", "Study Day of End of Treatment", f"stop: {_DY}"),
    ),
)
CM: Final = DatasetSpec(
    "CM",
    "Concomitant/Prior Medications",
    "SDTM",
    "one record per therapy",
    (
        *_ids("CM"),
        num("CMSEQ", "Sequence Number", "1, 2, ... per subject by CMSTDY"),
        char("CMTRT", "Reported Name of Drug, Med, or Therapy", 200, "therapy class (coded)"),
        char("CMCLAS", "Medication Class", 200, "biologic target (coded) when a biologic"),
        num("CMSTDY", "Study Day of Start of Medication", f"start: {_DY}"),
        num("CMENDY", "Study Day of End of Medication", f"stop: {_DY}"),
    ),
)
AE: Final = DatasetSpec(
    "AE",
    "Adverse Events",
    "SDTM",
    "one record per event",
    (
        *_ids("AE"),
        num("AESEQ", "Sequence Number", "1, 2, ... per subject by AESTDY"),
        char("AETERM", "Reported Term for the Adverse Event", 200, "coded term (no verbatim)"),
        char("AEDECOD", "Dictionary-Derived Term", 200, "coded term (CTCAE v5 term)"),
        char("AETOXGR", "Standard Toxicity Grade", 1, "CTCAE grade 1-5"),
        char("AESER", "Serious Event", 1, "Y or N"),
        char("AEREL", "Causality", 40, "relatedness (WHO-UMC category), upper case"),
        char("AEOUT", "Outcome of Adverse Event", 40, "outcome, upper case"),
        num("AESTDY", "Study Day of Start of Adverse Event", f"onset: {_DY}"),
        num("AEENDY", "Study Day of End of Adverse Event", f"resolution: {_DY}"),
    ),
)
LB: Final = DatasetSpec(
    "LB",
    "Laboratory Test Results",
    "SDTM",
    "one record per test per sample",
    (
        *_ids("LB"),
        num("LBSEQ", "Sequence Number", "1, 2, ... per subject by LBDY, LBTESTCD"),
        char(
            "LBTESTCD",
            "Lab Test or Examination Short Name",
            8,
            "analyte code (LAB_CODES; CDISC CT not checked offline)",
        ),
        char("LBTEST", "Lab Test or Examination Name", 40, "analyte name, ASCII"),
        char("LBORRES", "Result or Finding in Original Units", 200, "value as recorded"),
        char("LBORRESU", "Original Units", 40, "UCUM unit as recorded"),
        char("LBORNRLO", "Reference Range Lower Limit in Orig Unit", 40, "as recorded"),
        char("LBORNRHI", "Reference Range Upper Limit in Orig Unit", 40, "as recorded"),
        num("LBSTRESN", "Numeric Result/Finding in Standard Units", "value (no conversion)"),
        char("LBSTRESU", "Standard Units", 40, "as LBORRESU (no conversion)"),
        num("LBDY", "Study Day of Specimen Collection", f"sample: {_DY}"),
    ),
)
VS: Final = DatasetSpec(
    "VS",
    "Vital Signs",
    "SDTM",
    "one record per vital sign per time point",
    (
        *_ids("VS"),
        num("VSSEQ", "Sequence Number", "1, 2, ... per subject by VSDY, VSTPT, VSTESTCD"),
        char("VSTESTCD", "Vital Signs Test Short Name", 8, "CDISC VSTESTCD (VITAL_CODES)"),
        char("VSTEST", "Vital Signs Test Name", 40, "CDISC VSTEST"),
        char("VSORRES", "Result or Finding in Original Units", 200, "value as recorded"),
        char("VSORRESU", "Original Units", 40, "unit of the infusion form"),
        num("VSSTRESN", "Numeric Result/Finding in Standard Units", "value"),
        char("VSSTRESU", "Standard Units", 40, "as VSORRESU"),
        char("VSTPT", "Planned Time Point Name", 40, "BEFORE or AFTER INFUSION"),
        num("VSDY", "Study Day of Vital Signs", f"infusion start: {_DY}"),
    ),
)
RS: Final = DatasetSpec(
    "RS",
    "Disease Response and Clin Classification",
    "SDTM",
    "one record per PASI item per assessment",
    (
        *_ids("RS"),
        num("RSSEQ", "Sequence Number", "1, 2, ... per subject by RSDY, RSTESTCD"),
        char(
            "RSTESTCD",
            "Assessment Short Name",
            8,
            "psotrack code (CDISC PASI V2 RSTESTCD not confirmed): PA + region HD/UL/TR/LL "
            "+ ER/IN/DE/AR; PASITOT the total",
        ),
        char("RSTEST", "Assessment Test Name", 40, "region and item, or PASI Total Score"),
        char("RSCAT", "Category for Assessment", 20, 'constant "PASI" (layout of CDISC PASI V2)'),
        char("RSORRES", "Result or Finding in Original Units", 200, "grade 0-4, area score 0-6"),
        char("RSSTRESC", "Character Result/Finding in Std Format", 200, "as RSORRES"),
        num(
            "RSSTRESN",
            "Numeric Result/Finding in Standard Units",
            "item as recorded; area score and total from instruments/pasi.py",
        ),
        char("VISIT", "Visit Name", 20, "DAY + psotrack study day"),
        num("RSDY", "Study Day of Assessment", f"visit: {_DY}"),
    ),
)
QS: Final = DatasetSpec(
    "QS",
    "Questionnaires",
    "SDTM",
    "one record per DLQI item per questionnaire",
    (
        *_ids("QS"),
        num("QSSEQ", "Sequence Number", "1, 2, ... per subject by QSDY, QSTESTCD"),
        char(
            "QSTESTCD",
            "Question Short Name",
            8,
            "CDISC QRS DLQI101-DLQI110; DLQITOT the total (psotrack code)",
        ),
        char("QSTEST", "Question Name", 40, "psotrack short neutral label (not the wording)"),
        char("QSCAT", "Category of Question", 20, 'constant "DLQI"'),
        char("QSORRES", "Finding in Original Units", 200, "answer ticked, upper case"),
        char("QSSTRESC", "Character Result/Finding in Std Format", 200, "points as text"),
        num(
            "QSSTRESN",
            "Numeric Finding in Standard Units",
            "points 0-3 (DLQI107: 3 yes, 2/1/0 follow-up) and total, from instruments/dlqi.py",
        ),
        char("VISIT", "Visit Name", 20, "DAY + psotrack study day"),
        num("QSDY", "Study Day of Finding", f"visit: {_DY}"),
    ),
)
SDTM_SPECS: Final = (DM, EX, CM, AE, LB, VS, RS, QS)

#: Region → (two-letter part of RSTESTCD, RSTEST words). psotrack codes.
PASI_REGION_CODES: Final = {
    "head": ("HD", "Head"),
    "upper_limbs": ("UL", "Upper Limbs"),
    "trunk": ("TR", "Trunk"),
    "lower_limbs": ("LL", "Lower Limbs"),
}
#: Item → (two-letter part of RSTESTCD, RSTEST words). psotrack codes.
PASI_SIGN_CODES: Final = {
    "erythema": ("ER", "Erythema"),
    "induration": ("IN", "Induration"),
    "desquamation": ("DE", "Desquamation"),
    "area": ("AR", "Area Score"),
}
#: Analyte → (LBTESTCD, LBTEST). The haematology and chemistry codes are the usual CDISC
#: LBTESTCD terms and the cytokine codes follow their pattern, written from memory: check them
#: against the current CDISC CT before a submission. The T-cell fractions (TREG, TH17, CD4MEM,
#: TH1) are psotrack codes and say so in LBTEST.
LAB_CODES: Final = {
    "treg_pct_cd4": ("TREG", "Treg/CD4+ T cells (psotrack code)"),
    "th17_pct_cd4": ("TH17", "Th17/CD4+ T cells (psotrack code)"),
    "cd4_memory_pct": ("CD4MEM", "CD4+ memory/CD4+ T cells (psotrack code)"),
    "th1_pct_cd4": ("TH1", "Th1/CD4+ T cells (psotrack code)"),
    "il17a": ("IL17A", "Interleukin 17A"),
    "il22": ("IL22", "Interleukin 22"),
    "ifng": ("IFNG", "Interferon Gamma"),
    "tnfa": ("TNFA", "Tumor Necrosis Factor Alpha"),
    "il23": ("IL23", "Interleukin 23"),
    "crp": ("CRP", "C Reactive Protein"),
    "wbc": ("WBC", "Leukocytes"),
    "neutrophils": ("NEUT", "Neutrophils"),
    "lymphocytes": ("LYM", "Lymphocytes"),
    "platelets": ("PLAT", "Platelets"),
    "haemoglobin": ("HGB", "Hemoglobin"),
    "alt": ("ALT", "Alanine Aminotransferase"),
    "ast": ("AST", "Aspartate Aminotransferase"),
    "bilirubin": ("BILI", "Bilirubin"),
    "creatinine": ("CREAT", "Creatinine"),
    "egfr": ("EGFR", "Glomerular Filtration Rate, Estimated"),
}
#: Infusion-form vital → (VSTESTCD, VSTEST, unit); CDISC VSTESTCD terms.
VITAL_CODES: Final = {
    "systolic": ("SYSBP", "Systolic Blood Pressure", "mmHg"),
    "diastolic": ("DIABP", "Diastolic Blood Pressure", "mmHg"),
    "heart_rate": ("PULSE", "Pulse Rate", "beats/min"),
    "respiratory_rate": ("RESP", "Respiratory Rate", "breaths/min"),
    "temperature_c": ("TEMP", "Temperature", "C"),
    "spo2": ("OXYSAT", "Oxygen Saturation", "%"),
}
