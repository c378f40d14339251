"""Recording and listing assessments: responses scored by the instruments, audited, flare-checked.

The score is never taken from the client: :func:`record_assessment` refuses a ``score`` in the
payload and stores what :func:`~psotrack.services.scoring.score_responses` computes from the
responses, which are kept exactly as entered.

Possible flare (the issue's safety rule "a PASI rise of ≥ 50 % over the patient's best"), decided
when a PASI is recorded by the endpoint engine's own rule (:data:`FLARE_RULE`, the default
:class:`psotrack.endpoints.FlareRule`, decided by :meth:`~psotrack.endpoints.FlareRule.flares`):

- Only post-baseline PASI count: visits dated after the patient's first cell-therapy
  administration (study day > 0; the administration's date is its visit's date when it has one,
  else the calendar date of ``started_at``). Before any administration nothing is flagged.
- The best ``b`` is the lowest PASI at the patient's earlier post-baseline visits (dated strictly
  before this visit; deleted assessments and visits are ignored). The first post-baseline PASI
  has no best and cannot flag.
- The new value ``v`` flags when, in integer tenths of a PASI point, ``v × 100 ≥ 150 × b`` and
  ``v > b``. For ``b > 0`` the second condition follows from the first; it matters at ``b = 0``:
  psotrack's choice is that after clearance (best PASI 0) any PASI above 0 is a possible flare
  (a new lesion after clear skin is worth a clinician's look), and PASI 0 again is not.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from psotrack.endpoints import FlareRule
from psotrack.errors import NotFound, Problem, ValidationError
from psotrack.services.audit import audit_changed, audit_created_values
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.flags import new_flag, store_flag
from psotrack.services.patients import get_patient, require_user
from psotrack.services.payloads import Id, Payload, parse_payload, require_id, require_reason
from psotrack.services.research_views import coded_responses
from psotrack.services.scoring import Scored, score_responses
from psotrack.services.study_days import first_dose_dates
from psotrack.store.models import Assessment, Patient, SafetyFlag, Visit
from psotrack.store.models.base import utcnow
from psotrack.store.vocabulary import FlagKind, Instrument

#: The flare rule of the safety flag: the endpoint engine's (a rise of at least 50 % over the
#: best earlier post-baseline PASI), so that a flag and a derived flare never disagree.
FLARE_RULE: Final = FlareRule()
#: Payload fields that would let a client set the score; refused, the score is always computed.
COMPUTED_FIELDS: Final = ("score", "score_value")


class AssessmentIn(Payload):
    """One instrument at one visit: the responses as entered (shapes in services.scoring)."""

    visit_id: Id
    instrument: Instrument
    responses: dict[str, Any]
    assessor_id: Id | None = None
    #: The patient the form was opened for, when the caller knows it: the visit must be theirs.
    patient_id: Id | None = None


@dataclass(frozen=True)
class RecordedAssessment:
    """An assessment as a list shows it, with its visit's date, type and label.

    For a role without access to identified records (a researcher) the label (free text) is
    ``None`` and the responses keep only numbers and closed-list answers.
    """

    id: int
    patient_id: int
    visit_id: int
    visit_date: date
    visit_type: str
    visit_label: str | None
    instrument: str
    score: str | None
    score_value: float | None
    responses: dict[str, Any]
    assessor_id: int | None
    recorded_at: datetime


def record_assessment(db: Database, actor: Actor, payload: Mapping[str, Any] | AssessmentIn) -> int:
    """Score and store one assessment with its audit rows (and a possible-flare flag); its id.

    ``assessor_id`` is optional: when left out the assessor is not stated (who entered the
    assessment is in the audit log). The assessment's patient is the visit's patient; a
    ``patient_id`` given too (a form opened for one patient) must be that patient.
    """
    data, scored, responses = _read(payload)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_CLINICAL)
        visit = _live_visit(session, data.visit_id)
        if data.patient_id is not None and visit.patient_id != data.patient_id:
            allowed = f"a visit of patient {data.patient_id}"
            raise ValidationError("visit_id", data.visit_id, allowed, "invalid")
        return store_assessment(session, actor, visit, data, scored, responses)


@dataclass(frozen=True)
class ScoredEntry:
    """One instrument's responses checked and scored by the instruments (:func:`score_entry`).

    ``responses`` are as entered, as plain JSON (what is stored). An import scores each entry
    once, when it reads the file, and hands this to the bulk service that stores it.
    """

    instrument: Instrument
    responses: dict[str, Any]
    scored: Scored

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (to another process) as its instrument, responses and score; the score's
        details are made there, on first use, by scoring the responses again."""
        score = (self.scored.score, self.scored.score_value)
        return (_entry_again, (self.instrument, self.responses, *score))


def _entry_again(
    instrument: Instrument, responses: dict[str, Any], score: str | None, value: float | None
) -> ScoredEntry:
    explain = partial(_details_again, instrument, responses)
    return ScoredEntry(instrument, responses, Scored(score, value, explain))


def _details_again(instrument: Instrument, responses: dict[str, Any]) -> dict[str, Any]:
    return score_responses(instrument, responses).details


def score_entry(instrument: Instrument, responses: Mapping[str, Any]) -> ScoredEntry:
    """Score ``responses`` (every problem at once) and keep them as the JSON that is stored."""
    scored = score_responses(instrument, responses)
    return ScoredEntry(instrument, stored_json(responses), scored)


def stored_json(responses: Mapping[str, Any]) -> dict[str, Any]:
    """``responses`` as the plain JSON that is stored (what ``json.loads(json.dumps(…))`` gives).

    A Decimal, a NaN or any other value that would not survive the database is refused. Plain
    values (text, whole numbers, finite floats, true/false, null, lists, objects keyed by text)
    are copied directly; anything else goes through the JSON text itself.
    """
    try:
        return _plain(responses)  # type: ignore[no-any-return]
    except _NotPlain:
        pass
    try:
        stored = json.loads(json.dumps(responses, allow_nan=False))
    except (TypeError, ValueError):
        allowed = "JSON values only (numbers, text, true/false, null, lists and objects)"
        raise ValidationError("responses", responses, allowed, "type") from None
    return stored  # type: ignore[no-any-return]  # the JSON of a mapping is an object


class _NotPlain(Exception):
    """A value :func:`_plain` leaves to the JSON text (a subclass, a non-text key, a NaN …)."""


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            copied[key] = _plain(item)
        return copied
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float and math.isfinite(value):
        return value
    raise _NotPlain


def read_assessment(
    payload: Mapping[str, Any] | AssessmentIn,
) -> tuple[AssessmentIn, Scored, dict[str, Any]]:
    """The payload parsed and scored (every problem at once), before any database work."""
    return _read(payload)


def live_visit(session: Session, visit_id: int) -> Visit:
    """The visit, refused as not found when it or its patient is deleted."""
    return _live_visit(session, visit_id)


def store_assessment(
    session: Session,
    actor: Actor,
    visit: Visit,
    data: AssessmentIn,
    scored: Scored,
    responses: dict[str, Any],
) -> int:
    """Store a read assessment at ``visit`` with its audit rows and flare check; its id.

    The one place an assessment is written: :func:`record_assessment` and a patient's own entry
    (:mod:`psotrack.services.own_record`) both come here, after their own permission checks.
    """
    if data.assessor_id is not None:
        require_user(session, "assessor_id", data.assessor_id)
    values = {
        "visit_id": visit.id,
        "patient_id": visit.patient_id,
        "instrument": data.instrument,
        "responses": responses,
        "score": scored.score,
        "score_value": scored.score_value,
        "assessor_id": data.assessor_id,
        "created_at": utcnow(),
    }
    # What the flare check reads is read before the first write: from that write to the commit
    # this transaction holds the database's write lock (SQLite) or the audit append lock
    # (PostgreSQL), which every other writer waits for.
    flare = None
    if data.instrument is Instrument.PASI and scored.score is not None:
        flare = _flare(session, scored.score, visit)
    # A Core INSERT … RETURNING: the hot path of data entry skips the ORM's unit of work.
    statement = insert(Assessment).values(values).returning(Assessment.id)
    assessment_id = int(session.execute(statement).scalar_one())
    # A possible-flare flag is stored with it and audited in the same append.
    flags = [_flare_flag(assessment_id, flare)] if flare is not None else []
    session.add_all(flags)
    audit_created_values(session, actor, "assessments", assessment_id, values, with_rows=flags)
    return assessment_id


def correct_assessment(
    db: Database, actor: Actor, assessment_id: int, responses: Mapping[str, Any], reason: str
) -> None:
    """Replace an assessment's responses (checked and scored again), audited with the reason.

    The score is never corrected by hand: it follows from the corrected responses. The audit
    rows carry the old and new responses and the old and new score.
    """
    why = require_reason(reason, "the correction")
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.CORRECT)
        assessment = session.get(Assessment, require_id("assessment_id", assessment_id))
        if assessment is None or assessment.deleted_at is not None:
            raise NotFound(f"no assessment with id {assessment_id}")
        payload = {
            "visit_id": assessment.visit_id,
            "instrument": assessment.instrument,
            "responses": responses,
        }
        _, scored, entered = _read(payload)
        if entered == assessment.responses:
            raise ValidationError(
                "responses", responses, "responses different from those recorded", "invalid"
            )
        changes = [
            ("responses", assessment.responses, entered),
            ("score", assessment.score, scored.score),
        ]
        flare = None
        if assessment.instrument is Instrument.PASI and scored.score is not None:
            # The corrected PASI is checked against the best earlier one like a new entry.
            flare = _flare(session, scored.score, _live_visit(session, assessment.visit_id))
        assessment.responses = entered
        assessment.score = scored.score
        assessment.score_value = scored.score_value
        audit_changed(session, actor, assessment, changes, why)
        if flare is not None:
            store_flag(session, actor, _flare_flag(assessment.id, flare))


def list_assessments(
    db: Database, actor: Actor, patient_id: int, instrument: Instrument | str | None = None
) -> list[RecordedAssessment]:
    """A patient's assessments (of one instrument if named) by visit date, deleted ones omitted."""
    problems: list[Problem] = []
    if isinstance(patient_id, bool) or not isinstance(patient_id, int):
        problems.append(Problem("patient_id", patient_id, "a patient id (integer)", kind="type"))
    wanted = None
    if instrument is not None:
        try:
            wanted = Instrument(instrument)
        except ValueError:
            allowed = f"one of {', '.join(i.value for i in Instrument)}"
            problems.append(Problem("instrument", instrument, allowed, kind="invalid"))
    if problems:
        raise ValidationError(problems=problems)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_RESEARCH)
        identified = actor.may(Permission.READ_IDENTIFIED)
        get_patient(session, patient_id)
        query = (
            select(Assessment, Visit)
            .join(Visit, Visit.id == Assessment.visit_id)
            .where(
                Assessment.patient_id == patient_id,
                Assessment.deleted_at.is_(None),
                Visit.deleted_at.is_(None),
            )
            .order_by(Visit.visit_date, Visit.id, Assessment.id)
        )
        if wanted is not None:
            query = query.where(Assessment.instrument == wanted)
        return [
            RecordedAssessment(
                id=a.id,
                patient_id=a.patient_id,
                visit_id=v.id,
                visit_date=v.visit_date,
                visit_type=v.visit_type.value,
                visit_label=v.label if identified else None,
                instrument=a.instrument.value,
                score=a.score,
                score_value=a.score_value,
                responses=a.responses if identified else coded_responses(a.responses),
                assessor_id=a.assessor_id,
                recorded_at=a.created_at,
            )
            for a, v in session.execute(query)
        ]


def _read(
    payload: Mapping[str, Any] | AssessmentIn,
) -> tuple[AssessmentIn, Scored, dict[str, Any]]:
    """Parse and score the payload, listing every problem at once; the responses as JSON."""
    problems: list[Problem] = []
    if isinstance(payload, Mapping):
        for name in COMPUTED_FIELDS:
            if name in payload:
                allowed = "not accepted: psotrack computes the score from the responses"
                problems.append(Problem(name, payload[name], allowed, kind="invalid"))
        payload = {k: v for k, v in payload.items() if k not in COMPUTED_FIELDS}
    try:
        data = parse_payload(AssessmentIn, payload)
    except ValidationError as exc:
        raise ValidationError(problems=[*problems, *exc.problems]) from None
    try:
        entry = score_entry(data.instrument, data.responses)
    except ValidationError as exc:
        raise ValidationError(problems=[*problems, *exc.problems]) from None
    if problems:
        raise ValidationError(problems=problems)
    return data, entry.scored, entry.responses


def _live_visit(session: Session, visit_id: int) -> Visit:
    """The visit and the check that it and its patient exist, in one query (a hot path)."""
    found = session.execute(
        select(Visit, Patient.deleted_at)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(Visit.id == visit_id)
    ).first()
    if found is None or found[0].deleted_at is not None:
        raise NotFound(f"no visit with id {visit_id}")
    if found[1] is not None:
        raise NotFound(f"no patient with id {found[0].patient_id}")
    return found[0]


def _tenths(score: str) -> int:
    return int(Decimal(score).scaleb(1))


@dataclass(frozen=True)
class _Flare:
    """A PASI at ``visit`` that flares (:data:`FLARE_RULE`) against the best earlier
    post-baseline one."""

    score: str
    visit: Visit
    best_tenths: int


def _flare(session: Session, score: str, visit: Visit) -> _Flare | None:
    """Whether this PASI at ``visit`` flares against the best earlier post-baseline one
    (:data:`FLARE_RULE`); reads only the patient's first dose and earlier scores, so it is asked
    before the assessment is written."""
    first_dose = first_dose_dates(session, [visit.patient_id]).get(visit.patient_id)
    if first_dose is None or visit.visit_date <= first_dose:
        return None
    earlier = (
        select(Assessment.score)
        .join(Visit, Visit.id == Assessment.visit_id)
        .where(
            Assessment.patient_id == visit.patient_id,
            Assessment.instrument == Instrument.PASI,
            Assessment.deleted_at.is_(None),
            Assessment.score.is_not(None),
            Visit.deleted_at.is_(None),
            Visit.visit_date > first_dose,
            Visit.visit_date < visit.visit_date,
        )
    )
    scores = [s for s in session.scalars(earlier) if s is not None]
    if not scores:
        return None
    best = min(_tenths(s) for s in scores)
    return _Flare(score, visit, best) if FLARE_RULE.flares(_tenths(score), best) else None


def _flare_flag(assessment_id: int, flare: _Flare) -> SafetyFlag:
    """The possible-flare flag of the assessment ``assessment_id`` (see :func:`_flare`)."""
    rule = (
        f"is ≥ {100 + FLARE_RULE.rise_percent} % of the best earlier post-baseline PASI "
        f"{Decimal(flare.best_tenths).scaleb(-1)}: a possible flare"
    )
    visit, score = flare.visit, flare.score
    when = visit.visit_date.isoformat()
    return new_flag(
        patient_id=visit.patient_id,
        kind=FlagKind.POSSIBLE_FLARE,
        entity="assessments",
        entity_id=assessment_id,
        message=f"PASI {score} at visit {visit.label} ({when}) {rule}",
        coded_message=f"PASI {score} at the {visit.visit_type.value} visit of {when} {rule}",
    )
