"""Many runs in lockstep: the same mechanisms over arrays with a trailing run axis.

Run ``r`` of a batch equals the Mesa model run with the same scenario and seed, bit for
bit (tested), because both call `sim.mechanisms.advance` and draw from `sim.noise`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from sim.arrays import ArrayBag, ModelParams
from sim.mechanisms import advance, initial_state
from sim.noise import NoiseSource
from sim.outputs import StackedHistory
from sim.params import Scenario
from sim.policies import BatchPolicies
from sim.variables import FIRM_VARIABLES, MARKET_VARIABLES

SENTINELS = ("cash", "x", "market_share")
"""Variables checked every quarter for NaN or infinity (every other mechanism feeds into them);
every variable is checked in the last quarter."""


def nonfinite_runs(state: ArrayBag, names: Collection[str] | None = None) -> np.ndarray:
    """Per run of a batch state: whether any of the named output variables (default: all) holds NaN
    or infinity. The model never produces them for valid parameters it can compute; where it does,
    the run's results mean nothing and must not be reported as ok."""
    names = [*FIRM_VARIABLES, *MARKET_VARIABLES] if names is None else names
    bad = np.zeros(state["cash"].shape[1:], dtype=bool)
    for name in names:
        if name in state:
            bad |= ~np.isfinite(state[name]).all(axis=0)
    return bad


def run_batch(
    params: ModelParams, seeds: Sequence[int], steps: int, keep: Collection[str] | None = None
) -> StackedHistory:
    """Run stacked parameters (batch shape ``(R,)``) with one seed per run.

    Returns the history with time first: ``(T, R, F)`` and ``(T, R, 1)`` arrays, each
    variable stacked when first read. With ``keep``, only those variables are recorded:
    a batch then holds a few arrays per quarter instead of ~50 (less memory to touch,
    which is most of what a short sweep chunk costs in a newly forked worker).
    """
    if params.batch_shape != (len(seeds),):
        raise ValueError(f"{len(seeds)} seeds for a batch of shape {params.batch_shape}")
    state = initial_state(params)
    noise = NoiseSource(list(seeds), params.n_firms)
    decide = BatchPolicies(params, list(seeds)) if params.custom_policies else None  # else all vectorised
    history = []
    first_bad = np.full(len(seeds), -1)
    for t in range(steps):
        state = advance(state, params, noise.at(t), t, decide)
        history.append(state if keep is None else ArrayBag({name: state[name] for name in keep}))
        first_bad = np.where((first_bad < 0) & nonfinite_runs(state, SENTINELS), t, first_bad)
    if steps:
        first_bad = np.where((first_bad < 0) & nonfinite_runs(state), steps - 1, first_bad)
    stacked = StackedHistory(history)
    object.__setattr__(stacked, "first_nonfinite_step", first_bad)
    return stacked


def run_seeds(scenario: Scenario, seeds: Sequence[int], steps: int | None = None) -> StackedHistory:
    """One scenario over many seeds in lockstep; see `run_batch`."""
    single = ModelParams.from_scenario(scenario)
    params = ModelParams.stack([single] * len(seeds))
    return run_batch(params, seeds, scenario.environment.steps if steps is None else steps)
