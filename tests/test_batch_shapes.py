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


def test_firm_reductions_equal_numpy_bit_for_bit():
    """The column-by-column reductions over a few firms must give numpy's exact results;
    if a numpy upgrade changes how it sums short rows, this fails before any result moves."""
    from sim.mechanisms import firm_any, firm_max, firm_min, firm_sum

    rng = np.random.default_rng(0)
    for firms in range(1, 12):
        values = rng.standard_normal((5000, firms)) * 10 ** rng.uniform(-6, 6, (5000, firms))
        np.testing.assert_array_equal(firm_sum(values), np.sum(values, axis=-1, keepdims=True))
        np.testing.assert_array_equal(firm_max(values), np.max(values, axis=-1, keepdims=True))
        np.testing.assert_array_equal(firm_min(values), np.min(values, axis=-1, keepdims=True))
        flags = values > 1.0
        np.testing.assert_array_equal(firm_any(flags), np.any(flags, axis=-1, keepdims=True))
        single = np.array([firm_sum(row)[0] for row in values[:50]])
        np.testing.assert_array_equal(single, firm_sum(values[:50])[:, 0])
