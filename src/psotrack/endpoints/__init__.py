"""Endpoint derivations over long tables of assessments: baseline, change, response, durability."""

from psotrack.endpoints._validate import validate_assessments
from psotrack.endpoints.baseline import Assessments, derive_baseline, prepare_assessments
from psotrack.endpoints.events import (
    derive_time_to_event,
    derive_time_to_loss,
    derive_time_to_relapse,
)
from psotrack.endpoints.patients import (
    FlareRule,
    LossOfResponseRule,
    derive_flares,
    derive_patient_endpoints,
)
from psotrack.endpoints.rates import (
    DENOMINATOR_RULES,
    DENOMINATOR_TEXT,
    MISSING_RULES,
    MISSING_TEXT,
    DenominatorRule,
    MissingRule,
    derive_flag_rates,
    derive_response_rates,
    visit_days,
)
from psotrack.endpoints.response import DEFAULT_THRESHOLDS, derive_change, derive_responders
from psotrack.endpoints.wide import visit_day, wide_to_long

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DENOMINATOR_RULES",
    "DENOMINATOR_TEXT",
    "MISSING_RULES",
    "MISSING_TEXT",
    "Assessments",
    "DenominatorRule",
    "FlareRule",
    "LossOfResponseRule",
    "MissingRule",
    "derive_baseline",
    "derive_change",
    "derive_flag_rates",
    "derive_flares",
    "derive_patient_endpoints",
    "derive_responders",
    "derive_response_rates",
    "derive_time_to_event",
    "derive_time_to_loss",
    "derive_time_to_relapse",
    "prepare_assessments",
    "validate_assessments",
    "visit_day",
    "visit_days",
    "wide_to_long",
]
