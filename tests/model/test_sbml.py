"""The SBML export, read back by libSBML and integrated from its own rules (not equations.py).

The right-hand side here is built only from the SBML file: each rate rule, assignment rule and
initial assignment is turned back into infix text by ``libsbml.formulaToL3String`` and evaluated
with Python's ``math`` in a namespace of species and parameters; doses are the file's events.
That path shares no code with :mod:`psotrack.model.equations`, so agreeing with it (and with the
published steady states of Shmarov et al. PLoS Comput Biol 2022;18:e1010267) checks the export.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import fields
from pathlib import Path
from types import CodeType

import libsbml
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import root

from psotrack.cli import main
from psotrack.errors import PsotrackError, ValidationError
from psotrack.model import sbml
from psotrack.model import states as s
from psotrack.model.equations import SiteInputs, rhs
from psotrack.model.parameters import ModelParameters
from psotrack.model.solver import PUBLISHED_STEADY_STATES, published_state, simulate_reference
from psotrack.model.therapies import build_inputs, parse_schedule

_FUNCTIONS = {"ln": math.log, "exp": math.exp, "log10": math.log10, "sqrt": math.sqrt}
_FUNCTIONS |= {"pow": pow, "max": max, "min": min, "abs": abs}
# SBML's piecewise(value, condition, otherwise), one condition as psotrack writes it.
_FUNCTIONS["piecewise"] = lambda value, condition, otherwise: value if condition else otherwise


def _code(node: libsbml.ASTNode) -> CodeType:
    text = libsbml.formulaToL3String(node).replace("^", "**")
    return compile(text, "<sbml>", "eval")


class SbmlOdes:
    """The ODEs of an SBML text: constants, assignment rules, rate rules, dose events."""

    def __init__(self, text: str) -> None:
        document = libsbml.readSBMLFromString(text)
        self.document = document
        model = document.getModel()
        self.species = [sp.getId() for sp in model.getListOfSpecies()]
        self.y0 = np.array([sp.getInitialConcentration() for sp in model.getListOfSpecies()])
        self.constants = {
            par.getId(): par.getValue() for par in model.getListOfParameters() if par.getConstant()
        }
        for assignment in model.getListOfInitialAssignments():
            env = {"__builtins__": {}, **_FUNCTIONS, **self.constants}
            self.constants[assignment.getSymbol()] = eval(_code(assignment.getMath()), env)
        self.assignments = [
            (rule.getVariable(), _code(rule.getMath()))
            for rule in model.getListOfRules()
            if rule.isAssignment()
        ]
        rates = {rule.getVariable(): rule for rule in model.getListOfRules() if rule.isRate()}
        self.rates = [_code(rates[name].getMath()) for name in self.species]
        self.events: list[tuple[float, str, CodeType]] = []
        for event in model.getListOfEvents():
            trigger = libsbml.formulaToL3String(event.getTrigger().getMath())
            day = re.fullmatch(r"time >= (\S+)", trigger)
            assert day is not None, trigger
            for change in event.getListOfEventAssignments():
                self.events.append((float(day[1]), change.getVariable(), _code(change.getMath())))

    def _env(self, t: float, y: np.ndarray) -> dict[str, object]:
        env: dict[str, object] = {"__builtins__": {}, **_FUNCTIONS, **self.constants, "time": t}
        env.update(zip(self.species, y.tolist(), strict=True))
        for name, code in self.assignments:
            env[name] = eval(code, env)
        return env

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        env = self._env(t, y)
        return np.array([eval(code, env) for code in self.rates])

    def integrate(self, days: np.ndarray, y0: np.ndarray | None = None) -> np.ndarray:
        """LSODA between event times; on an event day the pre-dose state is recorded."""
        y = (self.y0 if y0 is None else y0).copy()
        out = np.empty((days.size, y.size))
        bounds = sorted({0.0, *(e[0] for e in self.events), float(days.max())})
        for start, stop in itertools.pairwise(bounds):
            env = self._env(start, y)
            for day, name, code in self.events:
                if day == start:
                    y[self.species.index(name)] = eval(code, env)
            inside = ((days >= start) if start == 0 else (days > start)) & (days <= stop)
            points = np.unique(np.append(days[inside], stop))
            sol = solve_ivp(
                self.rhs, (start, stop), y, "LSODA", t_eval=points, rtol=1e-9, atol=1e-10
            )
            assert sol.success, sol.message
            out[inside] = sol.y.T[np.searchsorted(points, days[inside])]
            y = sol.y[:, -1].copy()
        return out


def _errors(document: libsbml.SBMLDocument) -> list[str]:
    document.checkConsistency()
    return [
        document.getError(i).getMessage()
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]


@pytest.mark.parametrize(
    "schedule", ["untreated", "ad-msc-pl:5e5/kg x2 q2w @2w + anti-il23 x2 q4w"]
)
def test_the_export_is_valid_sbml_l3v2(schedule: str) -> None:
    document = libsbml.readSBMLFromString(sbml.sbml_document(schedule))
    assert (document.getLevel(), document.getVersion()) == (3, 2)
    assert _errors(document) == []


def test_every_state_parameter_and_site_input_is_in_the_sbml() -> None:
    # Fails when a state of STATE_INFO or a field of ModelParameters/SiteInputs is left out.
    model = libsbml.readSBMLFromString(sbml.sbml_document()).getModel()
    species = {sp.getId() for sp in model.getListOfSpecies()}
    rate_rules = {r.getVariable() for r in model.getListOfRules() if r.isRate()}
    assert species == rate_rules == set(s.STATE_INFO)
    values = {par.getId(): par.getValue() for par in model.getListOfParameters()}
    for f in fields(ModelParameters):
        assert values[f.name] == pytest.approx(getattr(ModelParameters(), f.name), rel=1e-14)
    assert {f.name for f in fields(SiteInputs)} <= set(values)
    notes = model.getNotesString()
    assert "Shmarov" in notes and "e1010267" in notes and "SIMULATED" in notes
    assert "RESEARCH MODEL" in notes


def test_a_state_without_a_rate_law_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sbml.RATE_LAWS, "treg")
    with pytest.raises(PsotrackError, match="no rate law for the states treg"):
        sbml.sbml_document()


def test_sbml_right_hand_side_equals_psotrack_equations_at_random_points() -> None:
    # Random parameters (×0.5–1.5 of every default, fractions kept ≤ 1), states and site inputs.
    rng = np.random.default_rng(18)
    base = ModelParameters()
    for _ in range(5):
        p = ModelParameters(
            **{
                f.name: min(getattr(base, f.name) * rng.uniform(0.5, 1.5), 1.0)
                if getattr(base, f.name) <= 1.0
                else getattr(base, f.name) * rng.uniform(0.5, 1.5)
                for f in fields(ModelParameters)
            }
        )
        odes = SbmlOdes(sbml.sbml_document(parameters=p))
        for _ in range(4):
            inputs = SiteInputs(
                *(np.array([v]) for v in rng.uniform(0, 0.9, len(fields(SiteInputs))))
            )
            odes.constants.update({f.name: getattr(inputs, f.name)[0] for f in fields(SiteInputs)})
            y = published_state("plaque", p)[0] * rng.uniform(0.3, 1.7, s.N_STATES)
            y[[s.PARACRINE_SYSTEMIC, s.PARACRINE_LOCAL]] = rng.uniform(0, 5, 2)
            y[[s.BLOCKER_DEPOT, s.BLOCKER_CENTRAL]] = rng.uniform(0, 3, 2)
            expected = rhs(0.0, y[None, :], p, inputs)[0]
            scale = np.abs(expected) + 1e-9 * np.abs(y) + 1e-12
            np.testing.assert_array_less(np.abs(odes.rhs(0.0, y) - expected) / scale, 1e-9)


@pytest.mark.parametrize(
    ("draw", "emax"), [(0.05, 0.0), (0.5, ModelParameters().blocker_il17_emax)]
)
def test_sbml_states_primary_non_response_as_psotrack_does(draw: float, emax: float) -> None:
    # u = 0.05 lies below the anti-IL-17 share 0.12 (a non-responder: Emax 0), u = 0.5 above it.
    p = ModelParameters(blocker_response_draw=draw)
    odes = SbmlOdes(sbml.sbml_document("anti-il17", parameters=p))
    y = published_state("plaque", p)[0]
    y[s.BLOCKER_CENTRAL] = 2.0
    assert odes._env(0.0, y)["blocker_emax_drug"] == pytest.approx(emax, abs=0)
    expected = rhs(0.0, y[None, :], p, build_inputs([parse_schedule("anti-il17")])[0])[0]
    # Near the plaque steady state some derivatives are rounding noise around 0: absolute 1e-9.
    np.testing.assert_allclose(odes.rhs(0.0, y), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("kind", "cells"), [("healthy", 79_820), ("plaque", 265_985)])
def test_sbml_reproduces_the_published_steady_states(kind: str, cells: int) -> None:
    # Shmarov 2022: ≈ 79 820 cells/mm² in healthy skin, ≈ 265 985 in a plaque (solver.py).
    odes = SbmlOdes(sbml.sbml_document(initial=kind))
    core = [odes.species.index(n) for n in list(s.STATES)[: s.VASCULAR + 1]]

    def f(x: np.ndarray) -> np.ndarray:
        y = odes.y0.copy()
        y[core] = x
        return odes.rhs(0.0, y)[core]

    solution = root(f, odes.y0[core] * 1.05, method="hybr", tol=1e-12)
    assert solution.success
    found = dict(zip(np.array(odes.species)[core].tolist(), solution.x, strict=True))
    ref = PUBLISHED_STEADY_STATES[kind]
    for name in ("dc", "il23", "il17", "tnf", "signal", "stem", "transit", "differentiated"):
        assert found[name] == pytest.approx(ref[name], rel=1e-5)
    assert found["th17"] + found["th1"] == pytest.approx(ref["t_cells"], rel=1e-5)
    names = ("dc", "th17", "th1", "stem", "transit", "differentiated")
    assert sum(found[n] for n in names) == pytest.approx(cells, abs=1.0)
    # Stable: a year of untreated time from the published state stays on it.
    year = odes.integrate(np.array([0.0, 365.0]))
    np.testing.assert_allclose(year[-1][core], odes.y0[core], rtol=1e-4)


@pytest.mark.parametrize(
    "schedule", ["uc-msc-iv:1.5e+06/kg x4 q2w", "anti-il17:2 x3 q4w @1w + topical:0.2"]
)
def test_sbml_events_reproduce_psotracks_treated_trajectory(schedule: str) -> None:
    p = ModelParameters()
    odes = SbmlOdes(sbml.sbml_document(schedule))
    days = np.arange(0.0, 127.0, 7.0)
    days = np.union1d(days, [1.0, 3.0, 15.0])
    got = odes.integrate(days)
    inputs, dosing = build_inputs([parse_schedule(schedule)])
    expected = simulate_reference(p, published_state("plaque", p)[0], days, inputs, dosing)
    scale = np.abs(expected).max(axis=0) + 1e-12
    assert np.max(np.abs(got - expected) / scale) < 1e-6  # measured 2.8e-8
    # The therapy acted: keratinocytes fell by more than a tenth somewhere along the way.
    assert got[:, s.DIFFERENTIATED].min() < 0.9 * got[0, s.DIFFERENTIATED]


def test_bad_initial_state_and_population_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="initial='sick': plaque or healthy"):
        sbml.sbml_document(initial="sick")
    with pytest.raises(ValidationError, match="parameters=3: one patient's"):
        sbml.sbml_document(parameters=ModelParameters().broadcast(3))


def test_cli_writes_the_file_whole_and_exit_2_on_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.xml"
    args = ["model", "export-sbml", "--output", str(out)]
    assert main([*args, "--schedule", "uc-msc-iv:1e6/kg x3 q4w"]) == 0
    events = libsbml.readSBMLFromString(out.read_text(encoding="utf-8")).getModel()
    assert events.getNumEvents() == 3
    assert [p.name for p in tmp_path.iterdir()] == ["model.xml"]  # no temporary file left
    assert "research model" in capsys.readouterr().err
    bad = tmp_path / "bad.xml"
    assert main(["model", "export-sbml", "--output", str(bad), "--schedule", "msc"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: schedule='msc': cannot read 'msc'")
    assert not bad.exists()
