"""Mechanisms of Model v2, each against a case worked out by hand from its equation in docs/MODEL.md."""

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim import AIRaceModel
from sim.arrays import ModelParams
from sim.mechanisms import ActiveFirms, imitation_lag, investment_target, rival_spend_share, switched_shares
from sim.noise import NoiseSource
from sim.outputs import frontier_training_table
from sim.params import Drivers, Environment, Firm, Scenario


def one_firm(steps: int = 1, drivers_off: bool = True, **traits) -> Scenario:
    """One firm, no AI market (market_potential 0) unless traits say otherwise."""
    env = {"steps": steps, "market_potential": 0.0, **traits.pop("env", {})}
    drivers = Drivers().switched_off() if drivers_off else Drivers()
    return Scenario(environment=Environment(**env), drivers=drivers, firms=[Firm(name="A", **traits)])


def test_switching_moves_a_share_r_of_customers_toward_the_logit():
    present = ActiveFirms(np.array([True, True]))
    shares, outside = switched_shares(
        np.array([0.5, 0.3]), np.array([0.2]), np.array([0.2, 0.7]), np.array([0.1]), present, np.array([0.1])
    )
    # (1 - 0.1) * 0.5 + 0.1 * 0.2 = 0.47; 0.9 * 0.3 + 0.1 * 0.7 = 0.34; 0.9 * 0.2 + 0.1 * 0.1 = 0.19
    np.testing.assert_allclose(shares, [0.47, 0.34])
    np.testing.assert_allclose(outside, [0.19])


def test_customers_of_a_firm_that_left_all_rechoose():
    present = ActiveFirms(np.array([True, False]))
    shares, outside = switched_shares(
        np.array([0.5, 0.3]), np.array([0.2]), np.array([0.8, 0.0]), np.array([0.2]), present, np.array([0.1])
    )
    # movers = 0.1 + 0.9 * 0.3 = 0.37; 0.9 * 0.5 + 0.37 * 0.8 = 0.746; 0.9 * 0.2 + 0.37 * 0.2 = 0.254
    np.testing.assert_allclose(shares, [0.746, 0.0])
    np.testing.assert_allclose(outside, [0.254])
    assert shares.sum() + outside[0] == pytest.approx(1.0)


def test_investment_follows_the_believed_return_against_the_cost_of_capital():
    params = ModelParams.from_scenario(one_firm(env={"cost_of_capital": 0.1, "planning_horizon_years": 5.0}))
    hurdle = 1.1**5  # 1.61051
    np.testing.assert_allclose(investment_target(np.array([3.0, hurdle / 2, 0.0]), params), [1.0, 0.5, 0.0])
    params.env["investment_elasticity"] = np.array([2.0])
    np.testing.assert_allclose(investment_target(np.array([hurdle / 2]), params), [0.25])


def test_competitive_pressure_is_the_rivals_share_of_the_race_spend():
    present = ActiveFirms(np.array([True, True, True]))
    # rivals' mean: (30 + 20) / 2 = 25, (10 + 20) / 2 = 15, (10 + 30) / 2 = 20
    np.testing.assert_allclose(rival_spend_share(np.array([10.0, 30.0, 20.0]), present), [25 / 35, 15 / 45, 20 / 40])
    alone = ActiveFirms(np.array([True]))
    assert rival_spend_share(np.array([10.0]), alone)[0] == 0.0


def test_cash_above_the_reserve_is_paid_out():
    model = AIRaceModel(one_firm(initial_cash=100.0, core_profit=40.0, reinvestment_rate=0.5), rng=0).run()
    s = model.state
    # budget 0.5 * 10 = 5; before payout 100 + 10 - 5 = 105; reserve 2 * 5 = 10; payout 0.5 * 95
    assert s.budget[0] == pytest.approx(5.0)
    assert s.payout[0] == pytest.approx(47.5)
    assert s.cash[0] == pytest.approx(57.5)


def test_a_firm_that_cannot_pay_exits_and_is_wound_up():
    model = AIRaceModel(one_firm(initial_cash=1.0, operating_costs=40.0), rng=0).run()
    assert not model.state.alive[0]
    assert model.state.cash[0] == 0.0  # 1 + 0 - 10 < 0: no negative cash carried on


def test_funding_is_capped_by_what_investors_supply():
    model = AIRaceModel(one_firm(funding_rate=1.0, base_valuation=1000.0), rng=0).run()
    assert model.state.funding[0] == pytest.approx(40.0)  # min(1.0 / 4 * 1000, 40)


def test_valuation_is_capped():
    model = AIRaceModel(one_firm(base_valuation=9000.0, env={"max_valuation": 3000.0}), rng=0).run()
    assert model.state.valuation[0] == 3000.0


def test_demand_capability_moves_at_the_switching_rate_toward_the_best_product():
    scenario = one_firm(steps=3, env={"market_potential": 1000.0, "switching_rate": 0.2})
    model = AIRaceModel(scenario, rng=0).run()
    env, h = scenario.environment, model.history
    best_before = h[0].product_quality[0]
    target = (best_before / env.llm_anchor_quality) ** env.demand_capability_elasticity
    expected = h[0].capability_index[0] + 0.2 * (target - h[0].capability_index[0])
    assert h[1].capability_index[0] == pytest.approx(expected, rel=1e-12)
    assert h[1].capability_index[0] > 1.0  # quality rose, so demand grows beyond adoption alone


def test_a_world_model_ships_only_after_its_development_time():
    lag = 3
    scenario = one_firm(
        steps=6,
        initial_allocation=0.0,
        initial_wm_knowledge=10.0,
        core_profit=40.0,
        env={"wm_difficulty": 0.001, "wm_hazard_rate": 10.0, "wm_development_quarters": lag},
    )
    h = AIRaceModel(scenario, rng=0).run().history
    assert h[0].breakthrough_step[0] == 0.0
    assert [s.wm_quality[0] > 0 for s in h] == [False] * lag + [True] * (6 - lag)


def test_investment_share_moves_toward_its_target_with_the_firms_speed():
    scenario = one_firm(steps=1, core_profit=40.0, adjustment_speed=0.5, env={"market_potential": 100.0})
    s = AIRaceModel(scenario, rng=0).run().state
    hurdle = 1.1**5
    target = min(max(s.value_llm[0], s.value_wm[0]) / hurdle, 1.0)  # drivers off: no bend of the LLM value
    assert s.investment_share[0] == pytest.approx(1.0 + 0.5 * (target - 1.0), rel=1e-12)
    assert s.investment_share[0] < 1.0


def logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def expit(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_beliefs_about_the_ceiling_follow_the_evidence_and_optimism_discounts_bad_news():
    optimism = 2.0
    scenario = one_firm(
        steps=1,
        drivers_off=False,
        core_profit=40.0,
        scaling_optimism=optimism,
        initial_compute=100.0,
        env={"llm_ceiling": 1.3, "belief_learning_rate": 0.5},
    )
    model = AIRaceModel(scenario, rng=7).run()
    env, s = scenario.environment, model.state
    a, anchor, sd = env.llm_scaling_exponent, env.llm_anchor_quality, env.belief_noise

    def quality(compute, ceiling):  # the scaling law anchored at C = 100
        scale = 100.0 / ((1 - anchor / ceiling) ** (-1 / a) - 1)
        return ceiling * (1 - (1 + compute / scale) ** (-a))

    before, after = 100.0, s.compute[0]
    z = NoiseSource(7, 1).at(0).belief_shock[0]
    seen = math.log(quality(after, 1.3) - quality(before, 1.3)) + sd * z - sd * sd / 2
    if_low = math.log(quality(after, 1.3 * anchor) - quality(before, 1.3 * anchor))
    if_high = math.log(quality(after, 5.0 * anchor) - quality(before, 5.0 * anchor))
    llr = ((seen - if_low) ** 2 - (seen - if_high) ** 2) / (2 * sd * sd)
    assert llr < 0  # the truth is the low ceiling: this quarter's evidence speaks against a miracle
    assert s.evidence_high_ceiling[0] == pytest.approx(expit(logit(0.5) + 0.5 * llr), rel=1e-9)
    hoped_before = expit(logit(0.5) + math.log(1 + optimism))
    expected = expit(logit(hoped_before) + 0.5 * llr / (1 + optimism))
    assert s.belief_high_ceiling[0] == pytest.approx(expected, rel=1e-9)


def test_research_that_keeps_failing_raises_the_believed_difficulty():
    scenario = one_firm(
        core_profit=40.0,
        initial_allocation=0.0,
        wm_floor=1.0,
        initial_wm_knowledge=50.0,
        env={"wm_difficulty": 1e6, "wm_difficulty_belief": 60.0, "belief_learning_rate": 0.5},
    )
    env, s = scenario.environment, AIRaceModel(scenario, rng=0).run().state
    assert not s.wm_breakthrough[0]
    g = env.wm_hazard_exponent
    believed_hazard = 1 - math.exp(-env.wm_hazard_rate * (s.wm_knowledge[0] / 60.0) ** g)
    assert s.believed_difficulty[0] == pytest.approx(60.0 * math.exp(0.5 * believed_hazard / g), rel=1e-12)


def test_imitation_lag_shrinks_with_the_breakers_openness():
    scenario = Scenario(
        environment=Environment(imitation_lag_quarters=6.0),
        firms=[Firm(name="A", openness=0.5), Firm(name="B", openness=0.9)],
    )
    params = ModelParams.from_scenario(scenario)
    assert imitation_lag(np.array([True, False]), params)[0] == 3.0  # ceil(6 * 0.5)
    assert imitation_lag(np.array([True, True]), params)[0] == 1.0  # the most open breaker: ceil(6 * 0.1)


def test_the_first_breakthrough_sets_when_followers_learn_how():
    scenario = Scenario(
        environment=Environment(
            steps=2, wm_difficulty=0.001, wm_hazard_rate=10.0, imitation_lag_quarters=6.0, spillover=0.0
        ),
        firms=[
            Firm(name="Breaker", initial_wm_knowledge=10.0, openness=0.5),
            Firm(name="Follower", research_efficiency=0.0, openness=0.0),
        ],
    )
    h = AIRaceModel(scenario, rng=0).run().history
    assert h[0].wm_breakthrough.tolist() == [True, False]
    assert h[0].imitation_step[0] == 3.0 and h[1].imitation_step[0] == 3.0


def test_a_leader_who_leaves_takes_research_efficiency():
    loss = 0.4
    scenario = one_firm(
        steps=3, core_profit=40.0, initial_allocation=0.0, wm_floor=1.0, talent_loss_step=2, talent_loss=loss
    )
    env, h = scenario.environment, AIRaceModel(scenario, rng=0).run().history

    def gain(spend, talent):  # efficiency 1, one firm: no spillovers
        return talent * env.wm_productivity * ((1 + spend / env.wm_spend_scale) ** env.wm_returns - 1)

    assert h[1].wm_knowledge[0] - h[0].wm_knowledge[0] == pytest.approx(gain(h[1].wm_spend[0], 1.0), rel=1e-12)
    assert h[2].wm_knowledge[0] - h[1].wm_knowledge[0] == pytest.approx(gain(h[2].wm_spend[0], 1 - loss), rel=1e-12)


def test_llm_spend_buys_staff_inference_experiments_and_a_final_run():
    env = {"staff_share": 0.3, "inference_share": 0.6, "final_run_share": 0.25, "compute_per_dollar": 100.0}
    scenario = one_firm(core_profit=40.0, initial_allocation=1.0, env=env)
    s, e = AIRaceModel(scenario, rng=0).run().state, scenario.environment
    spend = s.llm_spend[0]
    assert spend > 0
    assert s.compute_bought[0] == pytest.approx(0.7 * spend * 100.0, rel=1e-12)  # staff take 30%
    rd = 0.4 * 0.7 * spend * 100.0  # inference takes 60% of the compute
    assert s.final_run_compute[0] == pytest.approx(0.25 * rd, rel=1e-12)
    assert s.final_run_cost[0] == pytest.approx(0.25 * 0.4 * 0.7 * spend, rel=1e-12)
    assert s.energy[0] == pytest.approx(rd * e.energy_per_compute, rel=1e-12)
    assert s.compute[0] == pytest.approx(scenario.firms[0].initial_compute + rd, rel=1e-12)  # algorithms: 1 at t = 0


def test_energy_prices_raise_compute_prices_by_energys_share_of_the_cost():
    env = {"compute_per_dollar": 700.0, "energy_per_compute": 0.8, "energy_price": 0.08}
    env.update(shock_step=0, energy_price_shock=2.0)
    model = AIRaceModel(one_firm(env=env), rng=0).run()
    share = 700.0 * 0.8 * 0.08 / 1000.0  # GWh per $B x $ per kWh x 1e6 kWh per GWh / 1e9 $ per $B = 4.48%
    assert model.state.compute_cost_index[0] == pytest.approx(1.0 + share * (2.0 - 1.0), rel=1e-12)
    assert model.state.compute_per_dollar[0] == pytest.approx(700.0 / (1.0 + share), rel=1e-12)


def test_energy_costing_more_than_compute_is_refused():
    with pytest.raises(ValidationError, match="energy would cost"):
        Environment(compute_per_dollar=1e4, energy_per_compute=10.0, energy_price=0.5)


def test_the_frontier_run_of_a_year_is_the_firm_with_most_final_run_compute():
    table = pd.DataFrame(
        {
            "step": [0, 0, 1, 1, 4, 4],
            "quarter": ["2025Q1", "2025Q1", "2025Q2", "2025Q2", "2026Q1", "2026Q1"],
            "firm": ["A", "B"] * 3,
            "final_run_compute": [10.0, 4.0, 10.0, 30.0, 1.0, 2.0],
            "final_run_cost": [1.0, 0.4, 1.0, 3.0, 0.1, 0.2],
            "energy": [50.0, 20.0, 50.0, 150.0, 5.0, 10.0],
        }
    )
    env = Environment(final_run_share=0.2, training_run_days=100.0)
    yearly = frontier_training_table(table, env)
    assert yearly.year.tolist() == [2025, 2026]
    assert yearly.frontier_firm.tolist() == ["B", "B"]  # 2025: B 34 against A 20
    assert yearly.training_compute_flop.tolist() == pytest.approx([34e24, 2e24])
    assert yearly.training_cost.tolist() == pytest.approx([3.4, 0.2])
    assert yearly.training_energy_gwh.tolist() == pytest.approx([0.2 * 170.0, 0.2 * 10.0])
    assert yearly.training_power_mw.tolist() == pytest.approx([34.0 * 1000 / 2400, 2.0 * 1000 / 2400])
