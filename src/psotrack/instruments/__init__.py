"""Scoring of each clinical instrument of a psoriasis program: pure, exact, strictly validated."""

from psotrack.instruments.pasi import (
    PasiInput,
    PasiResult,
    RegionContribution,
    RegionScore,
    area_score,
    pasi,
)

__all__ = [
    "PasiInput",
    "PasiResult",
    "RegionContribution",
    "RegionScore",
    "area_score",
    "pasi",
]
