"""The sensitivity and bistability report: Sobol indices and the per-patient map, SVG in one page.

Pure: a :class:`~psotrack.model.sensitivity.SobolResult` and a bistability frame in, HTML text
out (charts drawn by matplotlib under psotrack's chart style, :mod:`psotrack.reports.figures`,
embedded as ``data:`` URIs so the page stands alone). Every page, chart and table says SIMULATED.
"""

from __future__ import annotations

import html
from typing import Final

import numpy as np
import polars as pl

from psotrack.model.bistability import healthy_state_stability
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import Population
from psotrack.model.sensitivity import OUTPUTS, FloatArray, SobolResult
from psotrack.reports.document import svg_uri
from psotrack.reports.figures import OKABE_ITO, drawing, svg_text

BANNER: Final = "SIMULATED — virtual patients of the psotrack model; not a result about any therapy"


def bistability_frame(population: Population) -> pl.DataFrame:
    """Per patient: the two varied factors, baseline PASI and whether a stable healthy state exists.

    ``t_cell_recruitment_factor`` and ``keratinocyte_factor`` are the patient's value over the
    typical one (the log-normal draws of :mod:`psotrack.model.population`).
    """
    p, typical = population.parameters, ModelParameters()
    found = healthy_state_stability(p, len(population))
    recruitment = np.asarray(p.t_cell_recruitment) / float(typical.t_cell_recruitment)
    keratinocyte = np.asarray(p.sc_proliferation) / float(typical.sc_proliferation)
    return pl.DataFrame(
        {
            "patient_id": population.patient_id,
            "t_cell_recruitment_factor": recruitment,
            "keratinocyte_factor": keratinocyte,
            "baseline_pasi": population.baseline_pasi,
            "max_real_eigenvalue": found.max_real_eigenvalue,
            "stable_healthy_state": found.stable,
            "seed": np.full(len(population), population.seed),
            "simulated": np.ones(len(population), dtype=bool),
        }
    )


def indices_chart(summary: pl.DataFrame, output: str) -> str:
    """First-order and total Sobol indices of one output with their 95 % intervals, as SVG."""
    from matplotlib.figure import Figure

    part = summary.filter(pl.col("output") == output)
    names = part["factor"].to_list()
    y = np.arange(len(names))
    with drawing():
        figure = Figure(figsize=(6.4, 0.32 * len(names) + 1.6))
        figure.subplots_adjust(left=0.3, right=0.97, top=1 - 0.6 / (0.32 * len(names) + 1.6))
        ax = figure.add_subplot()
        for offset, key, colour, label in (
            (-0.2, "S1", OKABE_ITO["blue"], "first-order S1"),
            (0.2, "ST", OKABE_ITO["vermillion"], "total ST"),
        ):
            value = part[key].to_numpy()
            err = np.vstack([value - part[f"{key}_low"].to_numpy(), part[f"{key}_high"] - value])
            ax.barh(y + offset, value, height=0.38, color=colour, label=label, xerr=err)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.axvline(0, color="#8a939c", linewidth=0.8)
        ax.set_xlabel("Sobol index (share of output variance, 95 % bootstrap interval)")
        ax.set_title(f"SIMULATED — sensitivity of {output}", loc="left")
        ax.legend(loc="lower right")
        return svg_text(figure)


def bistability_chart(frame: pl.DataFrame) -> str:
    """Which virtual patients have a stable healthy state, against their two factors, as SVG."""
    from matplotlib.figure import Figure

    stable = frame["stable_healthy_state"].to_numpy()
    x = frame["t_cell_recruitment_factor"].to_numpy()
    y = frame["keratinocyte_factor"].to_numpy()
    with drawing():
        figure = Figure(figsize=(6.4, 4.6))
        figure.subplots_adjust(left=0.13, right=0.97, top=0.88, bottom=0.13)
        ax = figure.add_subplot()
        for mask, colour, marker, label in (
            (stable, OKABE_ITO["blue"], "o", "stable healthy state"),
            (~stable, OKABE_ITO["vermillion"], "x", "no stable healthy state"),
        ):
            share = f"{int(mask.sum())}/{mask.size}"
            ax.scatter(x[mask], y[mask], c=colour, marker=marker, s=18, label=f"{label} ({share})")
        ax.set_xlabel("T-cell recruitment factor (patient value / typical value, ratio)")
        ax.set_ylabel("keratinocyte proliferation factor (ratio)")
        ax.set_title("SIMULATED — bistability map of the virtual patients", loc="left")
        ax.legend(loc="upper right", scatterpoints=1)
        return svg_text(figure)


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _spread(values: FloatArray) -> str:
    low, mid, high = np.percentile(values, [0, 50, 100])
    return f"median {mid:.3g} (range {low:.3g}–{high:.3g})"


def render_report(result: SobolResult, bistability: pl.DataFrame, seconds: float) -> str:
    """The self-contained HTML report of a Sobol run and a bistability map (all SIMULATED)."""
    summary = result.summary()
    stable = int(bistability["stable_healthy_state"].sum())
    total = bistability.height
    factors = pl.DataFrame(
        {
            "factor": [f.name for f in result.factors],
            "low": [f.low for f in result.factors],
            "high": [f.high for f in result.factors],
            "what": [f.note for f in result.factors],
        }
    )
    outputs = "".join(
        f"<li><b>{k}</b>: {html.escape(v)}; over the samples {_spread(result.outputs[k])}</li>"
        for k, v in OUTPUTS.items()
    )
    charts = "".join(
        f'<h3>{html.escape(name)}</h3><img alt="Sobol indices of {name} (simulated)" '
        f'src="{svg_uri(indices_chart(summary, name))}">'
        for name in OUTPUTS
    )
    shown = summary.select("output", "factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>SIMULATED — psotrack sensitivity and bistability report</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem}}
.banner{{background:#D55E00;color:#fff;padding:.5rem;font-weight:bold}}
table{{border-collapse:collapse;font-size:.85rem}}td,th{{border:1px solid #ccc;padding:2px 6px}}
img{{max-width:100%}}</style></head><body>
<p class="banner">{html.escape(BANNER)}</p>
<h1>Sensitivity and bistability of the virtual-patient model (SIMULATED)</h1>
<p>Sobol indices (SALib; Saltelli sampling, {result.samples.shape[0]} samples from
{result.samples.shape[0] // (len(result.factors) + 2)} base samples), each sample a virtual
population of {result.n} patients (common random numbers), seed {result.seed}:
{result.evaluations:,} patient simulations in {seconds:.1f} s. Bounds are psotrack assumptions
(docs/model.md, "Sensitivity and bistability").</p>
<h2>Outputs</h2><ul>{outputs}</ul>
<h2>Uncertain inputs</h2>{_table(factors)}
<h2>Sobol indices</h2>{charts}
{_table(shown)}
<h2>Bistability map</h2>
<p>{stable} of {total} virtual patients ({stable / max(total, 1):.0%}) have a stable healthy
steady state (seed {int(bistability["seed"][0]) if total else "-"}); for the other
{total - stable} every therapy effect is temporary: once the therapy has gone the plaque returns.
</p>
<img alt="bistability map (simulated)" src="{svg_uri(bistability_chart(bistability))}">
<p class="banner">{html.escape(BANNER)}</p>
</body></html>
"""
