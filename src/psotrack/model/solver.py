"""Integrators: a fixed-step vectorised solver for many patients and a ``solve_ivp`` reference.

The vectorised path is the exponential Runge–Kutta method of stiff order four of Hochbruck &
Ostermann (SIAM J Numer Anal 2005;43:1069–1090, eq. 5.19; five stages, φ-functions by closed form
and by Taylor series for small ``λh``): the linear first-order losses ``λ`` (up to 36.5/day for
the cytokines, the source of stiffness) are integrated exactly, the remaining terms by a rule of
stiff order four (an error bound that does not grow with the stiffness), so a step of a quarter
of a day is stable and accurate for this system (checked against LSODA at rtol 1e-8 in the
tests). ETDRK4 (Cox & Matthews 2002), one stage fewer, was used until 2026-12-04: with the
trigger its error at this step moved the cohort mean PASI by 1.15 % against the 1 % target (it
does not satisfy the stiff order conditions of order four, so its order may drop on stiff
problems; docs/model.md section 6). The integrating-factor RK4 of Lawson was tried first and
rejected: stable but inaccurate at this step because it does not integrate the fast cytokines'
slowly varying production exactly.

The therapy states (:data:`~psotrack.model.equations.LINEAR_STATES`: live MSCs, paracrine pools,
blocker) form a linear system with constant coefficients that no other state enters. They are
integrated exactly, ``z(t + h/2) = exp(A·h/2)·z(t)`` with ``A`` read from the equations and its
exponential computed once per run (scaled Taylor series and squaring), and the exponential
Runge–Kutta step carries only the immune–skin states, which see the therapy at ``t``,
``t + h/2`` and ``t + h`` as a known forcing (:class:`~psotrack.model.equations.TherapyFactors`).
Rows are integrated in blocks of :data:`BLOCK_ROWS` so that the working arrays stay in the CPU
cache. States are clipped at zero after each step (concentrations and cell counts cannot be
negative; the clip is inactive on normal trajectories). Accuracy at h = 1/4 day: ≤ 0.072 % of
each state's range on the test patients (0.72 % with ETDRK4), worst while a plaque relapses (a
bistable switch, where timing is sensitive); the therapy states to rounding (their closed form
is a test).

Doses are instantaneous jumps of the pool states (:class:`Dosing`); a state reported on a dose
day is the pre-dose (trough) value, as a visit assessed before the infusion.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp

from psotrack.errors import Problem, ValidationError
from psotrack.model import states as s
from psotrack.model.equations import (
    BLOCKADE_SOURCES,
    LINEAR_STATES,
    PARACRINE_SOURCES,
    HeldFactors,
    SiteInputs,
    TherapyFactors,
    blockade_factors,
    blocker_constants,
    decay_rates,
    immune_skin_production,
    linear_production,
    paracrine_factors,
    rhs,
    steady_factors,
    therapy_factors,
)
from psotrack.model.parameters import HEALTHY_CYTOKINE_LOAD, ModelParameters
from psotrack.model.trigger import TriggerPath, TriggerStream
from psotrack.processes import available_cores, can_fork, run_parts, shared_empty

FloatArray = npt.NDArray[np.float64]
F = TypeVar("F")

#: Steady states of the untreated published model (Shmarov 2022, psor.v8.4 equations), solved
#: with scipy.optimize.fsolve; cells/mm² or model units. Sums: 79 820 healthy, 265 985 plaque.
PUBLISHED_STEADY_STATES = {
    "healthy": {
        "dc": 1563.064, "il23": 42.8237, "t_cells": 1556.093, "il17": 21.3164,
        "tnf": 21.3164, "signal": 717.030, "stem": 3947.214, "transit": 22224.367,
        "differentiated": 50529.358,
    },
    "plaque": {
        "dc": 4804.399, "il23": 131.6274, "t_cells": 4782.971, "il17": 65.5201,
        "tnf": 65.5201, "signal": 2271.065, "stem": 12544.228, "transit": 70349.635,
        "differentiated": 173504.140,
    },
}  # fmt: skip


@dataclass(frozen=True)
class Dosing:
    """Dose jumps: on ``days[k]`` add ``amounts[k, row, j]`` to pool state ``POOLS[j]``.

    The pools: live MSCs in the lung (an IV infusion), live MSCs in the perilesional depot,
    antibody in the injection-site depot.
    """

    days: FloatArray
    amounts: FloatArray

    POOLS = (s.MSC_LUNG, s.MSC_DEPOT, s.BLOCKER_DEPOT)

    @classmethod
    def none(cls, n: int) -> Dosing:
        return cls(np.zeros(0), np.zeros((0, n, 3)))


def published_state(kind: str, p: ModelParameters, n: int = 1) -> FloatArray:
    """The untreated healthy or plaque state, rows ``(n, n_states)``, Tregs at their level."""
    ref = PUBLISHED_STEADY_STATES[kind]
    y = np.zeros((n, s.N_STATES))
    for name in ("dc", "il23", "il17", "tnf", "signal", "stem", "transit", "differentiated"):
        y[:, s.IDX[name]] = ref[name]
    fraction = np.broadcast_to(np.asarray(p.th17_fraction, np.float64), (n,))
    y[:, s.TH17] = fraction * ref["t_cells"]
    y[:, s.TH1] = (1.0 - fraction) * ref["t_cells"]
    y[:, s.TREG] = p.treg_level
    y[:, s.VASCULAR] = (ref["il17"] + ref["tnf"]) / HEALTHY_CYTOKINE_LOAD
    return y


def _check_grid(days: FloatArray, dosing: Dosing, steps_per_day: int) -> list[Problem]:
    problems = []
    for name, values in (("days", days), ("dose days", dosing.days)):
        on_grid = np.isclose(values * steps_per_day, np.round(values * steps_per_day))
        if values.size and (not on_grid.all() or values.min() < 0):
            problems.append(
                Problem(name, values.tolist(), f"days ≥ 0 on a grid of 1/{steps_per_day} day")
            )
    if days.size and np.any(np.diff(days) < 0):
        problems.append(Problem("days", days.tolist(), "ascending days", kind="invalid"))
    return problems


def simulate(
    p: ModelParameters,
    y0: FloatArray,
    days: npt.ArrayLike,
    inputs: SiteInputs,
    dosing: Dosing | None = None,
    steps_per_day: int = 4,
    trigger: TriggerStream | None = None,
    workers: int | None = None,
) -> FloatArray:
    """Integrate all rows at once from day 0; returns states at ``days``, ``(len(days), n, S)``.

    ``p`` holds scalars or arrays of length ``n = y0.shape[0]``; days and dose days must lie on
    the step grid (multiples of ``1/steps_per_day``). ``trigger``: the stimulus ``dc_stim`` per
    row, advanced one grid step per step (its step must be ``1/steps_per_day``), linear within
    a step; ``None``: no stimulus. ``workers``: processes sharing the blocks of rows
    (:mod:`psotrack.processes`; same result as one, and one where this process cannot fork);
    ``None``: one per available core when the run is long enough to repay the fork
    (:data:`PARALLEL_ROW_STEPS`), else one.
    """
    n = y0.shape[0]
    dosing = dosing if dosing is not None else Dosing.none(n)
    wanted = np.asarray(days, dtype=np.float64)
    problems = _check_grid(wanted, dosing, steps_per_day)
    if problems:
        raise ValidationError(problems=problems)
    want_steps = np.round(wanted * steps_per_day).astype(np.int64)
    last = int(want_steps.max()) if wanted.size else 0
    wanted_at = _by_step(want_steps)
    doses_at = _by_step(np.round(dosing.days * steps_per_day).astype(np.int64))
    h = 1.0 / steps_per_day
    if workers is not None and workers < 1:
        raise ValidationError("workers", workers, "a whole number of processes ≥ 1")
    if workers is None:
        workers = default_workers(n, last)
    elif not can_fork():
        workers = 1
    # Rows are independent: integrate them in blocks (of equal size, at most BLOCK_ROWS) whose
    # working arrays stay in the CPU cache, as many blocks per process as the others.
    count = max(1, -(-n // BLOCK_ROWS))
    count = -(-count // workers) * workers if workers > 1 else count
    blocks = [
        _Block.start(p, y0, inputs, slice(int(rows[0]), int(rows[-1]) + 1), n, h, dosing)
        for rows in np.array_split(np.arange(n), count)
        if rows.size
    ]
    shape = (wanted.size, n, s.N_STATES)
    out = shared_empty(shape) if workers > 1 else np.empty(shape)
    # With a trigger, time runs in chunks: the stimulus of every row for one chunk is drawn from
    # the stream (in step order, so the draws do not depend on the blocks; each process draws
    # them from its own copy of the stream), then each block integrates the chunk. At most
    # TRIGGER_VALUES values are held at once.
    chunk = last if trigger is None else max(1, TRIGGER_VALUES // max(n, 1))

    def integrate(mine: list[_Block]) -> None:
        for first in range(0, last, max(chunk, 1)):
            steps = range(first, min(first + chunk, last))
            stim = None if trigger is None else _stimulus(trigger, len(steps))
            for block in mine:
                block.run(steps, stim, wanted_at, doses_at, dosing.amounts, out)
        for block in mine:
            for k in wanted_at.get(last, ()):
                out[k, block.rows] = block.y.T

    if workers > 1:
        run_parts([partial(integrate, blocks[k::workers]) for k in range(workers)])
    else:
        integrate(blocks)
    return out


#: Rows integrated together. On the 2-core development machine (2026-12-03) main's solver took
#: 0.37 ms of CPU per row at 5 000 rows and 0.53 ms at 10 000, whose arrays leave the CPU cache;
#: blocks of 2 048–4 096 rows were faster than one block of 10 000 and alike within the noise.
BLOCK_ROWS = 2048
#: Row-steps (rows × steps) from which a run is shared among processes: about 0.5 s of one core's
#: work (0.5–0.7 µs per row-step here), against milliseconds to fork; at least MIN_PROCESS_ROWS
#: rows each.
PARALLEL_ROW_STEPS = 2**20
MIN_PROCESS_ROWS = 512
#: The most stimulus values (steps × rows) drawn ahead of the integration at once (32 MiB).
TRIGGER_VALUES = 2**22
_LINEAR = list(LINEAR_STATES)
_NONLINEAR = [i for i in range(s.N_STATES) if i not in LINEAR_STATES]
#: The rows that the exponential Runge–Kutta step advances: the immune–skin states, and any
#: therapy state between them (overwritten by its exact value after each step).
_CORE = slice(min(_NONLINEAR), max(_NONLINEAR) + 1)
#: The therapy states' rows, as a slice where they are contiguous (a cheaper copy).
_LINEAR_ROWS: slice | list[int] = (
    slice(_LINEAR[0], _LINEAR[-1] + 1)
    if _LINEAR == list(range(_LINEAR[0], _LINEAR[-1] + 1))
    else _LINEAR
)


def default_workers(n: int, steps: int) -> int:
    """The processes a run of ``n`` rows over ``steps`` steps is shared among by default."""
    if n * steps < PARALLEL_ROW_STEPS or not can_fork():
        return 1
    return max(1, min(available_cores(), n // MIN_PROCESS_ROWS))


def _stimulus(trigger: TriggerStream, steps: int) -> FloatArray:
    """``dc_stim`` of every row at the next ``steps + 1`` grid points (the current one first)."""
    values = np.empty((steps + 1, trigger.value.shape[0]))
    values[0] = trigger.value
    for k in range(steps):
        values[k + 1] = trigger.advance()
    return values


@dataclass
class _Block:
    """One block of rows being integrated: its constants, its state and its scratch arrays."""

    rows: slice
    p: ModelParameters
    inputs: SiteInputs
    y: FloatArray  # (n_states, rows), the state at the current step
    weights: _Weights
    flow: _LinearFlow
    held: HeldFactors  # the factor groups that stay fixed in this block
    half: FloatArray  # therapy states at t + h/2
    ahead: FloatArray  # therapy states at t + h
    work: tuple[FloatArray, ...]

    @classmethod
    def start(
        cls,
        p: ModelParameters,
        y0: FloatArray,
        inputs: SiteInputs,
        rows: slice,
        n: int,
        h: float,
        dosing: Dosing,
    ) -> _Block:
        whole = rows.stop - rows.start == n
        p = p if whole else p.take(np.arange(rows.start, rows.stop))
        inputs = inputs if whole else inputs.take(np.arange(rows.start, rows.stop))
        y = np.ascontiguousarray(y0[rows].T, dtype=np.float64).copy()
        lam = decay_rates(p, y.shape[1], inputs)
        idle = _idle_states(y, dosing.amounts[:, rows])
        return cls(
            rows=rows,
            p=p,
            inputs=inputs,
            y=y,
            weights=_exprk4_weights(lam[_CORE], h),
            flow=_LinearFlow.build(p, inputs, lam, h / 2, idle),
            held=HeldFactors(
                steady=steady_factors(p, inputs),
                paracrine=paracrine_factors(0.0, p) if idle >= set(PARACRINE_SOURCES) else None,
                blockade=(
                    blockade_factors(0.0, p, inputs) if idle >= set(BLOCKADE_SOURCES) else None
                ),
            ),
            half=np.zeros_like(y),
            ahead=np.zeros_like(y),
            work=tuple(np.zeros_like(y) for _ in range(8)),
        )

    def run(
        self,
        steps: range,
        stim: FloatArray | None,
        wanted_at: dict[int, list[int]],
        doses_at: dict[int, list[int]],
        amounts: FloatArray,
        out: FloatArray,
    ) -> None:
        """Advance over ``steps``, recording the states wanted at each step before it.

        ``stim``: the stimulus of all rows at the chunk's grid points (``len(steps) + 1``), or
        ``None``.
        """
        p, inputs, y, pools = self.p, self.inputs, self.y, list(Dosing.POOLS)
        pk, held = blocker_constants(p, inputs, y.shape[1]), self.held

        def stimulus(k: int) -> FloatArray | float:
            return 0.0 if stim is None else stim[k, self.rows]

        def production(yt: FloatArray, f: TherapyFactors, into: FloatArray) -> None:
            immune_skin_production(yt, f, p, into)

        now = therapy_factors(y, p, inputs, stimulus(0), pk, held)
        for k, step in enumerate(steps):
            for wanted in wanted_at.get(step, ()):
                out[wanted, self.rows] = y.T
            if step in doses_at:
                for dose in doses_at[step]:
                    y[pools] += amounts[dose, self.rows].T
                now = therapy_factors(y, p, inputs, stimulus(k), pk, held)
            self.flow.advance(y, self.half)
            self.flow.advance(self.half, self.ahead)
            later = therapy_factors(self.ahead, p, inputs, stimulus(k + 1), pk, held)
            middle_stim = (
                0.0 if stim is None else 0.5 * (stim[k, self.rows] + stim[k + 1, self.rows])
            )
            middle = therapy_factors(self.half, p, inputs, middle_stim, pk, held)
            _exprk4_step(y, self.weights, production, (now, middle, later), self.work)
            y[_LINEAR_ROWS] = self.ahead[_LINEAR_ROWS]
            np.maximum(y, 0.0, out=y)
            now = later


def _idle_states(y: FloatArray, amounts: FloatArray) -> set[int]:
    """The therapy states that stay exactly 0 in a block: 0 at the start, and in a group
    (:data:`PARACRINE_SOURCES`, :data:`BLOCKADE_SOURCES`) that no dose of the block enters.

    The groups are closed linear systems (no state of one feeds the other), so a group that
    starts at 0 and receives nothing stays 0.
    """
    idle: set[int] = set()
    for group in (PARACRINE_SOURCES, BLOCKADE_SOURCES):
        dosed = any(
            pool in group and np.any(amounts[:, :, j] != 0.0) for j, pool in enumerate(Dosing.POOLS)
        )
        if not dosed and not np.any(y[list(group)] != 0.0):
            idle.update(group)
    return idle


def _by_step(steps: npt.NDArray[np.int64]) -> dict[int, list[int]]:
    """The indices ``k`` of ``steps`` grouped by their value ``steps[k]``."""
    grouped: dict[int, list[int]] = {}
    for k, step in enumerate(steps.tolist()):
        grouped.setdefault(step, []).append(k)
    return grouped


@dataclass(frozen=True)
class _LinearFlow:
    """The exact flow of the therapy states over ``τ``: ``z(t + τ) = exp(A·τ)·z(t)`` per row.

    ``A`` is read from :func:`~psotrack.model.equations.linear_production` (applied to unit
    vectors) and :func:`~psotrack.model.equations.decay_rates`, so the equations stay in one
    place. Kept as the non-zero entries of ``exp(A·τ)``, row by row: ``(to, ((from, factor), …))``
    with one factor per patient. The ``idle`` states (0 and staying 0, :func:`_idle_states`) are
    left out: their rows of the target keep the 0 they were made with.
    """

    rows: tuple[tuple[int, tuple[tuple[int, FloatArray], ...]], ...]

    @classmethod
    def build(
        cls,
        p: ModelParameters,
        inputs: SiteInputs,
        lam: FloatArray,
        tau: float,
        idle: Collection[int] = (),
    ) -> _LinearFlow:
        k, n = len(_LINEAR), lam.shape[1]
        a = np.zeros((n, k, k))
        unit, production = np.zeros((s.N_STATES, n)), np.zeros((s.N_STATES, n))
        for j, state in enumerate(_LINEAR):
            unit[:] = 0.0
            unit[state] = 1.0
            production[:] = 0.0
            linear_production(unit, p, inputs, production)
            a[:, :, j] = production[_LINEAR].T
        a[:, np.arange(k), np.arange(k)] -= lam[_LINEAR].T
        flow = _expm(a * tau)
        used = np.any(flow != 0.0, axis=0) | np.eye(k, dtype=bool)  # the diagonal even if n = 0
        return cls(
            tuple(
                (
                    _LINEAR[i],
                    tuple((_LINEAR[j], flow[:, i, j].copy()) for j in np.flatnonzero(used[i])),
                )
                for i in range(k)
                if _LINEAR[i] not in idle
            )
        )

    def advance(self, source: FloatArray, target: FloatArray) -> None:
        """Write the therapy states of ``source``, advanced by ``τ``, into ``target``."""
        for to, terms in self.rows:
            row = target[to]
            (first, factor), *rest = terms
            np.multiply(factor, source[first], out=row)
            for other, factor in rest:
                row += factor * source[other]


def _expm(a: FloatArray) -> FloatArray:
    """``exp`` of each matrix in ``a`` (``(n, k, k)``): Taylor series after scaling, then squaring.

    The scaled norm is at most 1/4, so 18 terms leave a relative error below 1e-25.
    """
    norm = float(np.abs(a).sum(axis=1).max(initial=0.0))
    squarings = max(0, int(np.ceil(np.log2(norm / 0.25)))) if norm > 0.25 else 0
    scaled = a / 2.0**squarings
    term = np.broadcast_to(np.eye(a.shape[1]), a.shape).copy()
    result = term.copy()
    for m in range(1, 19):
        term = term @ scaled / m
        result += term
    for _ in range(squarings):
        result = result @ result
    return result


@dataclass(frozen=True)
class _Weights:
    """Coefficients of one step ``h`` of the stiff-order-4 exponential Runge–Kutta method, each
    ``(n_states, n)``: ``e^(−λh)``, ``e^(−λh/2)`` and the ``h·a_ij`` and ``h·b_i`` of
    :func:`_exprk4_step`."""

    full: FloatArray
    half: FloatArray
    a21: FloatArray
    a31: FloatArray
    a32: FloatArray
    a41: FloatArray
    a42: FloatArray  # = a43
    a51: FloatArray
    a52: FloatArray  # = a53
    a54: FloatArray
    b1: FloatArray
    b4: FloatArray
    b5: FloatArray


def _phi(z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """φ₁, φ₂, φ₃ of ``z`` (≤ 0): closed forms, Taylor series near 0 where they would cancel."""
    small = np.abs(z) < 0.5
    zs = np.where(small, z, 0.0)
    series = [np.zeros_like(z) for _ in range(3)]
    term = np.ones_like(z)
    factorial = 1.0
    for k in range(25):  # |z| < 0.5: 25 terms leave < 1e-30 relative error
        for j in range(3):
            series[j] += term / (factorial * np.prod(np.arange(k + 1, k + j + 2)))
        factorial *= k + 1
        term = term * zs
    zc = np.where(small, -1.0, z)
    ez = np.exp(zc)
    phi1 = (ez - 1.0) / zc
    phi2 = (ez - 1.0 - zc) / zc**2
    phi3 = (ez - 1.0 - zc - zc**2 / 2) / zc**3
    return (
        np.where(small, series[0], phi1),
        np.where(small, series[1], phi2),
        np.where(small, series[2], phi3),
    )


def _exprk4_weights(lam: FloatArray, h: float) -> _Weights:
    """Hochbruck & Ostermann 2005, eq. 5.19: ``φⱼ`` at ``−λh``, ``ψⱼ`` at ``−λh/2``."""
    z = -lam * h
    phi1, phi2, phi3 = _phi(z)
    psi1, psi2, psi3 = _phi(z / 2)
    a52 = psi2 / 2 - phi3 + phi2 / 4 - psi3 / 2
    a54 = psi2 / 4 - a52
    return _Weights(
        full=np.exp(z),
        half=np.exp(z / 2),
        a21=h * psi1 / 2,
        a31=h * (psi1 / 2 - psi2),
        a32=h * psi2,
        a41=h * (phi1 - 2.0 * phi2),
        a42=h * phi2,
        a51=h * (psi1 / 2 - 2.0 * a52 - a54),
        a52=h * a52,
        a54=h * a54,
        b1=h * (phi1 - 3.0 * phi2 + 4.0 * phi3),
        b4=h * (4.0 * phi3 - phi2),
        b5=h * (4.0 * phi2 - 8.0 * phi3),
    )


def _exprk4_step(
    y: FloatArray,
    w: _Weights,
    production: Callable[[FloatArray, F, FloatArray], None],
    factors: tuple[F, F, F],
    work: tuple[FloatArray, ...],
) -> None:
    """Advance the immune–skin rows of ``y`` by one step (in place) for ``y' = N − λy``.

    The exponential Runge–Kutta method of stiff order four of Hochbruck & Ostermann (SIAM J
    Numer Anal 2005;43:1069–1090, eq. 5.19), five stages at ``t``, ``t + h/2``, ``t + h/2``,
    ``t + h`` and ``t + h/2``. ``production(stage, factor, out)`` writes ``N`` of a stage into
    ``out``; the ``factors`` are what it needs at ``t``, ``t + h/2`` and ``t + h`` (the therapy
    factors of the model). ``work`` holds eight scratch arrays shaped like ``y``.
    """
    now, middle, later = factors
    n1, n2, n3, n4, n5, stage, half_u, term = work
    u, k1, k2, k3, k4, k5 = y[_CORE], n1[_CORE], n2[_CORE], n3[_CORE], n4[_CORE], n5[_CORE]
    v, hu, t = stage[_CORE], half_u[_CORE], term[_CORE]
    # In place: the combination costs as much as the five evaluations otherwise.
    production(y, now, n1)
    np.multiply(w.half, u, out=hu)
    np.multiply(w.a21, k1, out=v)  # U2 = e^(−λh/2)·u + a21·N1
    v += hu
    production(stage, middle, n2)
    np.multiply(w.a31, k1, out=v)  # U3 = e^(−λh/2)·u + a31·N1 + a32·N2
    v += hu
    np.multiply(w.a32, k2, out=t)
    v += t
    production(stage, middle, n3)
    np.multiply(w.a41, k1, out=v)  # U4 = e^(−λh)·u + a41·N1 + a42·(N2 + N3)
    np.multiply(w.full, u, out=t)
    v += t
    np.add(k2, k3, out=k3)  # N3 is only needed as N2 + N3 from here
    np.multiply(w.a42, k3, out=t)
    v += t
    production(stage, later, n4)
    np.multiply(w.a51, k1, out=v)  # U5 = e^(−λh/2)·u + a51·N1 + a52·(N2 + N3) + a54·N4
    v += hu
    np.multiply(w.a52, k3, out=t)
    v += t
    np.multiply(w.a54, k4, out=t)
    v += t
    production(stage, middle, n5)
    u *= w.full  # u + h·(b1·N1 + b4·N4 + b5·N5)
    np.multiply(w.b1, k1, out=t)
    u += t
    np.multiply(w.b4, k4, out=t)
    u += t
    np.multiply(w.b5, k5, out=t)
    u += t


def simulate_reference(
    p: ModelParameters,
    y0: FloatArray,
    days: npt.ArrayLike,
    inputs: SiteInputs,
    dosing: Dosing | None = None,
    method: str = "LSODA",
    trigger: TriggerPath | None = None,
) -> FloatArray:
    """One patient (``y0`` of shape ``(S,)``) by ``solve_ivp`` (rtol 1e-8, atol 1e-10).

    Integrates piecewise between dose days, applying each dose as a jump after the pre-dose
    state is recorded; returns ``(len(days), S)``. ``p`` and ``inputs`` are for one row.
    ``trigger``: that row's ``dc_stim`` path (grid values, linear in between; the solver's
    steps are limited to the grid step so that no kink is stepped over).
    """
    max_step = trigger.h if trigger is not None else np.inf
    dosing = dosing if dosing is not None else Dosing.none(1)
    wanted = np.asarray(days, dtype=np.float64)
    out = np.empty((wanted.size, s.N_STATES))
    y = np.asarray(y0, dtype=np.float64).copy()
    bounds = sorted({0.0, *dosing.days.tolist(), float(wanted.max())})
    pools = list(Dosing.POOLS)
    for start, stop in itertools.pairwise(bounds):
        for k in np.flatnonzero(dosing.days == start):
            y[pools] += dosing.amounts[k, 0]
        inside = (wanted >= start) if start == 0 else (wanted > start)
        inside &= wanted <= stop
        points = np.unique(np.append(wanted[inside], stop))
        solution = solve_ivp(
            lambda t, x: rhs(
                t, x[None, :], p, inputs, trigger.at(t) if trigger is not None else 0.0
            )[0],
            (start, stop),
            y,
            method=method,
            t_eval=points,
            rtol=1e-8,
            atol=1e-10,
            max_step=max_step,
        )
        if not solution.success:
            raise RuntimeError(f"solve_ivp failed on [{start}, {stop}]: {solution.message}")
        out[inside] = solution.y.T[np.searchsorted(points, wanted[inside])]
        y = solution.y[:, -1].copy()
    return out
