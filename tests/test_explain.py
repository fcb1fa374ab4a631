"""Driver attribution and global sensitivity analysis."""

import math

import numpy as np
import pandas as pd
import pytest

from sim import AIRaceModel, Drivers, Environment, FirmTraits, Scenario, load_scenario
from sim.cli import main
from sim.explain import (
    ALL_OFF,
    DRIVER_LABELS,
    TERMS,
    counterfactual_attribution,
    decision_terms,
    quarter_explanation,
    term_summary,
)
from sim.sensitivity import analyse_function, model_sensitivity
from sim.variables import DRIVER_TERMS

# --- decision terms ---------------------------------------------------------------------


def test_terms_of_each_decision_add_up_to_its_input(baseline_run):
    terms = decision_terms(baseline_run.firm_dataframe(), baseline_run.config.environment.decision_temperature)
    per_decision = terms.groupby(["step", "firm"])
    np.testing.assert_allclose(per_decision.logit.sum(), per_decision.logit_total.first(), rtol=1e-12, atol=1e-12)
    temperature = baseline_run.config.environment.decision_temperature
    first = per_decision.first()
    np.testing.assert_allclose(first.x_target, 1 / (1 + np.exp(-first.logit_total / temperature)), rtol=1e-9)
    assert set(terms.term) == set(TERMS)


def test_switching_a_driver_off_changes_only_its_term_in_the_first_decision():
    on = AIRaceModel("baseline", rng=3, steps=1).run().state
    for driver, column in DRIVER_TERMS.items():
        off = AIRaceModel("baseline", rng=3, steps=1, parameters={f"drivers.{driver}": 0}).run().state
        assert np.all(off[column] == 0)
        for other in set(TERMS.values()) - {column}:
            np.testing.assert_array_equal(off[other], on[other], err_msg=f"{driver} off changed {other}")


def test_known_answer_by_hand():
    """One firm, no rivals, no revenue feedback sources but its own: every term computed by hand."""
    firm = FirmTraits(
        name="Solo",
        initial_cash=10.0,
        core_profit=0.0,
        reinvestment_rate=0.5,
        sunk_cost_bias=2.0,
        scaling_optimism=1.5,
        rivalry=3.0,
        investor_exposure=0.8,
        adjustment_speed=0.4,
        initial_allocation=0.6,
        initial_compute=100.0,
    )
    drivers = Drivers(revenue_feedback=0.7, competitive_pressure=1.0, scaling_optimism=2.0, sunk_cost=0.5)
    environment = Environment(retreat_penalty=0.25, decision_temperature=2.0, demand_noise=0.0, wm_ceiling=0.05)
    model = AIRaceModel(Scenario(firms=[firm], drivers=drivers, environment=environment), rng=1, steps=1).run()
    state = model.state
    # revenue feedback: all income is AI gross profit (margin 0.6), all of it from the LLM product,
    # which carries the product with weight logistic((q_llm - q_wm) / 0.05) = logistic((1 - 0) / 0.05)
    llm_weight = 1 / (1 + math.exp(-20.0))
    assert state.term_revenue_feedback[0] == pytest.approx(0.7 / 0.6 * llm_weight, rel=1e-12)
    # every driver holds the firm to LLMs in proportion to that same weight
    assert state.term_competitive_pressure[0] == 0.0  # a lone firm has no rivals to match
    # scaling optimism: the believed LLM return is the slope at C = 100 averaged over the four ceilings
    # weighed (low * (high/low)^(i/3) x anchor), with equal weights for the evidence and weights
    # tilted by ln(1 + 2.0 * 1.5) from the lowest to the highest for the firm. At the frontier
    # firm's compute, 1 + C/C_s = (1 - anchor/Q)^(-1/a) =: R, so the slope is Q a (R - 1)/C R^(-a-1).
    # (wm_ceiling is set so low that a world model would add nothing: the world-model payoff term
    # of optimism is 0.)
    env = environment
    a, anchor = env.llm_scaling_exponent, env.llm_anchor_quality

    def slope(ceiling):
        r = (1 - anchor / ceiling) ** (-1 / a)
        return ceiling * a * (r - 1) / 100.0 * r ** (-a - 1)

    low, high = env.llm_ceiling_low_belief, env.llm_ceiling_high_belief
    slopes = [slope(anchor * low * (high / low) ** (i / 3)) for i in range(4)]
    tilt = [math.exp(i / 3 * math.log(1 + 2.0 * 1.5)) for i in range(4)]
    hoped = sum(t * s for t, s in zip(tilt, slopes, strict=True)) / sum(tilt)
    evidence = sum(slopes) / 4
    assert state.term_scaling_optimism[0] == pytest.approx(math.log(hoped / evidence) * llm_weight, rel=1e-9)
    total = sum(state[c][0] for c in TERMS.values())
    target = 1 / (1 + math.exp(-total / 2.0))
    assert state.x_target[0] == pytest.approx(target, rel=1e-12)
    assert state.x[0] == pytest.approx(0.6 + 0.4 * (target * llm_weight - 0.6), rel=1e-12)
    assert state.llm_quality[0] > 1.0  # quality from the scaling law rose from its anchor of 1


def test_terms_are_labelled_in_plain_words():
    assert list(TERMS) == [
        "expected value",
        "revenue feedback",
        "competitive pressure",
        "scaling optimism",
        "sunk cost",
        "investor pressure",
    ]
    assert list(TERMS.values()) == ["term_value", *DRIVER_TERMS.values()]  # the recorded columns keep their names


# --- one quarter explained ----------------------------------------------------------------


def test_one_quarter_explained_by_hand():
    """A firm whose expected-value term is ln 3 and sunk-cost term ln 2 (the others 0) at temperature 1:
    x* = logistic(ln 6) = 6/7. Without the expected-value term x* would be logistic(ln 2) = 2/3, so
    that term adds 6/7 - 2/3 = 4/21 = 19.05 share points; without the sunk-cost term, logistic(ln 3)
    = 3/4, so sunk cost adds 6/7 - 3/4 = 3/28 = 10.71 points (the effects need not add up to x*).
    Last quarter its LLM and world model were equally good (1.0), so the LLM carries
    logistic(0) = 1/2 of its product: it aims at 6/7 x 1/2 = 3/7. From 30% at speed 1/2 it would
    move to 0.3 + (3/7 - 0.3)/2 = 51/140 = 36.4%, above its cap 1 - wm_floor = 35%: it chooses 35%."""
    scenario = Scenario(firms=[FirmTraits(name="Solo", adjustment_speed=0.5, wm_floor=0.65, initial_allocation=0.3)])
    rows = pd.DataFrame(
        {
            "step": [0, 1],
            "quarter": ["2025Q1", "2025Q2"],
            "firm": ["Solo", "Solo"],
            "alive": [True, True],
            "active": [True, True],
            "x": [0.3, 0.35],
            "x_target": [0.3, 6 / 7],
            "llm_quality": [1.0, 1.1],
            "wm_quality": [1.0, 0.0],
            **{column: [0.0, 0.0] for column in TERMS.values()},
        }
    )
    rows.loc[1, ["term_value", "term_sunk_cost"]] = [math.log(3), math.log(2)]
    why = quarter_explanation(rows, scenario, "Solo", 1)
    assert (why.firm, why.step, why.quarter) == ("Solo", 1, "2025Q2")
    assert why.effects == pytest.approx(
        {"expected value": 100 * 4 / 21, "sunk cost": 100 * 3 / 28}
        | {label: 0.0 for label in TERMS if label not in ("expected value", "sunk cost")},
        abs=1e-12,
    )
    assert (why.target, why.previous, why.chosen) == (6 / 7, 0.3, 0.35)
    assert why.llm_carries_product == 0.5 and why.aimed == pytest.approx(3 / 7, abs=1e-15)
    assert why.cap == pytest.approx(0.35, abs=1e-15) and why.recomputed_choice() == pytest.approx(0.35, abs=1e-15)
    assert why.binding == [
        "Its LLM and world-model products are as good as each other (1.00), so LLMs carry only 50% of its "
        "product: it aims at 86% x 50% = 42.9%.",
        "It moves only 50% of the way each quarter, from 30.0% toward 42.9%.",
        "Its protected world-model budget caps LLMs at 35%.",
    ]


@pytest.mark.parametrize("name", ["lecun_leaves", "compute_shock", "startup_low_ceiling", "scaling_miracle"])
def test_every_quarter_of_every_firm_reconciles(name):
    """previous + speed x (target x carries - previous), capped, is the share chosen, for every firm and
    quarter; the effects are decision_terms' in share points; a firm out of the market is refused."""
    model = AIRaceModel(name, rng=5).run()
    table = model.firm_dataframe()
    effects = decision_terms(table, model.config.environment.decision_temperature).set_index(["step", "firm", "term"])
    seen = set()
    for row in table.itertuples():
        if not row.active:
            state = "had not entered the market in" if row.alive else "had left the market by"
            with pytest.raises(ValueError, match=f"^{row.firm} {state} {row.quarter}$"):
                quarter_explanation(table, model.config, row.firm, row.step)
            seen.add("not entered" if row.alive else "left")
            continue
        why = quarter_explanation(table, model.config, row.firm, row.step)
        assert abs(why.recomputed_choice() - why.chosen) <= 1e-12, (row.firm, row.quarter)
        assert why.chosen == row.x and why.target == row.x_target
        for label, points in why.effects.items():
            assert points == 100 * effects.loc[(row.step, row.firm, label), "effect_on_target"]
        if why.cap == 0.0:
            seen.add("does not choose")
        elif any("caps LLMs" in line for line in why.binding):
            seen.add("capped")
        if why.llm_carries_product < 0.5:
            seen.add("world model carries the product")
    expected = {
        "lecun_leaves": {"not entered", "does not choose", "capped", "world model carries the product"},
        "compute_shock": {"left", "capped"},
        "startup_low_ceiling": {"not entered", "does not choose", "capped", "world model carries the product"},
        "scaling_miracle": {"capped"},
    }[name]
    assert expected <= seen, f"{name}: the runs checked never showed {expected - seen}"


def test_a_quarter_explanation_refuses_what_is_not_in_the_run(baseline_run):
    table, scenario = baseline_run.firm_dataframe(), baseline_run.config
    with pytest.raises(ValueError, match="no firm 'Nobody' in scenario 'baseline'; firms: OpenAI-like"):
        quarter_explanation(table, scenario, "Nobody", 3)
    with pytest.raises(ValueError, match="no quarter 40 in the run: it has quarters 0 to 39"):
        quarter_explanation(table, scenario, "Meta-like", 40)


def test_the_first_quarter_looks_back_at_the_start():
    model = AIRaceModel("lecun_leaves", rng=2, steps=1).run()
    why = quarter_explanation(model.firm_dataframe(), model.config, "Meta-like", 0)
    assert why.previous == 0.7  # its initial allocation, under its cap of 75%
    assert why.recomputed_choice() == why.chosen


def test_term_summary_covers_every_firm_and_term():
    scenario = load_scenario("baseline")
    summary = term_summary(scenario, range(5))
    assert len(summary) == len(scenario.firms) * len(TERMS)
    assert summary.mean_logit.notna().all()
    sunk = summary[summary.term == "sunk cost"]
    assert (sunk.mean_logit > 0).all() and (sunk.share_pushing_to_llm == 1).all()


# --- counterfactuals --------------------------------------------------------------------


@pytest.fixture(scope="module")
def counterfactuals():
    return counterfactual_attribution("baseline", range(30))


def test_counterfactuals_name_every_driver_and_all_off(counterfactuals):
    assert set(counterfactuals.switched_off) == {*DRIVER_LABELS.values(), ALL_OFF}
    assert {"llm_spend_share", "mean_pivot_step", "big_muddy_spend", "first_breakthrough_step"} <= set(
        counterfactuals.outcome
    )
    assert "final_share[Meta-like]" in set(counterfactuals.outcome)


def test_every_driver_holds_firms_on_llms(counterfactuals):
    share = counterfactuals[counterfactuals.outcome == "llm_spend_share"].set_index("switched_off")
    assert (share.change_median < 0).all()
    assert share.loc[ALL_OFF, "change_median"] < share.drop(ALL_OFF).change_median.min()


def test_a_driver_already_off_changes_nothing():
    table = counterfactual_attribution("no_market_pressure", range(10))
    off = table[table.switched_off.isin(["competitive pressure", "investor pressure"])]
    assert (off.change_median == 0).all() and (off.change_p5 == 0).all() and (off.change_p95 == 0).all()


# --- sensitivity ------------------------------------------------------------------------

ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def ishigami(points: np.ndarray) -> dict[str, np.ndarray]:
    x = -np.pi + 2 * np.pi * points
    return {"y": np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])}


def test_sobol_pipeline_reproduces_the_ishigami_indices():
    """Published values (Saltelli et al. 2008; a = 7, b = 0.1) within the bootstrap intervals."""
    table = analyse_function("sobol", ["x1", "x2", "x3"], ishigami, samples=4096, seed=1).set_index(
        ["index", "parameter"]
    )
    for index, published in (("S1", ISHIGAMI_S1), ("ST", ISHIGAMI_ST)):
        for name, value in published.items():
            estimate, conf = table.loc[(index, name), ["value", "conf"]]
            assert abs(estimate - value) <= max(conf, 0.01), f"{index}[{name}] = {estimate:.4f} +- {conf:.4f}"
            assert abs(estimate - value) < 0.05


def test_morris_pipeline_on_a_linear_function():
    def linear(points):
        return {"y": 2.0 * points[:, 0] - 0.5 * points[:, 1]}

    table = analyse_function("morris", ["a", "b", "dummy"], linear, samples=20, seed=0).set_index(
        ["index", "parameter"]
    )
    assert table.loc[("mu_star", "a"), "value"] == pytest.approx(2.0)
    assert table.loc[("mu", "b"), "value"] == pytest.approx(-0.5)
    assert table.loc[("mu_star", "dummy"), "value"] == 0.0
    assert table.loc[("sigma", "a"), "value"] == pytest.approx(0.0, abs=1e-12)


def test_model_sensitivity_finds_an_inert_parameter():
    spec = {
        "scenario": "baseline",
        "steps": 20,
        "design": "sobol",
        "samples": 32,
        "parameters": {
            "environment.llm_ceiling": {"distribution": "loguniform", "low": 1.2, "high": 6.0},
            "environment.energy_per_compute": {"distribution": "uniform", "low": 0.1, "high": 2.0},
        },
        "replicates": {"count": 3},
        "outputs": {"measures": ["llm_spend_share", "total_energy"], "firm_measures": []},
    }
    table = model_sensitivity(spec).set_index(["outcome", "index", "parameter"])
    assert table.loc[("llm_spend_share", "ST", "environment.energy_per_compute"), "value"] == 0.0
    assert table.loc[("llm_spend_share", "ST", "environment.llm_ceiling"), "value"] > 0.5
    assert table.loc[("total_energy", "ST", "environment.energy_per_compute"), "value"] > 0.1


def test_sensitivity_needs_distributions():
    from sim import ParameterError

    spec = {"parameters": {"drivers.sunk_cost": {"values": [0, 1]}}, "outputs": {"firm_measures": []}}
    with pytest.raises(ParameterError, match="needs every parameter to have a distribution"):
        model_sensitivity(spec)


# --- the command line -------------------------------------------------------------------


def test_explain_command(tmp_path, capsys):
    out, terms = tmp_path / "explain.csv", tmp_path / "terms.csv"
    assert main(["explain", "baseline", "--seeds", "10", "--out", str(out), "--terms-out", str(terms)]) == 0
    text = capsys.readouterr().out
    for label in (*TERMS, ALL_OFF):
        assert label in text
    assert "sunk_cost" not in text  # labels in plain words
    assert len(pd.read_csv(out)) == 6 * (4 + 5) and len(pd.read_csv(terms)) == 5 * 6


def test_sensitivity_command(tmp_path, capsys):
    out = tmp_path / "indices.csv"
    assert (
        main(["sensitivity", "scenarios/sweeps/sensitivity.toml", "--samples", "8", "--quiet", "--out", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "llm_spend_share" in text and "ST" in text
    table = pd.read_csv(out)
    assert set(table["index"]) == {"S1", "ST"} and table.parameter.nunique() == 7


@pytest.mark.parametrize("name", ["explain baseline", "sensitivity"])
def test_worked_examples_in_the_docs_match_the_model(name):
    """docs/EXPLAIN.md states the outputs of its worked examples; `make docs` regenerates them."""
    from pathlib import Path

    from docs.update_docs import EXAMPLES, command_output, markers

    text = (Path(__file__).resolve().parent.parent / "docs" / "EXPLAIN.md").read_text()
    start, end = markers(name)
    documented = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert documented == command_output(EXAMPLES[name]), "run `make docs` and review the change"


def test_a_firm_on_another_policy_is_not_explained_by_the_terms():
    """The terms are the model's own rule: for a firm on another policy they did not decide."""
    model = AIRaceModel("baseline", rng=3, steps=6, parameters={"firms.Meta-like.policy": "fixed_split"}).run()
    explained = quarter_explanation(model.firm_dataframe(), model.config, "Meta-like", 5)
    assert explained.binding == [
        f"Meta-like follows the fixed_split policy: it chose {explained.chosen:.1%} itself. The bars show what "
        "the model's own rule weighs, not what decided."
    ]
