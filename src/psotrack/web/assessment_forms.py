"""The assessment form of each instrument: its fields, and its values read into the responses
shape of :mod:`psotrack.services.scoring` (which the instrument then checks and scores).

Form fields are named as the scoring service names its problems, without the ``responses.``
prefix (``head_erythema``, ``trunk_area_pct``, ``scalp_area``, ``R1_matrix``, ``q7``,
``score``), so every problem lands next to the field it is about. Nothing is scored here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from psotrack.instruments.dlqi import COPYRIGHT as DLQI_COPYRIGHT
from psotrack.instruments.dlqi import ITEM_LABELS as DLQI_LABELS
from psotrack.instruments.dlqi import DlqiAnswer, Q7Answer
from psotrack.instruments.napsi import NAIL_NAMES
from psotrack.instruments.pasi import REGION_NAMES, REGIONS, SIGNS
from psotrack.instruments.pga import GRADE_NAMES
from psotrack.instruments.tpss import TPSS_SIGNS
from psotrack.services.scoring import PREFIX
from psotrack.store.vocabulary import Instrument
from psotrack.web.forms import FormReader, drop_empty

#: What the field prefix of a problem is on every assessment form.
RESPONSES: Final = PREFIX + "."

#: How each instrument is named on the page.
TITLES: Final = {
    Instrument.PASI: "PASI — Psoriasis Area and Severity Index",
    Instrument.BSA: "BSA — body surface area affected",
    Instrument.PGA: "PGA — static Physician Global Assessment",
    Instrument.PSSI: "PSSI — Psoriasis Scalp Severity Index",
    Instrument.NAPSI: "NAPSI — Nail Psoriasis Severity Index",
    Instrument.TPSS: "TPSS — target plaque severity score",
    Instrument.ITCH_NRS: "Itch — numeric rating scale (worst itch, last 24 hours)",
    Instrument.DLQI: "DLQI — Dermatology Life Quality Index",
}

#: DLQI answers offered on questions 1–2 ("not relevant" is not offered there), 3–10 and 7.
DLQI_ANSWERS_1_2: Final = tuple(a.value for a in DlqiAnswer if a is not DlqiAnswer.NOT_RELEVANT)
DLQI_ANSWERS: Final = tuple(a.value for a in DlqiAnswer)
DLQI_Q7_ANSWERS: Final = tuple(a.value for a in Q7Answer)


def fields(instrument: Instrument) -> tuple[str, ...]:
    """The names of the form's fields for ``instrument`` (for placing problems)."""
    return _FIELDS[instrument]


def read_responses(instrument: Instrument, reader: FormReader) -> dict[str, Any]:
    """The form's values in the scoring service's responses shape; blanks left out."""
    return _READERS[instrument](reader)


def page_facts(instrument: Instrument) -> dict[str, Any]:
    """What the template of ``instrument`` lays out (regions, signs, nails, DLQI labels)."""
    return {
        "regions": [(r, REGION_NAMES[r]) for r in REGIONS],
        "signs": SIGNS,
        "tpss_signs": TPSS_SIGNS,
        "nails": list(NAIL_NAMES.items()),
        "pga_grades": list(enumerate(GRADE_NAMES)),
        "dlqi_items": [(n, label, _dlqi_answers(n)) for n, label in sorted(DLQI_LABELS.items())],
        "dlqi_copyright": DLQI_COPYRIGHT,
    }


def _dlqi_answers(number: int) -> tuple[str, ...]:
    if number == 7:
        return DLQI_Q7_ANSWERS
    return DLQI_ANSWERS_1_2 if number <= 2 else DLQI_ANSWERS


def _signs_and_area(reader: FormReader, name: str) -> dict[str, Any]:
    values: dict[str, int | float | str | None] = {
        s: reader.integer(f"{name}_{s}", f"a grade of {s} 0–4") for s in SIGNS
    }
    values["area"] = reader.integer(f"{name}_area", "an area score 0–6")
    values["area_pct"] = reader.number(f"{name}_area_pct", "a percentage 0–100")
    return drop_empty(values)


def _pasi(reader: FormReader) -> dict[str, Any]:
    return {region: _signs_and_area(reader, region) for region in REGIONS}


def _pssi(reader: FormReader) -> dict[str, Any]:
    return _signs_and_area(reader, "scalp")


def _bsa(reader: FormReader) -> dict[str, Any]:
    values = {
        "percent": reader.number("percent", "a percentage 0–100"),
        "handprints": reader.number("handprints", "a count of handprints"),
        "unit": reader.text("unit"),
    }
    return drop_empty(values)


def _pga(reader: FormReader) -> dict[str, Any]:
    values = {
        "grade": reader.integer("grade", "a PGA grade"),
        "scale": reader.integer("scale", "5 or 6 points"),
    }
    return drop_empty(values)


def _itch(reader: FormReader) -> dict[str, Any]:
    return drop_empty({"score": reader.integer("score", "worst itch 0–10")})


def _napsi(reader: FormReader) -> dict[str, Any]:
    nails = {}
    for nail in NAIL_NAMES:
        parts = {p: reader.integer(f"{nail}_{p}", "quadrants 0–4") for p in ("matrix", "bed")}
        typed = [reader.text(f"{nail}_{p}") for p in ("matrix", "bed")]
        if any(t is not None for t in typed):
            nails[nail] = drop_empty(parts)
    return {"nails": nails}


def _tpss(reader: FormReader) -> dict[str, Any]:
    values: dict[str, Any] = {"site": reader.text("site")}
    values |= {s: reader.integer(s, f"a grade of {s} 0–4") for s in TPSS_SIGNS}
    values["diameter_mm"] = reader.number("diameter_mm", "longest diameter in mm")
    values["area_cm2"] = reader.number("area_cm2", "plaque area in cm²")
    return drop_empty(values)


def _dlqi(reader: FormReader) -> dict[str, Any]:
    # A question left unanswered is sent as null (blank): the instrument decides what it means.
    return {f"q{n}": reader.text(f"q{n}") for n in DLQI_LABELS}


_READERS: Final[dict[Instrument, Callable[[FormReader], dict[str, Any]]]] = {
    Instrument.PASI: _pasi,
    Instrument.BSA: _bsa,
    Instrument.PGA: _pga,
    Instrument.PSSI: _pssi,
    Instrument.NAPSI: _napsi,
    Instrument.TPSS: _tpss,
    Instrument.ITCH_NRS: _itch,
    Instrument.DLQI: _dlqi,
}


def _region_fields(name: str) -> tuple[str, ...]:
    return (*(f"{name}_{s}" for s in SIGNS), f"{name}_area", f"{name}_area_pct")


_FIELDS: Final[dict[Instrument, tuple[str, ...]]] = {
    Instrument.PASI: tuple(f for r in REGIONS for f in _region_fields(r)),
    Instrument.PSSI: _region_fields("scalp"),
    Instrument.BSA: ("percent", "handprints", "unit"),
    Instrument.PGA: ("grade", "scale"),
    Instrument.ITCH_NRS: ("score",),
    Instrument.NAPSI: (
        "nails",
        *(f"{nail}_{part}" for nail in NAIL_NAMES for part in ("matrix", "bed")),
    ),
    Instrument.TPSS: ("site", *TPSS_SIGNS, "diameter_mm", "area_cm2"),
    Instrument.DLQI: tuple(f"q{n}" for n in DLQI_LABELS),
}
