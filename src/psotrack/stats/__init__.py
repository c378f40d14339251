"""Cohort statistics over derived endpoints: intervals, tests, survival and longitudinal models."""

from psotrack.stats.proportions import (
    DifferenceInterval,
    ProportionInterval,
    difference_interval,
    proportion_interval,
)

__all__ = [
    "DifferenceInterval",
    "ProportionInterval",
    "difference_interval",
    "proportion_interval",
]
