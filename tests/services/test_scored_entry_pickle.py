"""A scored entry sent to another process (pickled) keeps its score, and its details are the
instrument's own (the REDCap import reads and scores in a forked child)."""

from __future__ import annotations

import pickle

from psotrack.instruments.pasi import REGIONS
from psotrack.services.assessments import score_entry
from psotrack.store.vocabulary import Instrument

# PASI: 0.1×(2+2+1)×2 + 0.2×… with every region graded 2/2/1, area 2: Σ weights = 1.0,
# so 1.0 × 5 × 2 = 10.0 (instruments.md). DLQI: 3+2+1+0+1+2+3+1+0+2 = 15.
PASI = {r: {"erythema": 2, "induration": 2, "desquamation": 1, "area": 2} for r in REGIONS}
ANSWERS = {3: "very much", 2: "a lot", 1: "a little", 0: "not at all"}
DLQI = {
    f"q{k}": "yes" if k == 7 else ANSWERS[v]  # q7 "yes" scores 3
    for k, v in enumerate([3, 2, 1, 0, 1, 2, 3, 1, 0, 2], start=1)
}


def test_a_pickled_entry_keeps_its_score_and_details() -> None:
    for instrument, responses, score in (
        (Instrument.PASI, PASI, "10.0"),
        (Instrument.DLQI, DLQI, "15"),
    ):
        entry = score_entry(instrument, responses)
        again = pickle.loads(pickle.dumps(entry))
        assert (again.instrument, again.responses) == (instrument, entry.responses)
        assert (again.scored.score, again.scored.score_value) == (score, float(score))
        assert again.scored.details == entry.scored.details != {}
