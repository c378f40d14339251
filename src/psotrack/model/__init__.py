"""The virtual-patient model of psoriasis immunology and cell therapy (every output simulated)."""

from psotrack.model.equations import SiteInputs, rhs
from psotrack.model.forecast import Forecast, forecast_patient
from psotrack.model.observation import observation_frame, observe_labs, observe_pasi
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import Population, build_population, simulate_arm
from psotrack.model.solver import Dosing, published_state, simulate, simulate_reference
from psotrack.model.therapies import Schedule, build_inputs, parse_schedule
from psotrack.model.trial import TrialResult, power_estimate, simulate_trial

__all__ = [
    "Dosing",
    "Forecast",
    "ModelParameters",
    "Population",
    "Schedule",
    "SiteInputs",
    "TrialResult",
    "build_inputs",
    "build_population",
    "forecast_patient",
    "observation_frame",
    "observe_labs",
    "observe_pasi",
    "parse_schedule",
    "power_estimate",
    "published_state",
    "rhs",
    "simulate",
    "simulate_arm",
    "simulate_reference",
    "simulate_trial",
]
