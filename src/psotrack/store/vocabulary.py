"""The coded lists the record store accepts: roles, visit types, products, routes, analytes, …

Each is a ``StrEnum`` whose values are what the database stores and what forms and files send.
"""

from __future__ import annotations

from enum import StrEnum

#: The username of the set-up process (imports, the demo builder): a row made by migration 0004,
#: with no password so that no one signs in as it; no person may be given this username.
SYSTEM_USERNAME = "system"


class Role(StrEnum):
    ADMIN = "admin"
    CLINICIAN = "clinician"
    COORDINATOR = "coordinator"
    RESEARCHER = "researcher"
    PATIENT = "patient"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class PsoriasisType(StrEnum):
    PLAQUE = "plaque"
    GUTTATE = "guttate"
    INVERSE = "inverse"
    PUSTULAR = "pustular"
    ERYTHRODERMIC = "erythrodermic"
    OTHER = "other"


class EnrollmentStatus(StrEnum):
    SCREENING = "screening"
    ACTIVE = "active"
    FOLLOW_UP = "follow-up"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class VisitType(StrEnum):
    SCREENING = "screening"
    BASELINE = "baseline"
    TREATMENT = "treatment"
    FOLLOW_UP = "follow-up"
    UNSCHEDULED = "unscheduled"


class Instrument(StrEnum):
    PASI = "pasi"
    BSA = "bsa"
    PGA = "pga"
    DLQI = "dlqi"
    ITCH_NRS = "itch_nrs"
    PSSI = "pssi"
    NAPSI = "napsi"
    TPSS = "tpss"


class ProductSource(StrEnum):
    UC_MSC = "UC-MSC"
    AD_MSC = "AD-MSC"
    BM_MSC = "BM-MSC"
    EXOSOME = "exosome/secretome"
    OTHER = "other"


class Route(StrEnum):
    IV = "IV"
    INTRALESIONAL = "intralesional/perilesional"
    SUBCUTANEOUS = "subcutaneous"
    TOPICAL = "topical"


class TherapyClass(StrEnum):
    TOPICAL_STEROID = "topical steroid"
    VITAMIN_D_ANALOGUE = "vitamin D analogue"
    PHOTOTHERAPY = "phototherapy"
    METHOTREXATE = "methotrexate"
    CICLOSPORIN = "ciclosporin"
    ACITRETIN = "acitretin"
    APREMILAST = "apremilast"
    BIOLOGIC = "biologic"
    OTHER = "other"


class Relatedness(StrEnum):
    """WHO-UMC causality categories (and the collapsed related / not related of many protocols)."""

    CERTAIN = "certain"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    CONDITIONAL = "conditional"
    UNASSESSABLE = "unassessable"
    RELATED = "related"
    NOT_RELATED = "not related"


class SeriousCriterion(StrEnum):
    """ICH E2A (1994) seriousness criteria."""

    DEATH = "death"
    LIFE_THREATENING = "life-threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital anomaly"
    IMPORTANT_MEDICAL_EVENT = "important medical event"


class AeTerm(StrEnum):
    """A small coded list of adverse-event terms common after cell therapy (CTCAE v5 terms).

    The coded term is what research views, exports and flag messages show; what the reporter
    wrote is kept apart as ``verbatim_term`` (free text, for the care team only), as MedDRA
    coding separates the reported term from the coded one. "other" when no code fits.
    """

    INFUSION_RELATED_REACTION = "infusion related reaction"
    ALLERGIC_REACTION = "allergic reaction"
    ANAPHYLAXIS = "anaphylaxis"
    FEVER = "fever"
    CHILLS = "chills"
    HEADACHE = "headache"
    FATIGUE = "fatigue"
    NAUSEA = "nausea"
    VOMITING = "vomiting"
    DIARRHEA = "diarrhea"
    DIZZINESS = "dizziness"
    HYPOTENSION = "hypotension"
    HYPERTENSION = "hypertension"
    DYSPNEA = "dyspnea"
    RASH = "rash"
    PRURITUS = "pruritus"
    INJECTION_SITE_REACTION = "injection site reaction"
    INFECTION = "infection"
    PSORIASIS_FLARE = "psoriasis flare"
    THROMBOEMBOLIC_EVENT = "thromboembolic event"
    LIVER_ENZYMES_INCREASED = "liver enzymes increased"
    OTHER = "other"


class ColourSpace(StrEnum):
    """The colour space a photo was taken in; every stored photo is converted to sRGB."""

    SRGB = "sRGB"
    DISPLAY_P3 = "Display P3"
    OTHER_PROFILE = "other ICC profile"
    UNTAGGED = "untagged (taken as sRGB)"


class AeOutcome(StrEnum):
    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not recovered"
    RECOVERED_WITH_SEQUELAE = "recovered with sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class FlagKind(StrEnum):
    SERIOUS_ADVERSE_EVENT = "serious adverse event"
    GRADE_3_OR_MORE = "adverse event grade ≥ 3"
    INFUSION_REACTION = "infusion-related reaction"
    DOSE_OUT_OF_RANGE = "cell dose outside protocol range"
    LOW_VIABILITY = "viability below release threshold"
    POSSIBLE_FLARE = "possible flare (PASI ≥ 150 % of best)"


#: Analyte code → (label, allowed UCUM units). Units are checked per analyte on entry.
ANALYTES: dict[str, tuple[str, frozenset[str]]] = {
    "treg_pct_cd4": ("Treg (% of CD4⁺)", frozenset({"%"})),
    "th17_pct_cd4": ("Th17 (% of CD4⁺)", frozenset({"%"})),
    "cd4_memory_pct": ("CD4⁺ memory T cells (% of CD4⁺)", frozenset({"%"})),
    "th1_pct_cd4": ("Th1 (% of CD4⁺)", frozenset({"%"})),
    "il17a": ("IL-17A (serum)", frozenset({"pg/mL"})),
    "il22": ("IL-22 (serum)", frozenset({"pg/mL"})),
    "ifng": ("IFN-γ (serum)", frozenset({"pg/mL"})),
    "tnfa": ("TNF-α (serum)", frozenset({"pg/mL"})),
    "il23": ("IL-23 (serum)", frozenset({"pg/mL"})),
    "crp": ("C-reactive protein", frozenset({"mg/L"})),
    "wbc": ("White blood cells", frozenset({"10*9/L"})),
    "neutrophils": ("Neutrophils", frozenset({"10*9/L"})),
    "lymphocytes": ("Lymphocytes", frozenset({"10*9/L"})),
    "platelets": ("Platelets", frozenset({"10*9/L"})),
    "haemoglobin": ("Haemoglobin", frozenset({"g/L", "g/dL"})),
    "alt": ("Alanine aminotransferase", frozenset({"U/L"})),
    "ast": ("Aspartate aminotransferase", frozenset({"U/L"})),
    "bilirubin": ("Total bilirubin", frozenset({"umol/L", "mg/dL"})),
    "creatinine": ("Creatinine", frozenset({"umol/L", "mg/dL"})),
    "egfr": ("eGFR", frozenset({"mL/min/{1.73_m2}"})),
}
