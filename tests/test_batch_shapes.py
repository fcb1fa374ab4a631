"""The mechanisms run unchanged on stacked runs, bit for bit (the basis of the batch engine)."""

import numpy as np

from sim import AIRaceModel, load_scenario
from sim.arrays import ModelParams
from sim.mechanisms import advance, initial_state
from sim.noise import NoiseSource
from sim.outputs import stack_history


def test_stacked_runs_equal_single_runs_bit_for_bit():
    seeds = [3, 4, 5, 6]
    scenarios = [load_scenario("baseline", {"environment.llm_ceiling": c}) for c in (1.5, 2, 3, 5)]
    params = ModelParams.stack([ModelParams.from_scenario(s) for s in scenarios])
    state, noise, history = initial_state(params), NoiseSource(seeds, params.n_firms), []
    for t in range(45):  # past one block of random draws
        state = advance(state, params, noise.at(t), t)
        history.append(state)
    batch = stack_history(history)
    for r, (scenario, seed) in enumerate(zip(scenarios, seeds, strict=True)):
        single = stack_history(AIRaceModel(scenario, rng=seed, steps=45).run().history)
        for name, values in single.items():
            np.testing.assert_array_equal(values, batch[name][:, r], err_msg=f"run {r}: {name}")
