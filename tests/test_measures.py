"""Hand-computed cases for the summary measures' windows, and checks that kill mutants the rest of
the suite let live: claim comparisons off common random numbers, ties counted as holding, firm
indices off by one, and firm sums that differ between a run alone and the same run in a batch."""

import numpy as np
import pytest

from sim import AIRaceModel, load_scenario
from sim.arrays import ArrayBag
from sim.claims import holds
from sim.ensemble import run_seeds
from sim.outputs import AFTERMATH_QUARTERS, GROWTH_QUARTERS, SHIPPER_WINDOW, RunMeasures, stack_history
from sim.params import Claim
from sim.scenarios import apply_overrides, read_scenario_data, resolve, validate_scenario

T = 24  # quarters of the synthetic histories below (one run, two firms)


def synthetic(**series) -> ArrayBag:
    """A one-run, two-firm history (time first): firm variables (T, 1, 2), market ones (T, 1, 1)."""
    return ArrayBag({name: np.asarray(values).reshape(T, 1, -1) for name, values in series.items()})


def world_model_ships_at(launch: int, shipper: int = 0) -> dict:
    """Histories where the best world model beats the best LLM from quarter ``launch`` on."""
    best_wm = np.where(np.arange(T) >= launch, 2.0, 0.0)
    wm = np.zeros((T, 2))
    wm[launch:, shipper] = 2.0
    return {"best_wm_quality": best_wm, "best_llm_quality": np.ones(T), "wm_quality": wm}


def test_first_shipper_top_quarters_counts_the_launch_quarter_and_the_next_eleven():
    launch = 5
    share = np.tile([0.3, 0.7], (T, 1))  # firm 1 on top...
    on_top = [launch, launch + 1, launch + SHIPPER_WINDOW - 1, launch + SHIPPER_WINDOW, launch - 1]
    share[on_top] = [0.7, 0.3]  # ...except in these quarters; the last two are just outside the window
    measures = RunMeasures(synthetic(market_share=share, **world_model_ships_at(launch)))
    assert measures.first_shipper_top_quarters.item() == 3.0


def test_llm_focused_share_change_averages_the_eight_quarters_after_launch():
    launch = 4
    x = np.tile([0.2, 0.9], (T, 1))  # firm 1 LLM-focused at launch; firm 0 is the shipper
    share = np.tile([0.5, 0.4], (T, 1))
    after = np.arange(launch + 1, launch + AFTERMATH_QUARTERS + 1)
    share[after, 1] = 0.4 - 0.01 * np.arange(1, AFTERMATH_QUARTERS + 1)  # loses 1 point a quarter
    share[launch + AFTERMATH_QUARTERS + 1 :, 1] = 0.0  # outside the window: must not count
    history = synthetic(market_share=share, x=x, active=np.ones((T, 2), dtype=bool), **world_model_ships_at(launch))
    expected = -0.01 * np.mean(np.arange(1, AFTERMATH_QUARTERS + 1))  # -0.045
    assert np.isclose(RunMeasures(history).llm_focused_share_change.item(), expected, rtol=0, atol=1e-15)


def test_revenue_growth_4y_compares_quarter_16_with_quarter_0():
    revenue = np.ones((T, 2))
    revenue[GROWTH_QUARTERS] = [3.0, 5.0]
    revenue[GROWTH_QUARTERS - 1] = revenue[GROWTH_QUARTERS + 1] = [100.0, 100.0]
    assert RunMeasures(synthetic(ai_revenue=revenue)).revenue_growth_4y.item() == 4.0


def claim(**fields) -> Claim:
    defaults = {"text": "t", "metric": "big_muddy_spend", "placebo": {"drivers.sunk_cost": 0.0}, "seeds": 12}
    return Claim(**{**defaults, **fields})


def test_a_claim_compares_each_seed_with_the_same_seed():
    """Common random numbers: a counterfactual that changes nothing gives equal values seed by seed
    (different seeds on the two sides would not), and a tie never counts as the claim holding."""
    scenario = load_scenario("baseline")
    same = {"drivers.sunk_cost": scenario.drivers.sunk_cost}
    for compare in ("greater", "less"):
        held, values, reference = holds(scenario, claim(compare=compare, counterfactual=same))
        np.testing.assert_array_equal(values, reference)
        assert len(set(values)) > 1 and not held.any()


def test_firm_index_overrides_reach_that_firm_only():
    data = read_scenario_data(resolve("baseline"))
    changed = validate_scenario(apply_overrides(data, {"firms.1.openness": 0.123}), "test")
    original = validate_scenario(data, "test")
    assert [f.openness == 0.123 for f in changed.firms] == [False, True] + [False] * (len(changed.firms) - 2)
    assert [f.name for f in changed.firms] == [f.name for f in original.firms]


def test_a_run_of_nine_firms_alone_equals_the_same_run_in_a_batch():
    """Sums over firms must not depend on the batch around them (numpy's pairwise summation changes
    order from 8 items on: a plain np.sum over firms made runs of 8+ firms differ)."""
    data = read_scenario_data(resolve("baseline"))
    extra = [{**data["firms"][i % len(data["firms"])], "name": f"copy-{i}"} for i in range(9 - len(data["firms"]))]
    scenario = validate_scenario({**data, "firms": data["firms"] + extra}, "nine firms")
    assert len(scenario.firms) == 9
    alone = stack_history(AIRaceModel(scenario, rng=7, steps=16).run().history)
    batch = run_seeds(scenario, [3, 7, 11], steps=16)
    for name in ("cash", "market_share", "x", "hhi", "total_llm_spend", "ai_demand"):
        np.testing.assert_array_equal(batch[name][:, 1], alone[name], err_msg=name)


def test_undefined_and_tied_comparisons_hand_computed():
    from sim.claims import tied, undefined

    inf, nan = np.inf, np.nan
    values = np.array([nan, 1.0, inf, inf, 1.0, 2.0, 3.0])
    reference = np.array([1.0, nan, inf, 1.0, 1.0, 3.0, 3.0])
    assert undefined(values, reference).tolist() == [True, True, True, False, False, False, False]
    assert tied(values, reference).tolist() == [False, False, False, False, True, False, True]


def test_check_claim_reports_what_holds_computed():
    from sim.claims import check_claim, tied

    scenario = load_scenario("baseline")
    the_claim = claim(compare="greater", value=5.0, metric="firms_alive")  # ties where all five firms live
    result = check_claim(scenario, the_claim)
    held, values, reference = holds(scenario, the_claim)
    placebo_held, placebo_values, placebo_reference = holds(scenario, the_claim, placebo=True)
    assert result.scenario == "baseline" and result.seeds == 12 and result.held == held.sum()
    assert (result.median_value, result.median_reference) == (np.median(values), 5.0) and (reference == 5.0).all()
    assert result.placebo_held == placebo_held.sum()
    assert result.placebo_tied == tied(placebo_values, placebo_reference).sum() > 0


def test_an_unknown_firm_in_a_metric_names_the_firms():
    from sim.claims import metric_values

    firm_measures = {"final_share": np.zeros((3, 2))}
    with pytest.raises(ValueError, match=r"metric 'firm:Nobody:final_share': no firm 'Nobody'; firms: A, B$"):
        metric_values({}, firm_measures, ["A", "B"], "firm:Nobody:final_share")


def test_a_claim_on_a_scenario_object_refuses_a_broken_placebo_with_the_reason():
    from sim.claims import ClaimError, check_claim

    scenario = load_scenario("baseline")
    broken = claim(compare="greater", value=0.0).model_copy(update={"placebo": {"drivers.sunk_cost": 99.0}})
    with pytest.raises(ClaimError, match=r"placebo \{'drivers.sunk_cost': 99.0\}: .*99.0 is out of range"):
        check_claim(scenario, broken)
    same_sides = claim(compare="greater", counterfactual={"drivers.sunk_cost": 0.0}).model_copy(
        update={"placebo": {"drivers.sunk_cost": 0.0}}
    )
    with pytest.raises(ClaimError, match=r"cut the mechanism's channel instead and keep the claim's contrast$"):
        check_claim(scenario, same_sides)
