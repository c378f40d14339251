"""``POST /api/v1/score/{instrument}``: score responses without storing anything.

The live assessment form asks this as the assessor types: the server (with
:mod:`psotrack.instruments`, through :func:`psotrack.services.scoring.score_responses`) is the
only place a score is computed.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends
from pydantic import BaseModel

from psotrack.services.context import Actor
from psotrack.services.scoring import score_responses
from psotrack.store.vocabulary import Instrument
from psotrack.web import rules
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routing import Router
from psotrack.web.schemas import WRITE_ERRORS

router = Router(prefix="/api/v1", tags=["scoring"], dependencies=[Depends(bearer)])


class ScoreOut(BaseModel):
    instrument: Instrument
    #: The exact score as text ("23.4"); null when the responses cannot be scored (a DLQI with
    #: two or more blanks).
    score: str | None
    #: The parts (per-region PASI, subtotals) for display.
    details: dict[str, Any]


@router.post("/score/{instrument}", response_model=ScoreOut, responses=WRITE_ERRORS)
async def score(
    instrument: Instrument,
    responses: dict[str, Any] = Body(
        examples=[
            {
                "head": {"erythema": 2, "induration": 2, "desquamation": 1, "area": 2},
                "upper_limbs": {"erythema": 1, "induration": 1, "desquamation": 1, "area": 3},
                "trunk": {"erythema": 2, "induration": 1, "desquamation": 1, "area": 3},
                "lower_limbs": {"erythema": 3, "induration": 2, "desquamation": 2, "area": 4},
            }
        ]
    ),
    actor: Actor = Depends(rules.SIGNED_IN),
) -> ScoreOut:
    # Run on the event loop, not a worker thread: bounded, pure arithmetic (well under a
    # millisecond) that touches no database, so the live form is not queued behind page reads.
    scored = score_responses(instrument, responses)
    return ScoreOut(instrument=instrument, score=scored.score, details=scored.details)
