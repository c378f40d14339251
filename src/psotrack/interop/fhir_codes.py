"""The code systems, identifier systems and extension URLs psotrack's FHIR R4 Bundles use.

Standard codes where one exists (SNOMED CT and ICD-10 for the condition, UCUM for units, HL7's
adverse-event code systems, LOINC for a few routine labs); a psotrack code system with a stable
URL where none does — no LOINC code exists for PASI, DLQI or BSA-affected % (8277-6 is body
surface area in m², a different quantity), nor for PASI's region parts.
"""

from __future__ import annotations

from typing import Final

from psotrack.store.vocabulary import (
    AeOutcome,
    EnrollmentStatus,
    Instrument,
    PsoriasisType,
)

#: The FHIR version every Bundle is written in and every Bundle read must state.
FHIR_VERSION: Final = "4.0.1"
BASE: Final = "https://psotrack.org/fhir"
#: Bundle.meta.tag carrying the FHIR version (R4 has no Bundle-level version element).
VERSION_TAG_SYSTEM: Final = f"{BASE}/CodeSystem/fhir-version"

SCORES: Final = f"{BASE}/CodeSystem/scores"
ANALYTES: Final = f"{BASE}/CodeSystem/analytes"
VISIT_TYPES: Final = f"{BASE}/CodeSystem/visit-types"
PSORIASIS_TYPES: Final = f"{BASE}/CodeSystem/psoriasis-types"
PRODUCTS: Final = f"{BASE}/CodeSystem/cell-products"
ROUTES: Final = f"{BASE}/CodeSystem/routes"
AE_TERMS: Final = f"{BASE}/CodeSystem/ae-terms"
RELATEDNESS: Final = f"{BASE}/CodeSystem/relatedness"
THERAPY_CLASSES: Final = f"{BASE}/CodeSystem/therapy-classes"
MRN: Final = f"{BASE}/sid/mrn"
RESEARCH_ID: Final = f"{BASE}/sid/research-id"
VISIT_LABEL: Final = f"{BASE}/sid/visit-label"
EXTENSION: Final = f"{BASE}/StructureDefinition/"

SNOMED: Final = "http://snomed.info/sct"
ICD10: Final = "http://hl7.org/fhir/sid/icd-10"
LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"
AE_SERIOUSNESS: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_OUTCOME: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"

#: SNOMED CT 9014002 "Psoriasis (disorder)", confirmed in public FHIR guides; the plaque
#: sub-concept (200965009) is not written until it is checked in a terminology browser.
PSORIASIS_SNOMED: Final = ("9014002", "Psoriasis (disorder)")
#: ICD-10 (WHO) per psoriasis type: L40.0 vulgaris, L40.4 guttate, L40.1 generalised pustular;
#: inverse (flexural) and erythrodermic fall under L40.8 "other psoriasis" (psotrack's choice).
ICD10_OF_TYPE: Final = {
    PsoriasisType.PLAQUE: ("L40.0", "Psoriasis vulgaris"),
    PsoriasisType.GUTTATE: ("L40.4", "Guttate psoriasis"),
    PsoriasisType.PUSTULAR: ("L40.1", "Generalized pustular psoriasis"),
    PsoriasisType.INVERSE: ("L40.8", "Other psoriasis"),
    PsoriasisType.ERYTHRODERMIC: ("L40.8", "Other psoriasis"),
    PsoriasisType.OTHER: ("L40.9", "Psoriasis, unspecified"),
}

#: Instrument → code in the psotrack scores code system (and its UCUM unit).
SCORE_CODES: Final = {
    Instrument.PASI: ("pasi", "PASI total", "{score}"),
    Instrument.BSA: ("bsa", "Body surface area affected", "%"),
    Instrument.PGA: ("pga", "Physician global assessment", "{score}"),
    Instrument.DLQI: ("dlqi", "DLQI total", "{score}"),
    Instrument.ITCH_NRS: ("itch-nrs", "Itch numeric rating scale", "{score}"),
    Instrument.PSSI: ("pssi", "PSSI total", "{score}"),
    Instrument.NAPSI: ("napsi", "NAPSI total", "{score}"),
    Instrument.TPSS: ("tpss", "TPSS total", "{score}"),
}
INSTRUMENT_OF_CODE: Final = {code: instrument for instrument, (code, _, _) in SCORE_CODES.items()}
#: PASI region → the code of its component (its contribution to the total, in PASI points).
PASI_REGION_CODES: Final = {
    "head": "pasi-head",
    "upper_limbs": "pasi-upper-limbs",
    "trunk": "pasi-trunk",
    "lower_limbs": "pasi-lower-limbs",
}

#: LOINC codes for the routine labs whose LOINC property matches psotrack's only unit; the
#: other analytes (T-cell subsets, cytokines, units that vary) carry the psotrack code only.
LOINC_OF_ANALYTE: Final = {
    "crp": "1988-5",
    "wbc": "6690-2",
    "neutrophils": "751-8",
    "lymphocytes": "731-0",
    "platelets": "777-3",
    "alt": "1742-6",
    "ast": "1920-8",
}

#: Enrollment status → ResearchSubject.status (R4's fixed list); one to one, so it reads back.
SUBJECT_STATUS: Final = {
    EnrollmentStatus.SCREENING: "screening",
    EnrollmentStatus.ACTIVE: "on-study",
    EnrollmentStatus.FOLLOW_UP: "follow-up",
    EnrollmentStatus.COMPLETED: "off-study",
    EnrollmentStatus.WITHDRAWN: "withdrawn",
}
ENROLLMENT_OF_SUBJECT: Final = {code: status for status, code in SUBJECT_STATUS.items()}

#: AE outcome → HL7 adverse-event-outcome code; one to one.
OUTCOME_CODES: Final = {
    AeOutcome.RECOVERED: "resolved",
    AeOutcome.RECOVERING: "recovering",
    AeOutcome.NOT_RECOVERED: "ongoing",
    AeOutcome.RECOVERED_WITH_SEQUELAE: "resolvedWithSequelae",
    AeOutcome.FATAL: "fatal",
    AeOutcome.UNKNOWN: "unknown",
}
OUTCOME_OF_CODE: Final = {code: outcome for outcome, code in OUTCOME_CODES.items()}

GENDERS: Final = ("female", "male", "other", "unknown")


def extension_url(name: str) -> str:
    """The URL of one psotrack extension (``cells-per-kg`` → …/StructureDefinition/cells-per-kg)."""
    return EXTENSION + name
