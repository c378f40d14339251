"""The state vector of the virtual-patient model: names, order, units and meaning of each state."""

from __future__ import annotations

from typing import Final

#: State names in column order of ``y[n_rows, n_states]``, with units and the source species.
STATE_INFO: Final = {
    "dc": "activated dermal dendritic cells, cells/mm² (Shmarov 2022 DC)",
    "il23": "IL-23, model units (Shmarov 2022 IL23)",
    "th17": "Th17 effector cells, cells/mm² (half of Shmarov 2022 T)",
    "th1": "Th1 effector cells, cells/mm² (half of Shmarov 2022 T)",
    "treg": "regulatory T cells, cells/mm² (psotrack addition)",
    "il17": "IL-17/IL-22 lumped, model units (Shmarov 2022 IL17)",
    "tnf": "IFN-γ/TNF-α lumped, model units (Shmarov 2022 TNF)",
    "signal": "keratinocyte-derived signal (chemokines, AMPs), model units (Shmarov 2022 GF)",
    "stem": "keratinocyte stem cells, cells/mm² (Shmarov 2022 SC)",
    "transit": "transit-amplifying keratinocytes, cells/mm² (Shmarov 2022 TA)",
    "differentiated": "differentiated keratinocytes, cells/mm² (Shmarov 2022 D)",
    "vascular": "vascular/inflammation state, 1 = healthy skin (psotrack addition)",
    "trm_depletion": "depleted share of IL-23-maintained resident-memory Th17 cells, 0 = untreated"
    " (psotrack addition, issue 18)",
    "paracrine_systemic": "cell-therapy paracrine activity in the circulation, activity units",
    "paracrine_local": "cell-therapy paracrine activity at injected plaques, activity units",
    "blocker_depot": "antibody at the injection site, label-dose units",
    "blocker_central": "antibody in the central compartment, label-dose units",
    "msc_lung": "live infused MSCs trapped in the lung, 10⁶ cells/kg (psotrack cell kinetics)",
    "msc_organs": "live MSCs that left the lung alive (liver, spleen, skin), 10⁶ cells/kg",
    "msc_depot": "live MSCs in the perilesional depot at injected plaques, 10⁶ cells/kg",
}
STATES: Final = tuple(STATE_INFO)
N_STATES: Final = len(STATES)
IDX: Final = {name: i for i, name in enumerate(STATES)}

DC, IL23, TH17, TH1, TREG, IL17, TNF, SIGNAL = range(8)
STEM, TRANSIT, DIFFERENTIATED, VASCULAR = range(8, 12)
# The immune–skin states come first and the therapy-kinetics states after them (the solver
# integrates the latter exactly and advances a contiguous block of the former); the states after
# ``vascular`` are looked up by name.
TRM_DEPLETION: Final = IDX["trm_depletion"]
PARACRINE_SYSTEMIC, PARACRINE_LOCAL = IDX["paracrine_systemic"], IDX["paracrine_local"]
BLOCKER_DEPOT, BLOCKER_CENTRAL = IDX["blocker_depot"], IDX["blocker_central"]
MSC_LUNG, MSC_ORGANS, MSC_DEPOT = IDX["msc_lung"], IDX["msc_organs"], IDX["msc_depot"]
