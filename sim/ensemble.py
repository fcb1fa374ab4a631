"""Many runs in lockstep: the same mechanisms over arrays with a trailing run axis.

Run ``r`` of a batch equals the Mesa model run with the same scenario and seed, bit for
bit (tested), because both call `sim.mechanisms.advance` and draw from `sim.noise`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sim.arrays import ArrayBag, ModelParams
from sim.mechanisms import advance, initial_state
from sim.noise import NoiseSource
from sim.outputs import StackedHistory
from sim.params import Scenario


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
    history = []
    for t in range(steps):
        state = advance(state, params, noise.at(t), t)
        history.append(state if keep is None else ArrayBag({name: state[name] for name in keep}))
    return StackedHistory(history)


def run_seeds(scenario: Scenario, seeds: Sequence[int], steps: int | None = None) -> StackedHistory:
    """One scenario over many seeds in lockstep; see `run_batch`."""
    single = ModelParams.from_scenario(scenario)
    params = ModelParams.stack([single] * len(seeds))
    return run_batch(params, seeds, scenario.environment.steps if steps is None else steps)
