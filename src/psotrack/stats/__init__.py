"""Cohort statistics over derived endpoints: intervals, tests, survival and longitudinal models."""

from psotrack.stats.biomarker_pairs import derive_biomarker_pairs
from psotrack.stats.biomarkers import (
    BiomarkerChange,
    ChangeCorrelation,
    Distribution,
    GroupComparison,
    PairedChange,
    biomarker_change,
)
from psotrack.stats.longitudinal import MixedModelResult, fit_pasi_trajectory
from psotrack.stats.proportions import (
    DifferenceInterval,
    ProportionInterval,
    difference_interval,
    proportion_interval,
)
from psotrack.stats.survival import (
    KaplanMeier,
    LogRank,
    SurvivalCurve,
    kaplan_meier,
    time_to_relapse,
    time_to_response,
)

__all__ = [
    "BiomarkerChange",
    "ChangeCorrelation",
    "DifferenceInterval",
    "Distribution",
    "GroupComparison",
    "KaplanMeier",
    "LogRank",
    "MixedModelResult",
    "PairedChange",
    "ProportionInterval",
    "SurvivalCurve",
    "biomarker_change",
    "derive_biomarker_pairs",
    "difference_interval",
    "fit_pasi_trajectory",
    "kaplan_meier",
    "proportion_interval",
    "time_to_relapse",
    "time_to_response",
]
