"""Each driver moves allocation toward LLMs, and the decision terms add up."""

import numpy as np
import pytest

from sim import AIRaceModel
from sim.mechanisms import sigmoid
from sim.variables import DRIVER_TERMS

DRIVERS = list(DRIVER_TERMS)
SEEDS = range(20)
REQUIRED_SHARE = 0.9


@pytest.mark.parametrize("driver", DRIVERS)
def test_driver_raises_the_first_allocation(driver):
    """Everything else and the seed equal, switching a driver on raises x where its term is positive
    (unless a protected world-model budget already caps the firm's LLM share)."""
    on = AIRaceModel("baseline", rng=1, steps=1, parameters={f"drivers.{driver}": 2.0}).run()
    off = AIRaceModel("baseline", rng=1, steps=1, parameters={f"drivers.{driver}": 0.0}).run()
    term = on.state[DRIVER_TERMS[driver]]
    assert np.all(off.state[DRIVER_TERMS[driver]] == 0)
    cap = 1.0 - on.params.firm.wm_floor
    pushed = (term > 0) & (off.state.x < cap)
    assert pushed.any(), f"{driver} did not act on any firm"
    assert np.all(on.state.x[pushed] > off.state.x[pushed])
    assert np.all(on.state.x[~pushed] == off.state.x[~pushed])


@pytest.mark.parametrize("driver", DRIVERS)
def test_driver_raises_mean_allocation_over_seeds(driver):
    """Over a whole run, the mean LLM share is higher with the driver on in >= 90% of 20 seeds."""
    higher = 0
    for seed in SEEDS:
        on = AIRaceModel("baseline", rng=seed).run().firm_dataframe().x.mean()
        off = AIRaceModel("baseline", rng=seed, parameters={f"drivers.{driver}": 0.0}).run().firm_dataframe().x.mean()
        higher += on > off
    assert higher / len(SEEDS) >= REQUIRED_SHARE, f"{driver}: higher in {higher} of {len(SEEDS)} seeds"


def test_all_drivers_off_leaves_the_expected_value_term_alone():
    model = AIRaceModel("baseline", rng=2, parameters={f"drivers.{d}": 0 for d in DRIVERS}).run()
    table = model.firm_dataframe()
    for term in DRIVER_TERMS.values():
        assert (table[term] == 0).all()
    active = table.active.astype(bool)
    expected = sigmoid(table.term_value / model.config.environment.decision_temperature)
    np.testing.assert_allclose(table.x_target[active], expected[active], rtol=1e-12)


def test_terms_add_up_to_the_decision(baseline_run):
    table = baseline_run.firm_dataframe()
    terms = table[["term_value", *DRIVER_TERMS.values()]].sum(axis=1)
    active = table.active.astype(bool)
    expected = sigmoid(terms / baseline_run.config.environment.decision_temperature)
    np.testing.assert_allclose(table.x_target[active], expected[active], rtol=1e-12)


def test_inertia_moves_part_way():
    """x moves by adjustment_speed toward x* times whether LLMs carry the product,
    w = logistic((q_llm - q_wm) / 0.05), here with no world model yet."""
    model = AIRaceModel("baseline", rng=1, steps=1).run()
    firm = model.params.firm
    start = np.minimum(firm.initial_allocation, 1 - firm.wm_floor)
    w = 1.0 / (1.0 + np.exp(-model.initial_state.llm_quality / 0.05))
    expected = np.minimum(start + firm.adjustment_speed * (model.state.x_target * w - start), 1 - firm.wm_floor)
    np.testing.assert_allclose(model.state.x, expected, rtol=1e-12)


def test_protected_research_budget_caps_the_llm_share():
    model = AIRaceModel("baseline", rng=1, parameters={"firms.Google-like.wm_floor": 0.4}).run()
    google = model.firm_dataframe().query("firm == 'Google-like'")
    assert (google.x <= 0.6).all()
    assert (google.wm_spend >= 0.4 * google.budget - 1e-9).all()


def test_rival_breakthrough_lowers_believed_difficulty():
    """Herding: once anyone breaks through, the others believe world models are easier."""
    for seed in range(30):
        model = AIRaceModel("baseline", rng=seed).run()
        table = model.firm_dataframe()
        first = model.summary()["first_breakthrough_step"]
        if np.isnan(first):
            continue
        before = table.query("step == @first - 1").believed_difficulty
        after = table.query("step == @first").believed_difficulty
        assert (after.to_numpy() < before.to_numpy()).all()
        return
    pytest.fail("no breakthrough in 30 baseline seeds")
