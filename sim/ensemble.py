"""Many runs in lockstep: the same mechanisms over arrays with a trailing run axis.

Run ``r`` of a batch equals the Mesa model run with the same scenario and seed, bit for
bit (tested), because both call `sim.mechanisms.advance` and draw from `sim.noise`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.arrays import ModelParams
from sim.mechanisms import advance, initial_state
from sim.noise import NoiseSource
from sim.outputs import StackedHistory
from sim.params import Scenario


def run_batch(params: ModelParams, seeds: Sequence[int], steps: int) -> StackedHistory:
    """Run stacked parameters (batch shape ``(R,)``) with one seed per run.

    Returns the history with time first: ``(T, R, F)`` and ``(T, R, 1)`` arrays, each
    variable stacked when first read.
    """
    if params.batch_shape != (len(seeds),):
        raise ValueError(f"{len(seeds)} seeds for a batch of shape {params.batch_shape}")
    state = initial_state(params)
    noise = NoiseSource(list(seeds), params.n_firms)
    history = []
    for t in range(steps):
        state = advance(state, params, noise.at(t), t)
        history.append(state)
    return StackedHistory(history)


def run_seeds(scenario: Scenario, seeds: Sequence[int], steps: int | None = None) -> StackedHistory:
    """One scenario over many seeds in lockstep; see `run_batch`."""
    single = ModelParams.from_scenario(scenario)
    params = ModelParams.stack([single] * len(seeds))
    return run_batch(params, seeds, scenario.environment.steps if steps is None else steps)
