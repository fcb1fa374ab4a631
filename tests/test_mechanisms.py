"""Mechanisms of Model v2, each against a case worked out by hand from its equation in docs/MODEL.md."""

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim import AIRaceModel
from sim.arrays import ArrayBag, ModelParams
from sim.ensemble import run_seeds
from sim.mechanisms import (
    ActiveFirms,
    imitation_lag,
    investment_target,
    new_customer_share,
    rival_spend_share,
    switched_shares,
    world_model_payoffs,
)
from sim.noise import NoiseSource
from sim.outputs import frontier_training_table
from sim.params import Drivers, Environment, FirmTraits, Scenario


def one_firm(steps: int = 1, drivers_off: bool = True, **traits) -> Scenario:
    """One firm, no AI market (market_potential 0) unless traits say otherwise."""
    env = {"steps": steps, "market_potential": 0.0, **traits.pop("env", {})}
    drivers = Drivers().switched_off() if drivers_off else Drivers()
    return Scenario(environment=Environment(**env), drivers=drivers, firms=[FirmTraits(name="A", **traits)])


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


def test_new_demand_is_the_growth_over_last_quarter_and_never_negative():
    # demand 80 -> 100: 1 - 80 / 100 = 0.2 of it is new; a shrinking market brings no new customers
    before, now = np.array([80.0, 100.0, 0.0]), np.array([100.0, 90.0, 0.0])
    np.testing.assert_allclose(new_customer_share(before, now), [0.2, 0.0, 0.0])  # no demand: no one new


def test_new_customers_choose_by_the_logit_on_top_of_the_switchers():
    # Two firms, one far better: the share that moves is r + (1 - r) g, g the new-demand share
    scenario = Scenario(
        environment=Environment(steps=2, market_potential=1000.0, switching_rate=0.1, demand_noise=0.0),
        drivers=Drivers().switched_off(),
        firms=[FirmTraits(name="A", initial_compute=1e-3), FirmTraits(name="B", initial_compute=1e4)],
    )
    model = AIRaceModel(scenario, rng=0).run()
    before, after = model.history[0], model.history[1]
    env = scenario.environment
    year = env.start_year + 0.25

    def adoption(y):
        return 1.0 / (1.0 + math.exp(-env.adoption_rate * (y - env.adoption_midpoint_year)))

    g = 1.0 - adoption(year - 0.25) * before.capability_index[0] / (adoption(year) * after.capability_index[0])
    assert model.market_dataframe().new_customer_share.iloc[1] == pytest.approx(g, rel=1e-12)
    utility = env.quality_sensitivity * before.product_quality  # distribution 0 for both
    attraction = np.exp(utility)
    target = attraction / (attraction.sum() + math.exp(env.quality_sensitivity * env.outside_quality))
    moving = 0.1 + 0.9 * g
    np.testing.assert_allclose(after.market_share, (1 - moving) * before.market_share + moving * target, rtol=1e-12)


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


def test_a_lab_spends_its_cash_before_raising_and_pays_nothing_out():
    rich = AIRaceModel(one_firm(initial_cash=100.0, funding_rate=0.2, base_valuation=50.0), rng=0).run().state
    # offered 0.2 / 4 * 50 = 2.5; budget 0.8 * 2.5 = 2; cash above the reserve (2 x 2) covers it
    assert rich.budget[0] == pytest.approx(2.0)
    assert rich.funding[0] == 0.0
    assert rich.payout[0] == 0.0  # no earnings of its own: it keeps its cash for research
    assert rich.cash[0] == pytest.approx(98.0)
    poor = AIRaceModel(one_firm(initial_cash=0.0, funding_rate=0.2, base_valuation=50.0), rng=0).run().state
    # with no cash, it raises what it needs: here all investors offer, as the reserve is not reached
    assert poor.funding[0] == pytest.approx(2.5)
    assert poor.cash[0] == pytest.approx(0.5)  # 0 + 2.5 - 2


def test_an_entrant_starts_with_neutral_confidence_and_its_promise_valued():
    scenario = Scenario(
        environment=Environment(steps=3, market_potential=0.0),
        drivers=Drivers().switched_off(),
        firms=[
            FirmTraits(name="Incumbent", core_profit=40.0),
            FirmTraits(
                name="Lab",
                entry_step=2,
                initial_cash=0.0,
                funding_rate=0.4,
                base_valuation=10.0,
                initial_compute=0.0,
                initial_allocation=0.0,
                wm_floor=1.0,
            ),
        ],
    )
    h = AIRaceModel(scenario, rng=0).run().history
    assert [s.confidence[1] for s in h[:2]] == [1.0, 1.0]  # waiting to enter
    assert [s.valuation[1] for s in h[:2]] == [10.0, 10.0]
    assert h[2].funding[1] == pytest.approx(0.4 / 4 * 10.0)  # raises on its promise as it enters
    assert h[2].confidence[1] == pytest.approx(1.0)  # no product and no breakthrough: judged neutral


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


def expit(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def ceiling_grid(env: Environment) -> list[float]:
    """The ceilings firms weigh: low * (high / low)^z, z = 0, 1/3, 2/3, 1, times the anchor quality."""
    low, high = env.llm_ceiling_low_belief, env.llm_ceiling_high_belief
    return [env.llm_anchor_quality * low * (high / low) ** (i / 3) for i in range(4)]


def quality(compute: float, ceiling: float, env: Environment, frontier: float) -> float:
    """The scaling law anchored at the frontier's initial compute (docs/MODEL.md, LLM scaling law)."""
    a = env.llm_scaling_exponent
    scale = frontier / ((1 - env.llm_anchor_quality / ceiling) ** (-1 / a) - 1)
    return ceiling * (1 - (1 + compute / scale) ** (-a))


def normalised(log_weights: list[float]) -> list[float]:
    total = math.log(sum(math.exp(w) for w in log_weights))
    return [w - total for w in log_weights]


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
    sd, ceilings = env.belief_noise, ceiling_grid(env)
    before, after = 100.0, s.compute[0]

    def log_gain(ceiling):
        return math.log(quality(after, ceiling, env, 100.0) - quality(before, ceiling, env, 100.0))

    z = NoiseSource(7, 1).at(0).belief_shock[0]
    seen = log_gain(1.3) + sd * z - sd * sd / 2
    # under each ceiling the log of the noisy gain is normal around ln(gain) - sd^2/2
    steps = [0.5 * -((seen - (log_gain(c) - sd * sd / 2)) ** 2) / (2 * sd * sd) for c in ceilings]
    evidence = normalised([math.log(0.25) + step for step in steps])
    assert s.log_weights_evidence[:, 0] == pytest.approx(evidence, rel=1e-9)
    assert s.evidence_ceiling[0] == pytest.approx(
        sum(math.exp(w) * c for w, c in zip(evidence, ceilings, strict=True)), rel=1e-9
    )
    # hope: prior tilted by ln(1 + optimism) from the lowest ceiling to the highest; evidence for the
    # lowest ceiling against a higher one counts 1 / (1 + optimism)
    prior = normalised([i / 3 * math.log(1 + optimism) for i in range(4)])
    against = [step - steps[0] for step in steps]
    hoping = [steps[0] + (d / (1 + optimism) if d < 0 else d) for d in against]
    hope = normalised([p + h for p, h in zip(prior, hoping, strict=True)])
    assert any(d < 0 for d in against)  # the truth is the dead end: this evidence speaks against a miracle
    assert s.log_weights_hope[:, 0] == pytest.approx(hope, rel=1e-9)
    assert s.believed_ceiling[0] > s.evidence_ceiling[0]


@pytest.mark.parametrize("truth", [1.3, 5.0])
def test_on_average_the_evidence_moves_toward_the_true_ceiling_by_the_bayes_amount(truth):
    """Over many seeds, one quarter's log-likelihood ratio between the highest and the lowest ceiling
    averages +-d^2 / (2 sd^2) when the truth is the highest (+) or lowest (-) one, d being the gap
    between their log gains: a correct Bayesian update, with no drift from the noise itself."""
    scenario = one_firm(
        core_profit=40.0, initial_compute=100.0, env={"llm_ceiling": truth, "belief_learning_rate": 1.0}
    )
    env = scenario.environment
    sd, (low, *_, high) = env.belief_noise, ceiling_grid(env)
    history = run_seeds(scenario, list(range(4000)), steps=1)
    after = history["compute"][0, 0, 0]  # the same for every seed: no demand, no noise in spend

    def log_gain(ceiling):
        return math.log(quality(after, ceiling, env, 100.0) - quality(100.0, ceiling, env, 100.0))

    gap = log_gain(high) - log_gain(low)
    weights = history["log_weights_evidence"][0, 0]  # stacked (quarters, firms, runs, ceilings)
    ratio = weights[:, -1] - weights[:, 0]  # from equal prior weights
    standard_error = ratio.std() / np.sqrt(ratio.size)
    sign = 1.0 if truth == 5.0 else -1.0
    assert ratio.mean() == pytest.approx(sign * gap**2 / (2 * sd * sd), abs=4 * standard_error)


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
        firms=[FirmTraits(name="A", openness=0.5), FirmTraits(name="B", openness=0.9)],
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
            FirmTraits(name="Breaker", initial_wm_knowledge=10.0, openness=0.5),
            FirmTraits(name="Follower", research_efficiency=0.0, openness=0.0),
        ],
    )
    h = AIRaceModel(scenario, rng=0).run().history
    assert h[0].wm_breakthrough.tolist() == [True, False]
    assert h[0].imitation_step[0] == 3.0 and h[1].imitation_step[0] == 3.0


def test_followers_find_it_easier_only_from_the_imitation_step():
    """The follower's knowledge is 70% of the difficulty: with hazard 10 (K/K*)^20 it has a 0.8%
    chance a quarter alone, and certainty once the difficulty halves (follower_ease 0.5), which
    happens at quarter ceil(6 x (1 - 0.5)) = 3."""
    env = Environment(
        steps=5,
        wm_difficulty=100.0,
        wm_hazard_rate=10.0,
        wm_hazard_exponent=20.0,
        follower_ease=0.5,
        imitation_lag_quarters=6.0,
        spillover=0.0,
    )
    firms = [
        FirmTraits(name="Breaker", initial_wm_knowledge=1000.0, openness=0.5),
        FirmTraits(name="Follower", initial_wm_knowledge=70.0, research_efficiency=0.0, openness=0.0),
    ]
    h = AIRaceModel(Scenario(environment=env, firms=firms), rng=0).run().history
    assert h[0].breakthrough_step.tolist() == [0.0, -1.0]
    assert h[-1].breakthrough_step[1] == 3.0


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


def test_the_world_model_payoff_is_an_option_on_a_low_llm_ceiling():
    """Payoff = pool x max(s_wm - s_llm(q_mid), 0) under each ceiling, averaged with each belief's weights."""
    scenario = one_firm(env={"market_potential": 1000.0})
    params = ModelParams.from_scenario(scenario)
    env = scenario.environment
    q = ArrayBag(
        now=ArrayBag(compute_per_dollar=np.array([700.0]), algorithmic_multiplier=np.array([1.0])),
        ai_demand_ahead=np.array([200.0]),
        top_utility=np.array([0.0]),
        log_others=np.array([2.0]),  # the other alternatives' attraction sums to e^2
        share_if_wm=np.array([0.999]),
    )
    evidence_weights, hope_weights = [0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]
    weights = np.array(evidence_weights)[:, None], np.array(hope_weights)[:, None]
    evidence, hoped = world_model_payoffs(q, np.array([5000.0]), weights, np.array([10.0]), params)

    compute_mid = 5000.0 + 4 * env.planning_horizon_years / 2 * 10.0 * (1 - 0.35) * (1 - 0.7) * 700.0
    pool = env.gross_margin * 200.0 * env.planning_horizon_years
    beta = env.quality_sensitivity
    payoffs = [  # the lone firm anchors the law at its own initial compute, 5000; utility beta * q
        pool * max(0.999 - expit(beta * quality(compute_mid, c, env, 5000.0) - 2.0), 0.0) for c in ceiling_grid(env)
    ]
    assert payoffs == sorted(payoffs, reverse=True)  # the higher the ceiling, the less a world model adds
    assert evidence[0] == pytest.approx(sum(w * p for w, p in zip(evidence_weights, payoffs, strict=True)), rel=1e-12)
    assert hoped[0] == pytest.approx(sum(w * p for w, p in zip(hope_weights, payoffs, strict=True)), rel=1e-12)


def test_hedging_arises_when_the_ceiling_is_uncertain():
    """With every driver off, a firm whose world-model research is close to paying off puts less of
    its budget there the surer it is of a scaling miracle: the option is worth little then."""

    def world_model_share(low: float, high: float) -> float:
        beliefs = {"llm_ceiling_low_belief": low, "llm_ceiling_high_belief": high}
        scenario = one_firm(
            core_profit=40.0,
            initial_compute=5000.0,
            initial_wm_knowledge=150.0,
            env={"market_potential": 1000.0, **beliefs},
        )
        return 1.0 - float(AIRaceModel(scenario, rng=0, steps=1).run().state.x_target[0])

    # sure of a miracle (every ceiling weighed is 5), unsure (1.3 to 5), sure of a dead end (all 1.3)
    sure, unsure, doubtful = world_model_share(5.0, 5.0), world_model_share(1.3, 5.0), world_model_share(1.3, 1.3)
    assert sure < unsure < doubtful
    assert unsure > 2 * sure
