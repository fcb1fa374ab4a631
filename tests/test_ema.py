"""The EMA Workbench adapter: names both ways, bounds, and the lockstep evaluator's outcomes equal to
EMA's plain path through the Mesa model, failed experiments included."""

import re

import numpy as np
import pandas as pd
import pytest
from ema_workbench import IntegerParameter, Model, RealParameter, Sample, ScalarOutcome, perform_experiments
from ema_workbench.em_framework.samplers import LHSSampler

from sim import ParameterError
from sim.ema import (
    LockstepEvaluator,
    build_model,
    identifier,
    make_outcomes,
    make_uncertainties,
    outcome_names,
    parameter_name,
    uncertainties_from_spec,
)
from sim.params import Environment, FirmTraits, field_bounds

OUTCOMES = [
    "llm_spend_share",
    "big_muddy_spend",
    "first_breakthrough_step",  # NaN when no firm broke through: its mean is NaN
    "final_hhi",
    "Meta_like__pivot_step",
    "OpenAI_like__final_share",
    "Google_like__wm_spend",
]


def same_outcomes(first: dict, second: dict) -> None:
    """Equal bit for bit: the same masks (failed experiments) and the same values, NaN included."""
    assert first.keys() == second.keys()
    for name in first:
        a, b = first[name], second[name]
        np.testing.assert_array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b), err_msg=name)
        # masked entries hold whatever memory EMA allocated: compare the values only
        np.testing.assert_array_equal(np.ma.filled(a, np.nan), np.ma.filled(b, np.nan), err_msg=name)


def same_experiments(first: pd.DataFrame, second: pd.DataFrame) -> None:
    # EMA names each sample anew, with a global counter, whenever a design is iterated: the two runs of
    # one design differ in those names only
    names = ["scenario", "policy"]
    pd.testing.assert_frame_equal(first.drop(columns=names), second.drop(columns=names))


@pytest.fixture(scope="module")
def model():
    return build_model(
        "baseline",
        uncertainties={
            "environment.llm_ceiling": (1.3, 5.0),
            "drivers.sunk_cost": None,  # its declared bounds, 0 to 10
            "firms.Meta-like.rivalry": (0.0, 3.0),
            "environment.wm_development_quarters": (0, 8),  # a whole-number parameter
        },
        levers={"firms.*.wm_floor": (0.0, 0.3)},
        constants={"environment.spillover": 0.7},
        outcomes=OUTCOMES,
        seeds=[3, 11],
        steps=16,
    )


@pytest.fixture(scope="module")
def design(model):
    scenarios = LHSSampler().generate_samples(model.uncertainties, 12, rng=42)
    policies = LHSSampler().generate_samples(model.levers, 2, rng=7)
    return scenarios, policies  # 24 experiments, 48 runs a path


@pytest.fixture(scope="module")
def mesa_path(model, design):
    scenarios, policies = design
    return perform_experiments(model, scenarios=scenarios, policies=policies, log_progress=True)


def test_lockstep_outcomes_equal_the_mesa_path(model, design, mesa_path):
    scenarios, policies = design
    evaluator = LockstepEvaluator(model, chunk_size=10)  # several chunks per batch
    experiments, outcomes = perform_experiments(
        model, scenarios=scenarios, policies=policies, evaluator=evaluator, log_progress=True
    )
    mesa_experiments, mesa_outcomes = mesa_path
    assert len(experiments) == 24 and set(outcomes) == set(OUTCOMES)
    same_experiments(experiments, mesa_experiments)
    same_outcomes(outcomes, mesa_outcomes)
    assert not np.ma.is_masked(outcomes["llm_spend_share"]) and not evaluator.failures
    assert np.isnan(outcomes["first_breakthrough_step"]).any()  # "never" stays NaN on both paths
    assert np.unique(outcomes["llm_spend_share"]).size == 24  # the parameters reached the runs


def test_workers_and_batches_do_not_change_outcomes(model, design, mesa_path):
    scenarios, policies = design
    with LockstepEvaluator(model, workers=2, batch_size=7, chunk_size=5) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=scenarios, policies=policies, log_progress=True)
    same_experiments(experiments, mesa_path[0])
    same_outcomes(outcomes, mesa_path[1])


def test_an_outcome_is_the_mean_over_the_seeds(model, design):
    """Replications are the seeds: one experiment's outcome is the mean of its single-seed outcomes."""
    scenarios, policies = design
    experiment = [Sample(**dict(scenarios[0]))], [Sample(**dict(policies[0]))]
    _, both = perform_experiments(model, *experiment, evaluator=LockstepEvaluator(model), log_progress=True)
    per_seed = []
    for seed in model.seeds:
        single = build_model(
            "baseline",
            {p.variable_name[0]: (p.lower_bound, p.upper_bound) for p in model.uncertainties},
            OUTCOMES,
            seeds=[seed],
            levers={"firms.*.wm_floor": (0.0, 0.3)},
            constants={"environment.spillover": 0.7},
            steps=16,
        )
        per_seed.append(perform_experiments(single, *experiment, evaluator=LockstepEvaluator(single))[1])
    assert both["llm_spend_share"][0] == np.mean([o["llm_spend_share"][0] for o in per_seed])
    assert len({o["llm_spend_share"][0] for o in per_seed}) == 2  # the seeds do differ


def test_an_invalid_combination_fails_and_the_rest_complete():
    """An anchor quality above 95% of the ceiling is valid alone, invalid together: EMA's way of
    recording it is a logged warning and masked outcomes; every other experiment completes."""
    model = build_model(
        "baseline",
        {"environment.llm_anchor_quality": (0.5, 2.0), "environment.llm_ceiling": (1.3, 3.0)},
        ["llm_spend_share", "Meta_like__final_share"],
        seeds=[0, 1],
        steps=8,
    )
    points = [(1.0, 2.0), (1.9, 1.5), (0.8, 1.3), (1.5, 3.0), (1.4, 1.4), (0.6, 2.5)]
    scenarios = [Sample(**{"environment__llm_anchor_quality": a, "environment__llm_ceiling": c}) for a, c in points]
    invalid = [a > 0.95 * c for a, c in points]
    assert invalid == [False, True, False, False, True, False]
    evaluator = LockstepEvaluator(model)
    _, outcomes = perform_experiments(model, scenarios, evaluator=evaluator, log_progress=True)
    _, plain = perform_experiments(model, scenarios, log_progress=True)
    for values in (outcomes["llm_spend_share"], plain["llm_spend_share"]):
        assert list(np.ma.getmaskarray(values)) == invalid
        assert np.isfinite(values.compressed()).all() and values.count() == 4
    same_outcomes(outcomes, plain)
    assert sorted(evaluator.failures) == [1, 4]
    assert "llm_anchor_quality (1.9), the LLM quality of the leading firm" in evaluator.failures[1]


def test_a_run_with_non_finite_state_fails_its_experiment(monkeypatch):
    """A state with NaN or infinity (parameters beyond what the model can compute) fails the experiment,
    on both paths, with the quarter named. Simulated: runs without the sunk-cost driver count as
    non-finite."""
    import sim.ensemble

    original = sim.ensemble.nonfinite_runs

    def sunk_cost_off_is_nonfinite(state, names=None):
        return original(state, names) | (state["term_sunk_cost"] == 0).all(axis=0)

    monkeypatch.setattr(sim.ensemble, "nonfinite_runs", sunk_cost_off_is_nonfinite)
    model = build_model("baseline", {"drivers.sunk_cost": (0.0, 1.0)}, ["llm_spend_share"], seeds=[0, 1], steps=4)
    scenarios = [Sample(drivers__sunk_cost=1.0), Sample(drivers__sunk_cost=0.0), Sample(drivers__sunk_cost=0.5)]
    evaluator = LockstepEvaluator(model)
    _, outcomes = perform_experiments(model, scenarios, evaluator=evaluator, log_progress=True)
    _, plain = perform_experiments(model, scenarios, log_progress=True)
    assert list(outcomes["llm_spend_share"].mask) == [False, True, False]
    same_outcomes(outcomes, plain)
    assert evaluator.failures == {1: "non-finite values (NaN or infinity) in the model state by quarter 0"}


# --- names and bounds ------------------------------------------------------------------------

NAMES = [
    "environment.llm_ceiling",
    "drivers.sunk_cost",
    "firms.Meta-like.rivalry",
    "firms.*.openness",
    "firms.2.openness",
    "llm_ceiling",
    "environment.steps",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_map_both_ways(name):
    ema = identifier(name)
    assert ema.isidentifier()
    assert parameter_name(ema, "baseline") == name
    (made,) = make_uncertainties([name], "baseline")
    assert made.name == ema and made.variable_name == [name]


def test_identifiers_are_the_results_column_names():
    assert identifier("firms.Meta-like.rivalry") == "firms__Meta_like__rivalry"
    assert identifier("firms.*.openness") == "firms__all__openness"
    assert "Meta_like__pivot_step" in outcome_names("baseline")


def test_unknown_or_ambiguous_names_are_refused():
    with pytest.raises(ParameterError, match="EMA name 'firms__Nobody__rivalry': no parameter of this scenario"):
        parameter_name("firms__Nobody__rivalry")
    twins = {"firms": [{"name": "A-b", "initial_compute": 1.0}, {"name": "A_b", "initial_compute": 1.0}]}
    several = re.escape("stands for several parameters: firms.A-b.rivalry, firms.A_b.rivalry")
    with pytest.raises(ParameterError, match=several):
        parameter_name("firms__A_b__rivalry", twins)
    with pytest.raises(ParameterError, match="would both be column 'firms__A_b__rivalry'"):
        make_uncertainties(["firms.A-b.rivalry", "firms.A_b.rivalry"], twins)
    with pytest.raises(ParameterError, match=r"uncertainty 'environment\.llm_celing': .*unknown key 'llm_celing'"):
        make_uncertainties(["environment.llm_celing"])
    with pytest.raises(ParameterError, match="no firm 'Nobody'"):
        make_uncertainties(["firms.Nobody.rivalry"])
    same = re.escape("'firms.*.openness' and 'firms.Meta-like.openness' set the same field")
    with pytest.raises(ParameterError, match=same):
        make_uncertainties(["firms.*.openness", "firms.Meta-like.openness"])


def test_bounds_come_from_the_parameter_models():
    ceiling, entry = make_uncertainties(["environment.llm_ceiling", "firms.*.entry_step"])
    assert isinstance(ceiling, RealParameter) and isinstance(entry, IntegerParameter)
    assert (ceiling.lower_bound, ceiling.upper_bound) == field_bounds(Environment, "llm_ceiling")
    assert (entry.lower_bound, entry.upper_bound) == field_bounds(FirmTraits, "entry_step")
    (narrow,) = make_uncertainties({"environment.llm_ceiling": (1.3, 5)})
    assert (narrow.lower_bound, narrow.upper_bound) == (1.3, 5.0)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ((0.0, 5.0), r"bounds \(0, 5\) are not allowed; low must be below high, both within 0.05 to 100"),
        ((5.0, 2.0), r"bounds \(5, 2\) are not allowed"),
        (("low", 2.0), r"bounds \('low', 2.0\) are not \(low, high\) numbers"),
    ],
)
def test_bounds_outside_the_declared_ones_are_refused(bounds, message):
    with pytest.raises(ParameterError, match=rf"uncertainty 'environment.llm_ceiling': {message}"):
        make_uncertainties({"environment.llm_ceiling": bounds})


def test_outcomes_are_measures():
    with pytest.raises(ParameterError, match="outcome 'happiness': not a measure; run measures: first_breakthrough"):
        make_outcomes(["happiness"])
    with pytest.raises(ParameterError, match=re.escape("e.g. OpenAI_like__pivot_step")):
        make_outcomes(["Nobody__pivot_step"])
    (outcome,) = make_outcomes(["Meta_like__final_share"])
    assert outcome.function is np.mean and outcome.variable_name == ["Meta_like__final_share"]


def test_the_evaluator_runs_aisim_models_only():
    other = Model("other", function=lambda x=0: {"y": x})
    other.outcomes = [ScalarOutcome("y")]
    with pytest.raises(TypeError, match="other: LockstepEvaluator runs aisim models"):
        LockstepEvaluator(other)


def test_uncertainties_from_a_sweep_spec():
    sampled = {
        "scenario": "baseline",
        "design": "lhs",
        "samples": 8,
        "parameters": {
            "environment.llm_ceiling": {"distribution": "loguniform", "low": 1.2, "high": 6},
            "firms.*.entry_step": {"distribution": "integer", "low": 0, "high": 4},
        },
    }
    ceiling, entry = uncertainties_from_spec(sampled)
    assert (ceiling.name, ceiling.variable_name) == ("environment__llm_ceiling", ["environment.llm_ceiling"])
    assert ceiling.lower_bound == pytest.approx(1.2) and ceiling.upper_bound == pytest.approx(6.0)
    design = LHSSampler().generate_samples([ceiling], 1000, rng=0).samples[:, 0]
    assert np.mean(design < np.sqrt(1.2 * 6.0)) == pytest.approx(0.5, abs=0.01)  # half below the geometric mean
    assert isinstance(entry, IntegerParameter) and (entry.lower_bound, entry.upper_bound) == (0, 4)
    ceiling, sunk = uncertainties_from_spec("quick")
    assert ceiling.resolution == [1.3, 2.0, 5.0] and (ceiling.lower_bound, ceiling.upper_bound) == (1.3, 5.0)
    assert sunk.resolution == [0.0, 1.0, 2.0, 3.0] and sunk.variable_name == ["drivers.sunk_cost"]


@pytest.mark.parametrize("kind", ["name", "Scenario", "data"])
def test_a_scenario_by_name_object_or_data_gives_the_same_outcomes(kind):
    from sim import load_scenario

    scenario = {
        "name": lambda: "lecun_is_right",
        "Scenario": lambda: load_scenario("lecun_is_right"),
        "data": lambda: load_scenario("lecun_is_right").model_dump(),
    }[kind]()
    varied = {"drivers.sunk_cost": (0.0, 2.0)}
    model = build_model(scenario, varied, ["llm_spend_share"], seeds=[0, 1], steps=6)
    scenarios = [Sample(drivers__sunk_cost=v) for v in (0.0, 0.7, 2.0)]
    _, lockstep = perform_experiments(model, scenarios, evaluator=LockstepEvaluator(model), log_progress=True)
    _, plain = perform_experiments(model, scenarios, log_progress=True)
    same_outcomes(lockstep, plain)
    by_name = build_model("lecun_is_right", varied, ["llm_spend_share"], seeds=[0, 1], steps=6)
    same_outcomes(lockstep, perform_experiments(by_name, scenarios, evaluator=LockstepEvaluator(by_name))[1])
