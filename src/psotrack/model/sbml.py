"""The virtual-patient model as SBML Level 3 Version 2 (python-libsbml), written from one table.

The tables below are the SBML model; :func:`sbml_document` only turns them into XML. To follow a
change of :mod:`psotrack.model.equations`:

* a new state in :data:`~psotrack.model.states.STATE_INFO` → one :class:`RateLaw` in
  :data:`RATE_LAWS` (``production`` is the state's entry of ``production_terms``, ``decay`` its
  entry of ``decay_rates``; the species, its note and its initial value follow by themselves);
* a new field of :class:`~psotrack.model.parameters.ModelParameters` → nothing (it is written
  with its default value); a unit, if one is clear → one entry in :data:`PARAMETER_UNITS`;
* a new shared sub-expression (an Emax term, a load) → one :class:`Term` in :data:`ASSIGNMENTS`;
* a new field of :class:`~psotrack.model.equations.SiteInputs` → nothing (a constant parameter
  set from the schedule by :func:`~psotrack.model.therapies.build_inputs`).

:func:`sbml_document` refuses to write a model whose table lacks a state, so the SBML cannot fall
behind silently; ``tests/model/test_sbml.py`` also compares its right-hand side with
:func:`~psotrack.model.equations.rhs`. Formulas are SBML Level 3 infix (``libsbml.parseL3Formula``).
The ``max(·, 0)`` guards of ``equations.py`` are left out (inactive on every normal trajectory,
and not every SBML tool reads ``max``). Doses become SBML events; the stochastic and
between-patient parts of psotrack (virtual population, observation noise) are not in the SBML.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

import libsbml
import numpy as np
import numpy.typing as npt

from psotrack.errors import PsotrackError, ValidationError
from psotrack.model import states as s
from psotrack.model.equations import SiteInputs
from psotrack.model.parameters import BLOCKERS, HEALTHY_CYTOKINE_LOAD, ModelParameters
from psotrack.model.solver import Dosing, published_state
from psotrack.model.therapies import Schedule, build_inputs, parse_schedule

FloatArray = npt.NDArray[np.float64]

SBML_LEVEL: Final = 3
SBML_VERSION: Final = 2
#: Shmarov F et al. PLoS Comput Biol 2022;18(9):e1010267 (model psor.v8.4), the core's source.
SOURCE_DOI: Final = "10.1371/journal.pcbi.1010267"
INITIAL_STATES: Final = ("plaque", "healthy")


@dataclass(frozen=True)
class RateLaw:
    """``d state/dt = production − decay·state``, as ``equations.py`` splits it (L3 infix)."""

    state: str
    production: str
    decay: str = "0"

    @property
    def formula(self) -> str:
        if self.decay == "0":
            return self.production
        loss = f"({self.decay}) * {self.state}"
        return f"-{loss}" if self.production == "0" else f"{self.production} - {loss}"


@dataclass(frozen=True)
class Term:
    """A named sub-expression, written as an SBML assignment rule (or initial assignment)."""

    id: str
    formula: str
    note: str


def _mix(suffix: str, value: str = "blocker_{}_" + "{}") -> str:
    parts = (f"blocker_weight_{d} * {value.format(d, suffix)}" for d in BLOCKERS)
    return "(" + " + ".join(parts) + ")"


#: Shared sub-expressions of ``production_terms``, in dependency order (assignment rules). The
#: blocker's constants are rules too (of constants only): they follow the site inputs.
ASSIGNMENTS: Final = (
    Term("blocker_weight_p40", "il12_block", "weight of the p40 blocker's constants (w_p40)"),
    Term(
        "blocker_weight_il23",
        "il23_block * (1 - il12_block)",
        "weight of the anti-IL-23 (p19) blocker's constants (w_il23)",
    ),
    Term(
        "blocker_weight_il17",
        "1 - blocker_weight_p40 - blocker_weight_il23",
        "weight of the anti-IL-17 blocker's constants (equations.blocker_weights)",
    ),
    Term("blocker_absorption", _mix("absorption"), "the arm's blocker absorption, 1/day"),
    Term(
        "blocker_elimination",
        _mix("half_life", "ln(2) / blocker_{}_{}"),
        "the arm's blocker elimination ln 2/t½, 1/day",
    ),
    Term(
        "blocker_ec50_drug",
        f"{_mix('ec50')} * blocker_ec50",
        "the arm's blocker EC50 times the patient's relative EC50 (label-dose units)",
    ),
    Term(
        "blocker_nonresponse_drug",
        _mix("nonresponse"),
        "the arm's blocker's share of primary non-responders",
    ),
    Term(
        "blocker_emax_drug",
        f"{_mix('emax')} * piecewise(0, lt(blocker_response_draw, blocker_nonresponse_drug), 1)",
        "the arm's blocker Emax, 0 for a primary non-responder (draw u below the share)",
    ),
    Term(
        "paracrine",
        "potency * (paracrine_systemic + local_exposure * paracrine_local)",
        "paracrine activity reaching the site, P (psotrack assumption)",
    ),
    Term(
        "occupancy",
        "paracrine / (paracrine_ec50 + paracrine)",
        "paracrine occupancy P/(EC50 + P), shared by the four MSC Emax terms",
    ),
    Term(
        "blockade",
        "blocker_emax_drug * blocker_central / (blocker_ec50_drug + blocker_central)",
        "fractional neutralisation by the arm's antibody, Emax·C/(EC50 + C)",
    ),
    Term("b17", "il17_block * blockade", "IL-17 blockade B17 (anti-IL-17 arms)"),
    Term("b23", "il23_block * blockade", "IL-23 blockade B23 (anti-IL-23 p19 and p40 arms)"),
    Term("b12", "il12_block * blockade", "IL-12 blockade B12 (anti-IL-12/23 p40 arms)"),
    Term(
        "cytokine_kept",
        "1 - msc_cytokine_emax * occupancy",
        "share of IL-23, IL-17 and TNF production left by the cell therapy, 1 − E_cyt",
    ),
    Term(
        "hill",
        "signal^4 / (dc_activation_half + signal^4)",
        "Hill activation of dendritic cells by the keratinocyte signal, n = 4 (Shmarov 2022)",
    ),
    Term(
        "suppression",
        "(1 + treg_suppression) / (1 + treg_suppression * treg / treg_level)",
        "Treg suppression of effector recruitment, 1 when untreated (psotrack departure 2)",
    ),
    Term(
        "recruitment",
        "t_cell_recruitment * il23 * suppression",
        "effector T-cell recruitment driven by IL-23 (Shmarov 2022 T equation)",
    ),
    Term(
        "th17_drive",
        "(1 - trm_share) * (1 - b23) + trm_share * (1 - trm_depletion)",
        "Th17 recruitment left: the IL-23-driven share and the resident-memory share (departure 7)",
    ),
    Term(
        "load",
        "(il17 * (1 - b17) + tnf) * (1 - topical)",
        "cytokine load c acting on keratinocytes (equations.immune_skin_production)",
    ),
)

#: Derived constants (SBML initial assignments of constant parameters).
DERIVED: Final = (
    Term(
        "trm_rate",
        "ln(2) / trm_half_life",
        "TRM depletion and recovery rate, 1/day (ModelParameters.trm_rate)",
    ),
    Term(
        "paracrine_decay",
        "ln(2) / paracrine_half_life",
        "first-order decay of paracrine activity, 1/day (ModelParameters.paracrine_decay)",
    ),
    Term(
        "msc_lung_loss",
        "ln(2) / msc_lung_half_life",
        "first-order loss of live MSCs from the lung, 1/day (ModelParameters.msc_lung_loss)",
    ),
    Term(
        "msc_organ_loss",
        "ln(2) / msc_organ_half_life",
        "first-order loss of live MSCs outside the lung, 1/day (ModelParameters.msc_organ_loss)",
    ),
    Term(
        "msc_depot_loss",
        "ln(2) / msc_depot_half_life",
        "first-order loss of live MSCs from the depot, 1/day (ModelParameters.msc_depot_loss)",
    ),
)

#: One rate law per state of ``STATE_INFO``: ``production_terms`` and ``decay_rates``.
RATE_LAWS: Final = {
    law.state: law
    for law in (
        RateLaw(
            "dc",
            "dc_basal_influx + (1 - msc_dc_emax * occupancy) * dc_activation_max * hill",
            "dc_clearance",
        ),
        RateLaw("il23", "cytokine_kept * il23_production * dc", "cytokine_clearance"),
        RateLaw(
            "th17",
            "th17_fraction * recruitment * th17_drive * (1 - msc_th17_emax * occupancy)",
            "t_cell_clearance",
        ),
        RateLaw(
            "th1",
            "(1 - th17_fraction) * recruitment * (1 - il12_th1_share * b12)",
            "t_cell_clearance",
        ),
        RateLaw(
            "treg", "treg_turnover * treg_level * (1 + msc_treg_emax * occupancy)", "treg_turnover"
        ),
        RateLaw("il17", "cytokine_kept * il17_production * th17", "cytokine_clearance"),
        RateLaw("tnf", "cytokine_kept * tnf_production * th1", "cytokine_clearance"),
        RateLaw(
            "signal",
            "signal_production * (stem + transit) * (1 - il17_signal_share * b17)",
            "cytokine_clearance",
        ),
        RateLaw(
            "stem", "sc_proliferation * load * stem - sc_crowding * stem^2", "keratinocyte_death"
        ),
        RateLaw(
            "transit",
            "ta_from_sc * load * stem + ta_proliferation * load * transit"
            " - ta_crowding * transit^2",
            "keratinocyte_death",
        ),
        RateLaw(
            "differentiated",
            "d_from_ta * load * transit - d_crowding * differentiated^2",
            "keratinocyte_death + d_shedding",
        ),
        RateLaw("vascular", "vascular_rate * load / healthy_cytokine_load", "vascular_rate"),
        RateLaw(
            "paracrine_systemic",
            "msc_secretion * (msc_lung + msc_organs + msc_depot_spillover * msc_depot)",
            "paracrine_decay",
        ),
        RateLaw("paracrine_local", "msc_secretion * msc_depot", "paracrine_decay"),
        RateLaw("blocker_depot", "0", "blocker_absorption"),
        RateLaw("blocker_central", "blocker_absorption * blocker_depot", "blocker_elimination"),
        RateLaw("msc_lung", "0", "msc_lung_loss"),
        RateLaw("msc_organs", "msc_lung_escape * msc_lung_loss * msc_lung", "msc_organ_loss"),
        RateLaw("msc_depot", "0", "msc_depot_loss"),
        RateLaw("trm_depletion", "trm_rate * b23", "trm_rate"),
    )
}

#: Constants outside ``ModelParameters``: value and meaning.
CONSTANTS: Final = {
    "healthy_cytokine_load": (
        HEALTHY_CYTOKINE_LOAD,
        "IL-17 + TNF of the published healthy steady state, the vascular reference",
    ),
}

#: Units psotrack writes (time in days; cells per mm² of epidermis).
UNIT_DEFINITIONS: Final = {
    "day": ((libsbml.UNIT_KIND_SECOND, 1, 86400.0),),
    "per_day": ((libsbml.UNIT_KIND_SECOND, -1, 86400.0),),
    "mm2": ((libsbml.UNIT_KIND_METRE, 2, 0.001),),
    "cells_per_mm2": ((libsbml.UNIT_KIND_ITEM, 1, 1.0), (libsbml.UNIT_KIND_METRE, -2, 0.001)),
    "cells_per_mm2_per_day": (
        (libsbml.UNIT_KIND_ITEM, 1, 1.0),
        (libsbml.UNIT_KIND_METRE, -2, 0.001),
        (libsbml.UNIT_KIND_SECOND, -1, 86400.0),
    ),
    "mm2_per_cell_per_day": (
        (libsbml.UNIT_KIND_METRE, 2, 0.001),
        (libsbml.UNIT_KIND_ITEM, -1, 1.0),
        (libsbml.UNIT_KIND_SECOND, -1, 86400.0),
    ),
}
_PER_DAY = (
    "dc_clearance cytokine_clearance t_cell_clearance treg_turnover d_shedding keratinocyte_death"
    " vascular_rate blocker_absorption blocker_elimination paracrine_decay msc_lung_loss"
    " msc_organ_loss msc_depot_loss blocker_il17_absorption blocker_il23_absorption"
    " blocker_p40_absorption trm_rate"
).split()
_FRACTIONS = (
    "th17_fraction treg_suppression msc_treg_emax msc_th17_emax msc_dc_emax msc_cytokine_emax"
    " blocker_il17_emax blocker_il23_emax blocker_p40_emax blocker_emax_drug trm_share"
    " il17_signal_share il12_th1_share blocker_weight_il17 blocker_weight_il23 blocker_weight_p40"
    " blocker_il17_nonresponse blocker_il23_nonresponse blocker_p40_nonresponse"
    " blocker_nonresponse_drug blocker_response_draw"
).split()
#: A unit for each parameter where one is clear; the others (per cytokine unit) carry none.
PARAMETER_UNITS: Final = {
    **dict.fromkeys(_PER_DAY, "per_day"),
    **dict.fromkeys(_FRACTIONS, "dimensionless"),
    "paracrine_half_life": "day",
    "msc_lung_half_life": "day",
    "msc_organ_half_life": "day",
    "msc_depot_half_life": "day",
    "trm_half_life": "day",
    "blocker_il17_half_life": "day",
    "blocker_il23_half_life": "day",
    "blocker_p40_half_life": "day",
    "dc_basal_influx": "cells_per_mm2_per_day",
    "dc_activation_max": "cells_per_mm2_per_day",
    "treg_level": "cells_per_mm2",
    "sc_crowding": "mm2_per_cell_per_day",
    "ta_crowding": "mm2_per_cell_per_day",
    "d_crowding": "mm2_per_cell_per_day",
}

_SBO_PARAMETER: Final = 2  # SBO:0000002 quantitative systems description parameter
_SBO_COMPARTMENT: Final = 290  # SBO:0000290 physical compartment
_XHTML: Final = '<body xmlns="http://www.w3.org/1999/xhtml">{}</body>'
MODEL_NOTE: Final = (
    "<p>RESEARCH MODEL — every output is SIMULATED and describes no real patient; nothing in it"
    " is a result about any therapy.</p>"
    "<p>psotrack virtual-patient model of psoriasis immunology. Immune–keratinocyte core: Shmarov"
    " F, Smith GR, Weatherhead SC, Reynolds NJ, Zuliani P. Individualised computational modelling"
    " of immune mediated disease onset, flare and clearance in psoriasis. PLoS Comput Biol"
    " 2022;18(9):e1010267 (model psor.v8.4), with psotrack's departures (Th17/Th1 split,"
    " regulatory T cells, vascular state; psotrack docs/model.md section 3.3). Cell-therapy and"
    " antibody terms are psotrack assumptions, calibrated to a few published counts.</p>"
    "<p>Schedule: {schedule}. Initial state: the published untreated {initial} steady state."
    " Time in days; cells per mm² of epidermis; cytokines in the model's arbitrary units.</p>"
    "<p>Not included: the virtual population's between-patient variability, observation and"
    " scoring noise (PASI, labs), and the max(·, 0) guards of psotrack's solver.</p>"
)


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise PsotrackError(f"SBML export: cannot set {what} (libSBML code {status})")


def _math(formula: str, what: str) -> libsbml.ASTNode:
    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise PsotrackError(f"SBML export: cannot read the formula of {what}: {formula!r}")
    return ast


def _notes(element: libsbml.SBase, text: str) -> None:
    _check(element.setNotes(_XHTML.format(text)), f"the notes of {element.getId() or 'model'}")


def _parameter(
    model: libsbml.Model, name: str, value: float | None, note: str, unit: str | None = None
) -> None:
    par = model.createParameter()
    _check(par.setId(name), name)
    par.setConstant(True)
    if value is not None:
        _check(par.setValue(value), f"{name}'s value")
    if unit is not None:
        _check(par.setUnits(unit), f"{name}'s unit")
    par.setSBOTerm(_SBO_PARAMETER)
    _notes(par, f"<p>{note}</p>")


def _units(model: libsbml.Model) -> None:
    for name, parts in UNIT_DEFINITIONS.items():
        definition = model.createUnitDefinition()
        definition.setId(name)
        for kind, exponent, multiplier in parts:
            unit = definition.createUnit()
            unit.setKind(kind)
            unit.setExponent(exponent)
            unit.setScale(0)
            unit.setMultiplier(multiplier)
    model.setTimeUnits("day")
    model.setAreaUnits("mm2")


def _annotate(model: libsbml.Model) -> None:
    model.setMetaId("psotrack_model")
    term = libsbml.CVTerm(libsbml.MODEL_QUALIFIER)
    term.setModelQualifierType(libsbml.BQM_IS_DERIVED_FROM)
    term.addResource(f"https://identifiers.org/doi:{SOURCE_DOI}")
    _check(model.addCVTerm(term), "the model's MIRIAM annotation")


def _species(model: libsbml.Model, y0: FloatArray) -> None:
    skin = model.createCompartment()
    skin.setId("skin")
    skin.setSpatialDimensions(2.0)
    skin.setSize(1.0)
    skin.setUnits("mm2")
    skin.setConstant(True)
    skin.setSBOTerm(_SBO_COMPARTMENT)
    _notes(skin, "<p>1 mm² of epidermis at one plaque (or healthy skin)</p>")
    for index, name in enumerate(s.STATES):
        species = model.createSpecies()
        _check(species.setId(name), name)
        species.setCompartment("skin")
        species.setInitialConcentration(float(y0[index]))
        species.setHasOnlySubstanceUnits(False)
        species.setBoundaryCondition(False)
        species.setConstant(False)
        species.setSubstanceUnits("item" if "cells/mm²" in s.STATE_INFO[name] else "dimensionless")
        _notes(species, f"<p>{s.STATE_INFO[name]}</p>")


def _parameters(model: libsbml.Model, p: ModelParameters, inputs: SiteInputs) -> None:
    defaults = ModelParameters()
    for f in fields(ModelParameters):
        value = float(getattr(p, f.name))
        note = f"default {float(getattr(defaults, f.name)):g}; see psotrack docs/model.md section 4"
        _parameter(model, f.name, value, note, PARAMETER_UNITS.get(f.name))
    for name, (value, note) in CONSTANTS.items():
        _parameter(model, name, value, note, PARAMETER_UNITS.get(name))
    for f in fields(SiteInputs):
        value = float(getattr(inputs, f.name)[0])
        _parameter(
            model, f.name, value, f"site input from the schedule ({f.name})", "dimensionless"
        )
    for term in DERIVED:
        _parameter(model, term.id, None, term.note, PARAMETER_UNITS.get(term.id))
        assignment = model.createInitialAssignment()
        assignment.setSymbol(term.id)
        _check(assignment.setMath(_math(term.formula, term.id)), term.id)


def _rules(model: libsbml.Model) -> None:
    for term in ASSIGNMENTS:
        par = model.createParameter()
        _check(par.setId(term.id), term.id)
        par.setConstant(False)
        _notes(par, f"<p>{term.note}</p>")
        rule = model.createAssignmentRule()
        rule.setVariable(term.id)
        _check(rule.setMath(_math(term.formula, term.id)), term.id)
    for name in s.STATES:
        rule = model.createRateRule()
        rule.setVariable(name)
        _check(rule.setMath(_math(RATE_LAWS[name].formula, name)), f"the rate law of {name}")


def _dose_events(model: libsbml.Model, dosing: Dosing) -> None:
    for k, day in enumerate(dosing.days.tolist()):
        for j, pool in enumerate(Dosing.POOLS):
            amount = float(dosing.amounts[k, 0, j])
            if amount == 0:
                continue
            state = s.STATES[pool]
            event = model.createEvent()
            event.setId(f"dose_{k + 1}_{state}")
            event.setUseValuesFromTriggerTime(True)
            trigger = event.createTrigger()
            trigger.setInitialValue(False)  # so that a dose on day 0 fires at the start
            trigger.setPersistent(True)
            _check(trigger.setMath(_math(f"time >= {day!r}", event.getId())), "a trigger")
            assignment = event.createEventAssignment()
            assignment.setVariable(state)
            assignment.setMath(_math(f"{state} + {amount!r}", event.getId()))
            _notes(event, f"<p>dose on day {day:g}: {state} + {amount:g}</p>")


def sbml_document(
    schedule: str | Schedule = "untreated",
    initial: str = "plaque",
    parameters: ModelParameters | None = None,
) -> str:
    """The model as SBML L3V2 text: one plaque under ``schedule``, from a published state.

    ``parameters`` are one patient's (scalars; default the typical values). Raises
    :class:`PsotrackError` when the tables lack a state (a missing :class:`RateLaw`).
    """
    sched = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    if initial not in INITIAL_STATES:
        raise ValidationError("initial", initial, " or ".join(INITIAL_STATES), kind="invalid")
    p = parameters if parameters is not None else ModelParameters()
    rows = sorted({np.size(getattr(p, f.name)) for f in fields(p)} - {1})
    if rows:
        raise ValidationError("parameters", rows[0], "one patient's (scalar) parameters", "invalid")
    missing = [name for name in s.STATES if name not in RATE_LAWS]
    if missing:
        raise PsotrackError(f"SBML export: no rate law for the states {', '.join(missing)}")
    inputs, dosing = build_inputs([sched])

    document = libsbml.SBMLDocument(SBML_LEVEL, SBML_VERSION)
    model = document.createModel()
    model.setId("psotrack_virtual_patient")
    model.setName("psotrack virtual-patient model (Shmarov 2022 psor.v8.4 core) — SIMULATED")
    _notes(model, MODEL_NOTE.format(schedule=sched.text, initial=initial))
    _annotate(model)
    _units(model)
    _species(model, published_state(initial, p)[0])
    _parameters(model, p, inputs)
    _rules(model)
    _dose_events(model, dosing)
    text: str = libsbml.writeSBMLToString(document)
    return text
