"""The mechanisms run unchanged on stacked runs, bit for bit (the basis of the batch engine)."""

import functools

import numpy as np
import pytest

from sim import AIRaceModel, load_scenario
from sim.arrays import ModelParams
from sim.mechanisms import advance, initial_state
from sim.noise import NoiseSource
from sim.open_field import open_field
from sim.outputs import stack_history


@pytest.mark.parametrize("base", ["baseline", "open_field_12"])
def test_stacked_runs_equal_single_runs_bit_for_bit(base):
    """At 5 firms (the baseline) and at 12 (an open field: past numpy's pairwise-sum threshold of 8)."""
    seeds = [3, 4, 5, 6]
    scenario = load_scenario("baseline") if base == "baseline" else open_field(12, seed=1)
    scenarios = [load_scenario(scenario, {"environment.llm_ceiling": c}) for c in (1.5, 2, 3, 5)]
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
    """Reductions over firms take firms one after the other, whatever the batch shape and
    however many firms, so a run gives the same bits alone or in a batch of any size (numpy
    alone would sum 8+ firms of a lone run pairwise). Signed zeros and infinities included."""
    from sim.mechanisms import firm_any, firm_max, firm_min, firm_sum

    rng = np.random.default_rng(0)
    for firms in range(1, 12):
        values = rng.standard_normal((firms, 3000)) * 10 ** rng.uniform(-6, 6, (firms, 3000))
        special = rng.random(values.shape)
        values[special < 0.1] = 0.0
        values[(special >= 0.1) & (special < 0.2)] = -0.0
        values[(special >= 0.2) & (special < 0.22)] = np.inf
        flags = values > 1.0
        for reduce, fold in ((firm_sum, np.add), (firm_max, np.maximum), (firm_min, np.minimum)):
            batch = reduce(values)
            np.testing.assert_array_equal(batch[0], functools.reduce(fold, values))  # in order (0.0 == -0.0)
            for runs in (1, 2, 7):
                part = reduce(values[:, :runs])
                np.testing.assert_array_equal(np.signbit(part), np.signbit(batch[:, :runs]))
                np.testing.assert_array_equal(part, batch[:, :runs])
            alone = np.array([reduce(values[:, r])[0] for r in range(50)])
            np.testing.assert_array_equal(np.signbit(alone), np.signbit(batch[0, :50]))
            np.testing.assert_array_equal(alone, batch[0, :50])
        np.testing.assert_array_equal(firm_any(flags), np.any(flags, axis=0, keepdims=True))
