"""The mechanisms run unchanged on stacked runs, bit for bit (the basis of the batch engine)."""

import functools

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


def test_firm_reductions_are_the_same_alone_and_in_a_batch():
    """Sums over firms add firms one after the other, whatever the batch shape and however
    many firms (numpy alone would sum a run's firm row pairwise, a batch's firm axis in order)."""
    from sim.mechanisms import firm_any, firm_max, firm_min, firm_sum

    rng = np.random.default_rng(0)
    for firms in range(1, 12):
        values = rng.standard_normal((firms, 3000)) * 10 ** rng.uniform(-6, 6, (firms, 3000))
        np.testing.assert_array_equal(firm_sum(values)[0], functools.reduce(np.add, values))
        np.testing.assert_array_equal(firm_max(values), np.max(values, axis=0, keepdims=True))
        np.testing.assert_array_equal(firm_min(values), np.min(values, axis=0, keepdims=True))
        flags = values > 1.0
        np.testing.assert_array_equal(firm_any(flags), np.any(flags, axis=0, keepdims=True))
        alone = np.array([firm_sum(values[:, r])[0] for r in range(50)])
        np.testing.assert_array_equal(alone, firm_sum(values)[0, :50])
