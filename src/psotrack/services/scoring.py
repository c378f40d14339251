"""Scoring an assessment's responses, as entered (JSON), with :mod:`psotrack.instruments`.

This module only reads the JSON shape of each instrument and hands the values, untouched, to the
instrument, which does every check and every computation. Shapes (all keys required unless said
optional; any other key is refused, naming it):

- ``pasi``: ``{"head": R, "upper_limbs": R, "trunk": R, "lower_limbs": R}``, each region
  ``R = {"erythema": 0–4, "induration": 0–4, "desquamation": 0–4}`` plus exactly one of
  ``"area"`` (the area score 0–6) or ``"area_pct"`` (0–100, converted by the PASI bands).
- ``bsa``: ``{"percent": 0–100}`` or ``{"handprints": n, "unit": "hand" | "palm"}`` (the unit is
  required: a hand is ≈ 1 % of body surface, a palm ≈ 0.5 %).
- ``pga``: ``{"grade": 0–4 | 0–5, "scale": 5 | 6}`` (the scale's number of points; no default).
- ``dlqi``: ``{"q1": A, …, "q10": A}``, all ten keys present; ``A`` is an answer's text
  (:class:`~psotrack.instruments.DlqiAnswer` values for q1–q6 and q8–q10, such as
  ``"a little"``; :class:`~psotrack.instruments.Q7Answer` values for q7, such as
  ``"no, a lot"``), a list of two such texts (two boxes ticked) or ``null`` (left blank).
  Two or more blanks make the questionnaire unscorable: a result with ``score=None``.
- ``itch_nrs``: ``{"score": 0–10}``.
- ``pssi``: ``{"erythema", "induration", "desquamation"}`` 0–4 each, plus exactly one of
  ``"area"`` (0–6) or ``"area_pct"`` (0–100) for the scalp.
- ``napsi``: ``{"nails": {"R1": {"matrix": 0–4, "bed": 0–4}, …}}``, nails named R1–R5, L1–L5
  (fingers) and RT1–RT5, LT1–LT5 (toes); only the nails given are scored.
- ``tpss``: ``{"site": text, "erythema", "induration", "scaling": 0–4}``, optional
  ``"diameter_mm"`` and ``"area_cm2"``.

Values are strict: a bool or the text ``"3"`` is never a grade (the instruments refuse them).
Every problem is reported at once, named ``responses.<field>``: the instrument's own field name
(``responses.trunk_area``, ``responses.scalp_erythema``, ``responses.R1_matrix``) or, where the
instrument's name is not a key of the shape, the key (``responses.percent``, ``responses.grade``,
``responses.scale``, ``responses.score``); keys that are not part of the shape are named by their
path (``responses.head.colour``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any, Final, TypeVar

from psotrack.errors import Problem, ValidationError
from psotrack.instruments import (
    DlqiAnswer,
    DlqiInput,
    NailScore,
    PasiInput,
    PgaScale,
    PssiInput,
    Q7Answer,
    RegionScore,
    TpssInput,
    area_score,
    bsa,
    bsa_from_handprints,
    dlqi,
    itch_nrs,
    napsi,
    pasi,
    pga,
    pssi,
    tpss,
)
from psotrack.instruments.pasi import REGIONS, SIGNS
from psotrack.instruments.tpss import TPSS_SIGNS
from psotrack.store.vocabulary import Instrument

PREFIX: Final = "responses"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Scored:
    """What an instrument made of the responses.

    ``score`` is the exact decimal text (``"12.3"``, ``"7"``), or None when the instrument says
    the responses cannot be scored (a DLQI with two or more blanks); ``score_value`` is the same
    number as a float for sorting; ``details`` is for display (JSON-friendly values only).
    """

    score: str | None
    score_value: float | None
    explain: Callable[[], dict[str, Any]] = field(default=dict, repr=False, compare=False)

    @cached_property
    def details(self) -> dict[str, Any]:
        """The instrument's explanation, built on first use (an import stores only the score)."""
        return self.explain()


def score_responses(instrument: Instrument, responses: Mapping[str, Any]) -> Scored:
    """Score ``responses`` (see the module docstring for each shape) or raise with every problem.

    >>> region = {"erythema": 2, "induration": 2, "desquamation": 1, "area": 2}
    >>> score_responses(Instrument.PASI, {r: region for r in REGIONS}).score
    '10.0'
    """
    if not isinstance(responses, Mapping):
        raise ValidationError(PREFIX, responses, f"an object of {instrument} responses", "type")
    scorer = _SCORERS.get(instrument)
    if scorer is None:
        allowed = ", ".join(i.value for i in Instrument)
        raise ValidationError("instrument", instrument, f"one of {allowed}", "invalid")
    found: list[Problem] = []
    scored = scorer(responses, found)
    if found or scored is None:
        raise ValidationError(problems=found)
    return scored


# --- reading the shapes -------------------------------------------------------------------------


def _refuse_unknown(
    obj: Mapping[str, Any], allowed: tuple[str, ...], path: str, found: list[Problem]
) -> None:
    for key in obj:
        if key not in allowed:
            expected = f"not a field here; expected {', '.join(allowed)}"
            found.append(Problem(f"{path}.{key}", obj[key], expected, kind="invalid"))


def _required(
    obj: Mapping[str, Any],
    key: str,
    name: str,
    what: str,
    found: list[Problem],
    stand_in: object = 0,
) -> Any:
    """``obj[key]``, or a "missing" problem named ``responses.<name>`` and a valid stand-in.

    The stand-in lets the instrument go on checking the other items (every problem is reported
    at once); a result computed with it is never returned.
    """
    if key in obj:
        return obj[key]
    found.append(Problem(f"{PREFIX}.{name}", None, what, kind="missing"))
    return stand_in


def _attempt(
    found: list[Problem], compute: Callable[[], _T], rename: Mapping[str, str] | None = None
) -> _T | None:
    """Run an instrument; its problems join ``found``, named ``responses.<field>``."""
    try:
        return compute()
    except ValidationError as exc:
        names = rename or {}
        found.extend(
            Problem(f"{PREFIX}.{names.get(p.field, p.field)}", p.value, p.allowed, p.kind, p.row)
            for p in exc.problems
        )
        return None


def _area(obj: Mapping[str, Any], name: str, found: list[Problem]) -> Any:
    """The area score given directly (``area``) or as a percentage (``area_pct``), not both."""
    if "area" in obj and "area_pct" in obj:
        allowed = "either area (0–6) or area_pct (0–100), not both"
        found.append(Problem(f"{PREFIX}.{name}_area_pct", obj["area_pct"], allowed, "invalid"))
        return 0
    if "area_pct" in obj:
        score = _attempt(found, lambda: area_score(obj["area_pct"], f"{name}_area_pct"))
        return 0 if score is None else score
    return _required(obj, "area", f"{name}_area", "an area score 0–6, or area_pct 0–100", found)


_SIGNS_AND_AREA: Final = (*SIGNS, "area", "area_pct")


def _signs_and_area(
    obj: Mapping[str, Any], name: str, path: str, found: list[Problem]
) -> tuple[Any, ...]:
    _refuse_unknown(obj, _SIGNS_AND_AREA, path, found)
    signs = [_required(obj, s, f"{name}_{s}", f"a grade of {s} 0–4", found) for s in SIGNS]
    return (*signs, _area(obj, name, found))


def _exact_text(value: Decimal) -> str:
    return format(value, "f")


def _result(score: Decimal | int | None, explain: Callable[[], dict[str, Any]]) -> Scored:
    if score is None:
        return Scored(None, None, explain)
    text = _exact_text(score) if isinstance(score, Decimal) else str(score)
    return Scored(text, float(Decimal(text)), explain)


# --- one reader per instrument ------------------------------------------------------------------


def _pasi(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    _refuse_unknown(responses, REGIONS, PREFIX, found)
    what = "an object of erythema, induration, desquamation and area or area_pct"
    regions: dict[str, RegionScore] = {}
    for region in REGIONS:
        path = f"{PREFIX}.{region}"
        value = responses.get(region)
        regions[region] = RegionScore(0, 0, 0, 0)  # stand-in, see _required
        if region not in responses:
            found.append(Problem(path, None, what, kind="missing"))
        elif not isinstance(value, Mapping):
            found.append(Problem(path, value, what, kind="type"))
        else:
            regions[region] = RegionScore(*_signs_and_area(value, region, path, found))
    result = _attempt(found, lambda: pasi(PasiInput(**regions)))
    if result is None:
        return None
    return _result(result.total, lambda: {"summary": result.summary()})


def _bsa(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    _refuse_unknown(responses, ("percent", "handprints", "unit"), PREFIX, found)
    rename = {"bsa": "percent"}
    if "percent" in responses:
        if "handprints" in responses or "unit" in responses:
            allowed = "either percent, or handprints with unit, not both"
            found.append(Problem(f"{PREFIX}.percent", responses["percent"], allowed, "invalid"))
        result = _attempt(found, lambda: bsa(responses["percent"]), rename)
    elif "handprints" in responses:
        what = "'hand' (≈ 1 %) or 'palm' (≈ 0.5 %)"
        unit = _required(responses, "unit", "unit", what, found, stand_in="hand")
        count = responses["handprints"]
        result = _attempt(found, lambda: bsa_from_handprints(count, unit), rename)
    else:
        allowed = "percent (0–100), or handprints with unit"
        found.append(Problem(f"{PREFIX}.percent", None, allowed, kind="missing"))
        return None
    if result is None:
        return None
    return _result(
        result.percent, lambda: {"severity": result.category, "summary": result.summary()}
    )


def _pga(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    _refuse_unknown(responses, ("grade", "scale"), PREFIX, found)
    grade = _required(responses, "grade", "grade", "a PGA grade", found)
    points = _required(responses, "scale", "scale", "5 or 6 (points of the PGA scale)", found)
    # The widest scale stands in for a bad one, so the grade is still checked (0–5).
    scale = PgaScale.SIX_POINT
    if "scale" in responses:
        if isinstance(points, bool) or points not in (5, 6):
            allowed = "5 (the 5-point PGA, 0–4) or 6 (the 6-point PGA, 0–5)"
            found.append(Problem(f"{PREFIX}.scale", points, allowed, kind="type"))
        else:
            scale = PgaScale(points)
    rename = {"pga": "grade", "pga_scale": "scale"}
    result = _attempt(found, lambda: pga(grade, scale), rename)
    if result is None:
        return None
    return _result(result.grade, lambda: {"grade_name": result.name, "summary": result.summary()})


_DLQI_KEYS: Final = tuple(f"q{n}" for n in range(1, 11))


#: Each DLQI answer by its text, for question 7 and for the others (built once, not per item).
_DLQI_ANSWERS: Final[dict[type[Enum], dict[str, Enum]]] = {
    kind: {answer.value: answer for answer in kind} for kind in (DlqiAnswer, Q7Answer)
}


def _dlqi_answer(number: int, value: object, found: list[Problem]) -> Any:
    kind: type[Enum] = Q7Answer if number == 7 else DlqiAnswer
    texts = _DLQI_ANSWERS[kind]
    if value is None:
        return None
    if isinstance(value, str) and value in texts:
        return texts[value]
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, str) and v in texts for v in value)
    ):
        return (texts[value[0]], texts[value[1]])
    options = ", ".join(repr(answer.value) for answer in kind)
    allowed = f"one of {options}, a list of two of them (two ticked) or null (blank)"
    found.append(Problem(f"{PREFIX}.q{number}", value, allowed, kind="type"))
    return None


def _dlqi(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    _refuse_unknown(responses, _DLQI_KEYS, PREFIX, found)
    answers = []
    for number, key in enumerate(_DLQI_KEYS, start=1):
        if key not in responses:
            allowed = "an answer, or null when left blank"
            found.append(Problem(f"{PREFIX}.{key}", None, allowed, kind="missing"))
        answers.append(_dlqi_answer(number, responses.get(key), found))
    result = _attempt(found, lambda: dlqi(DlqiInput.from_answers(answers)))
    if result is None:
        return None

    def details() -> dict[str, Any]:
        return {
            "valid": result.valid,
            "band": result.band,
            "unanswered": list(result.unanswered),
            "invalid_reason": result.invalid_reason,
            "summary": result.summary(),
        }

    return _result(result.total, details)


def _itch_nrs(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    _refuse_unknown(responses, ("score",), PREFIX, found)
    score = _required(responses, "score", "score", "worst itch in the last 24 h, 0–10", found)
    result = _attempt(found, lambda: itch_nrs(score), {"itch_nrs": "score"})
    if result is None:
        return None
    return _result(result.score, lambda: {"summary": [{"itch_nrs": result.score}]})


def _pssi(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    erythema, induration, desquamation, area = _signs_and_area(responses, "scalp", PREFIX, found)
    scalp = PssiInput(erythema, induration, desquamation, area)
    result = _attempt(found, lambda: pssi(scalp))
    if result is None:
        return None
    return _result(result.total, lambda: {"summary": result.summary()})


def _napsi(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    _refuse_unknown(responses, ("nails",), PREFIX, found)
    given = responses.get("nails", {})  # none given: napsi itself asks for at least one nail
    if not isinstance(given, Mapping):
        what = "an object of nail name (R1–R5, L1–L5, RT1–RT5, LT1–LT5) → {matrix, bed}"
        found.append(Problem(f"{PREFIX}.nails", given, what, kind="type"))
        return None
    nails: dict[str, NailScore] = {}
    for nail, value in given.items():
        path = f"{PREFIX}.nails.{nail}"
        nails[nail] = NailScore(0, 0)  # stand-in, see _required
        if not isinstance(value, Mapping):
            found.append(Problem(path, value, "an object {matrix: 0–4, bed: 0–4}", kind="type"))
            continue
        _refuse_unknown(value, ("matrix", "bed"), path, found)
        matrix = _required(value, "matrix", f"{nail}_matrix", "quadrants 0–4", found)
        bed = _required(value, "bed", f"{nail}_bed", "quadrants 0–4", found)
        nails[nail] = NailScore(matrix, bed)
    result = _attempt(found, lambda: napsi(nails))
    if result is None:
        return None

    def details() -> dict[str, Any]:
        return {
            "nails_scored": list(result.nails_scored),
            "fingers_total": result.fingers_total,
            "toes_total": result.toes_total,
            "maximum": result.maximum,
            "summary": result.summary(),
        }

    return _result(result.total, details)


def _tpss(responses: Mapping[str, Any], found: list[Problem]) -> Scored | None:
    optional = ("diameter_mm", "area_cm2")
    _refuse_unknown(responses, ("site", *TPSS_SIGNS, *optional), PREFIX, found)
    what = "the name of the plaque's site"
    site = _required(responses, "site", "site", what, found, stand_in="missing")
    signs = [_required(responses, s, s, f"a grade of {s} 0–4", found) for s in TPSS_SIGNS]
    plaque = TpssInput(site, *signs, *(responses.get(k) for k in optional))
    result = _attempt(found, lambda: tpss(plaque))
    if result is None:
        return None
    return _result(result.total, lambda: {"site": result.site, "summary": result.summary()})


_SCORERS: Final[dict[Instrument, Callable[[Mapping[str, Any], list[Problem]], Scored | None]]] = {
    Instrument.PASI: _pasi,
    Instrument.BSA: _bsa,
    Instrument.PGA: _pga,
    Instrument.DLQI: _dlqi,
    Instrument.ITCH_NRS: _itch_nrs,
    Instrument.PSSI: _pssi,
    Instrument.NAPSI: _napsi,
    Instrument.TPSS: _tpss,
}
