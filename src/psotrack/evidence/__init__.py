"""Published MSC psoriasis responder counts, and a cohort's rate laid beside them (descriptive).

>>> from psotrack.evidence import load_published_table
>>> load_published_table().version
'1.0.0'
"""

from psotrack.evidence.published import (
    CAVEAT,
    KNOWN_ENDPOINTS,
    PublishedRow,
    PublishedTable,
    derive_published_rates,
    load_published_table,
    parse_published_table,
)
from psotrack.evidence.side_by_side import (
    COHORT_COLUMNS,
    CohortRate,
    derive_side_by_side,
    parse_cohort_rates,
)

__all__ = [
    "CAVEAT",
    "COHORT_COLUMNS",
    "KNOWN_ENDPOINTS",
    "CohortRate",
    "PublishedRow",
    "PublishedTable",
    "derive_published_rates",
    "derive_side_by_side",
    "load_published_table",
    "parse_cohort_rates",
    "parse_published_table",
]
