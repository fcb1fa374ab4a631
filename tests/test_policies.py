"""Firm policies (sim/policies.py): the built-in rule stays vectorised and unchanged, a policy sees only
what a firm may see, its decisions are bounded, the Mesa model and the batch engine agree, and a
scenario file names code only when allowed."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim import AIRaceModel, load_scenario
from sim.agents import Firm
from sim.ensemble import run_seeds
from sim.outputs import stack_history
from sim.params import Drivers, FirmTraits, ParameterError, Scenario
from sim.policies import (
    POLICIES,
    Decision,
    FirmView,
    PolicyWarning,
    RivalView,
    Thompson,
    allow_code_policies,
    make_policy,
    register,
)
from sim.variables import FIRM_VARIABLES


@pytest.fixture
def registered():
    """Policies registered by a test, removed after it."""
    added = []

    def add(name, factory):
        register(name, factory)
        added.append(name)

    yield add
    for name in added:
        POLICIES.pop(name, None)


@dataclasses.dataclass
class Recorder:
    """Returns what it is told to, and keeps every view it saw."""

    choose: object
    views: list = dataclasses.field(default_factory=list)

    def decide(self, view):
        self.views.append(view)
        return self.choose(view)


def firm_table(scenario, seed, **overrides):
    return AIRaceModel(scenario, rng=seed, parameters=overrides).run().firm_dataframe()


def test_a_policy_that_returns_the_built_in_decision_changes_nothing(registered):
    """The policy path (views, checks, writing decisions) adds nothing of its own: bit for bit."""
    registered("copycat", lambda rng: Recorder(lambda view: view.default))
    for name in ("baseline", "lecun_is_right", "startup_high_ceiling"):
        plain = firm_table(name, 11)
        copied = firm_table(name, 11, **{"firms.*.policy": "copycat"})
        for column in plain.columns:
            np.testing.assert_array_equal(copied[column].to_numpy(), plain[column].to_numpy(), err_msg=column)
        scenario = load_scenario(name, {"firms.*.policy": "copycat"})
        batch, reference = run_seeds(scenario, [11, 12]), run_seeds(load_scenario(name), [11, 12])
        for variable in FIRM_VARIABLES:
            np.testing.assert_array_equal(batch[variable], reference[variable], err_msg=variable)


def test_expected_value_on_every_firm_is_the_model_with_every_driver_off():
    """The expected-value policy is the built-in rule with no driver term: switching every driver off in the
    parameters gives the very same run."""
    policy = firm_table("baseline", 4, **{"firms.*.policy": "expected_value"})
    no_drivers = firm_table("baseline", 4, **{f"drivers.{name}": 0.0 for name in Drivers.model_fields})
    for column in ("x", "x_target", "investment_share", "cash", "market_share", "llm_quality", "wm_knowledge"):
        np.testing.assert_array_equal(policy[column].to_numpy(), no_drivers[column].to_numpy(), err_msg=column)
    biased = firm_table("baseline", 4)
    assert not np.array_equal(policy.x.to_numpy(), biased.x.to_numpy())  # and the drivers do matter


@pytest.mark.parametrize("policy", sorted(set(POLICIES) - {"biased"}))
def test_mesa_model_and_batch_engine_agree_with_policies(policy):
    scenario = load_scenario(
        "lecun_is_right", {"firms.Meta-like.policy": policy, "firms.OpenAI-like.policy": "thompson"}
    )
    seeds = [2, 9]
    batch = run_seeds(scenario, seeds)
    for run, seed in enumerate(seeds):
        single = stack_history(AIRaceModel(scenario, rng=seed).run().history)
        for variable in FIRM_VARIABLES:
            np.testing.assert_array_equal(batch[variable][:, run], single[variable], err_msg=f"{policy} {variable}")


def test_a_view_holds_numbers_only_and_nothing_hidden(registered):
    recorder = Recorder(lambda view: view.default)
    registered("watcher", lambda rng: recorder)
    model = AIRaceModel("baseline", rng=1, steps=3, parameters={"firms.Meta-like.policy": "watcher"}).run()
    assert len(recorder.views) == 3 and {v.firm for v in recorder.views} == {"Meta-like"}
    hidden = {"llm_ceiling", "wm_difficulty", "llm_payback", "params", "model", "state"}

    def plain(value):
        if isinstance(value, (tuple, list)):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if dataclasses.is_dataclass(value):
            return all(plain(getattr(value, f.name)) for f in dataclasses.fields(value))
        return isinstance(value, (int, float, bool, str, type(None)))

    for view in recorder.views:
        assert not hidden & {f.name for f in dataclasses.fields(FirmView)}
        assert plain(view), "a view may hold plain numbers and names only"
        assert {r.name for r in view.rivals} == {"OpenAI-like", "Google-like", "Microsoft-like", "Amazon-like"}
    first = recorder.views[0]
    table = model.firm_dataframe()
    meta = table[(table.firm == "Meta-like") & (table.step == 0)].iloc[0]
    assert first.market_share == meta.market_share and first.budget == meta.budget  # this quarter's
    assert first.x == model.config.firms[2].initial_allocation  # last quarter's (the start)
    assert sum(first.ceiling_weights) == pytest.approx(1.0)


def test_out_of_bounds_decisions_are_clipped_with_a_warning(registered):
    registered("greedy", lambda rng: Recorder(lambda view: Decision(x=1.7, investment_share=-0.5)))
    with pytest.warns(PolicyWarning) as caught:
        table = firm_table("baseline", 3, **{"firms.Meta-like.policy": "greedy", "firms.Meta-like.wm_floor": 0.25})
    assert {str(w.message) for w in caught} == {
        "policy 'greedy' for Meta-like: x = 1.7 is outside 0 to 0.75; clipped",
        "policy 'greedy' for Meta-like: investment_share = -0.5 is outside 0 to 1; clipped",
    }
    meta = table[table.firm == "Meta-like"]
    assert (meta.x == 0.75).all() and (meta.investment_share == 0.0).all()


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (Decision(x=float("nan")), r"'broken' for Meta-like in quarter 0: x = nan"),
        (0.5, r"'broken' for Meta-like in quarter 0 returned 0.5, not a Decision"),
    ],
)
def test_a_decision_that_is_not_one_is_an_error(registered, returned, message):
    registered("broken", lambda rng: Recorder(lambda view: returned))
    with pytest.raises(ParameterError, match=message):
        firm_table("baseline", 3, **{"firms.Meta-like.policy": "broken"})


def test_hand_computed_policies():
    """Each built-in policy on a view whose numbers are chosen by hand."""
    rival = RivalView("Leader", market_share=0.6, llm_quality=1.0, wm_quality=1.4, wm_breakthrough=True, llm_spend=5)
    view = FirmView(
        quarter=8, firm="Me", cash=10, budget=2, income=3, ai_revenue=1, market_share=0.2, x=0.8,
        investment_share=0.9, llm_quality=1.2, wm_quality=0.0, wm_knowledge=3, wm_breakthrough=False,
        llm_sunk=40, wm_sunk=4, llm_carries_product=1.0, believed_ceiling=3, evidence_ceiling=2,
        value_llm=0.5, value_wm=1.0, ceilings=(1.3, 5.0), ceiling_weights=(0.25, 0.75),
        llm_value_by_ceiling=(0.2, 2.0), terms={}, x_max=0.95, adjustment_speed=0.5,
        default=Decision(0.9, 1.0, 0.95), expected_value=Decision(0.7, 0.8, 0.6), rivals=(rival,),
    )  # fmt: skip
    make = {name: make_policy(name, seed=1, firm_index=0) for name in POLICIES}
    assert make["biased"].decide(view) == view.default
    assert make["expected_value"].decide(view) == view.expected_value
    assert make["fixed_split"].decide(view) == Decision(0.8, None, 0.8)
    # the leader's product runs on a world model: target 0, half the gap closed: 0.8 + 0.5 (0 - 0.8) = 0.4
    assert make["follow_the_leader"].decide(view) == Decision(0.4, None, 0.0)
    # the hedger keeps 20% more on world models than its floor (x <= 0.95 - 0.2) while the dead end keeps a
    # weight of 0.25 >= 0.05
    assert make["hedger"].decide(dataclasses.replace(view, expected_value=Decision(0.93, 0.8, 0.97))) == Decision(
        0.75, 0.8, 0.97
    )
    assert make["hedger"].decide(dataclasses.replace(view, ceiling_weights=(0.01, 0.99))) == view.expected_value
    # Thompson: ceiling 1 (value 2.0 > 1.0) -> target 1: 0.8 + 0.5 (1 - 0.8) = 0.9; ceiling 0 -> 0.4
    draws = [Thompson(np.random.default_rng(seed)).decide(view).x for seed in range(400)]
    assert set(draws) == {0.4, 0.9}
    assert np.mean(np.array(draws) == 0.9) == pytest.approx(0.75, abs=0.06)


def test_thompson_repeats_with_the_seed_and_differs_across_seeds():
    def meta_x(seed):
        table = firm_table("lecun_is_right", seed, **{"firms.Meta-like.policy": "thompson"})
        return table[table.firm == "Meta-like"].x.to_numpy()

    np.testing.assert_array_equal(meta_x(5), meta_x(5))
    assert any(not np.array_equal(meta_x(5), meta_x(seed)) for seed in (6, 7, 8))


def test_agents_carry_their_policy_and_plain_attributes():
    model = AIRaceModel("baseline", rng=2, steps=4, parameters={"firms.Meta-like.policy": "hedger"})
    assert not any(isinstance(vars(Firm).get(name), property) for name in FIRM_VARIABLES)  # none made by a loop
    assert [f.policy_name for f in model.agents] == ["biased", "biased", "hedger", "biased", "biased"]
    assert [f.name for f in model.deciding_firms] == ["Meta-like"]
    model.run()
    last = model.firm_dataframe().query("step == 3")
    for firm in model.agents:
        row = last[last.firm == firm.name].iloc[0]
        assert firm.cash == row.cash and firm.x == row.x and firm.market_share == row.market_share


def test_unknown_policy_names_list_the_valid_ones():
    with pytest.raises(ParameterError, match=r"unknown policy 'greedy'; valid: biased, expected_value, "):
        load_scenario("baseline", {"firms.Meta-like.policy": "greedy"})
    with pytest.raises(ValueError, match="unknown policy"):
        Scenario(firms=[FirmTraits(name="A", policy="not a policy")])


def test_a_scenario_names_code_only_when_allowed(tmp_path, monkeypatch):
    (tmp_path / "mine.py").write_text(
        "from sim.policies import Decision\n\n\nclass Half:\n"
        "    def decide(self, view):\n        return Decision(x=0.5)\n"
    )
    scenario = tmp_path / "coded.toml"
    scenario.write_text('extends = "baseline"\n[[firms]]\nname = "Meta-like"\npolicy = "mine:Half"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ParameterError, match=r"'mine:Half' names code; .*add --allow-code-policies"):
        AIRaceModel(scenario, rng=1)
    assert "mine" not in sys.modules  # refused before anything was imported
    command = [sys.executable, "-m", "sim", "run", str(scenario), "--steps", "4"]
    env = {"PYTHONPATH": f"{tmp_path}:{':'.join(sys.path)}"}
    refused = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert refused.returncode == 2 and "--allow-code-policies" in refused.stderr
    allowed = subprocess.run([*command, "--allow-code-policies"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    allow_code_policies()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PolicyWarning)
            table = firm_table(scenario, 1)
        assert (table[table.firm == "Meta-like"].x == 0.5).all()
    finally:
        allow_code_policies(False)


class NeedsRng:
    def __init__(self, rng):
        self.rng = rng

    def decide(self, view):
        return view.default


class NamedRng:
    def __init__(self, hedge=0.1, rng=None):
        self.rng = rng

    def decide(self, view):
        return view.default


def test_a_class_gets_the_generator_only_when_it_asks_for_one():
    allow_code_policies()
    try:
        assert isinstance(make_policy(f"{__name__}:NeedsRng", 1, 0).rng, np.random.Generator)
        assert isinstance(make_policy(f"{__name__}:NamedRng", 1, 0).rng, np.random.Generator)
        hedger = make_policy("sim.policies:Hedger", 1, 0)  # every parameter has a default: none given
        assert (hedger.hedge, hedger.certainty) == (0.2, 0.05)
        assert make_policy("sim.policies:FixedSplit", 1, 0).x is None
    finally:
        allow_code_policies(False)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (Decision(x=None), r"'odd' for Meta-like in quarter 0: x = None; a Decision needs x"),
        (Decision(x="0.5"), r"'odd' for Meta-like in quarter 0: x = '0.5' is not a number"),
        (ZeroDivisionError("oops"), r"'odd' for Meta-like in quarter 0: ZeroDivisionError: oops"),
    ],
)
def test_a_broken_policy_is_named_with_its_firm_and_quarter(registered, returned, message):
    def choose(view):
        if isinstance(returned, Exception):
            raise returned
        return returned

    registered("odd", lambda rng: Recorder(choose))
    with pytest.raises(ParameterError, match=message):
        firm_table("baseline", 3, **{"firms.Meta-like.policy": "odd"})


def test_numpy_numbers_are_numbers(registered):
    registered("numpy", lambda rng: Recorder(lambda view: Decision(x=np.int64(0), investment_share=np.float32(1))))
    table = firm_table("baseline", 3, **{"firms.Meta-like.policy": "numpy"})
    assert (table[table.firm == "Meta-like"].x == 0.0).all()


def test_built_in_names_cannot_be_replaced():
    for name in ("biased", "thompson"):
        with pytest.raises(ValueError, match=f"policy name '{name}' is built in"):
            register(name, lambda rng: Recorder(lambda view: view.default))


def test_a_sweep_naming_code_is_refused_before_it_runs(tmp_path):
    from sim.sweeps import run_sweep

    spec = {"scenario": "baseline", "parameters": {"firms.Meta-like.policy": {"values": ["biased", "mine:Half"]}}}
    with pytest.raises(ParameterError, match=r"'mine:Half' names code; .*--allow-code-policies"):
        run_sweep(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_resume_refuses_after_a_policy_in_code_changed(tmp_path, monkeypatch):
    from sim.sweeps import run_sweep

    module = tmp_path / "changing.py"
    module.write_text(
        "from sim.policies import Decision\n\n\nclass Fixed:\n"
        "    def decide(self, view):\n        return Decision(x=0.5)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {
        "scenario": "baseline",
        "steps": 4,
        "parameters": {"firms.Meta-like.policy": {"values": ["changing:Fixed"]}},
        "replicates": {"count": 2},
    }
    allow_code_policies()
    try:
        run_sweep(spec, tmp_path / "out")
        assert run_sweep(spec, tmp_path / "out", resume=True).chunks_run == 0
        module.write_text(module.read_text().replace("0.5", "0.2"))
        with pytest.raises(ParameterError, match=r"made with policy code .* of hash .*resuming would mix"):
            run_sweep(spec, tmp_path / "out", resume=True)
    finally:
        allow_code_policies(False)


def test_code_policies_load_from_the_current_folder_and_failures_are_one_line(tmp_path):
    (tmp_path / "here_policies.py").write_text(
        "from sim.policies import Decision\n\n\nclass Half:\n"
        "    def decide(self, view):\n        return Decision(x=0.5)\n"
        "\n\nclass Broken:\n    def __init__(self):\n        raise RuntimeError('no config')\n"
    )
    for name, code, message in (
        ("Half", 0, ""),
        ("Broken", 2, "policy 'here_policies:Broken': making it failed: RuntimeError: no config"),
    ):
        scenario = tmp_path / f"{name}.toml"
        scenario.write_text(f'extends = "baseline"\n[[firms]]\nname = "Meta-like"\npolicy = "here_policies:{name}"\n')
        aisim = str(Path(sys.executable).with_name("aisim"))  # a console script: no folder on its path
        done = subprocess.run(
            [aisim, "run", scenario.name, "--steps", "2", "--allow-code-policies"],
            capture_output=True, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == code, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr


def test_aisim_run_says_which_firm_follows_which_policy(capsys):
    from sim.cli import main

    assert main(["run", "baseline", "--seed", "1", "--steps", "2", "--set", "firms.Meta-like.policy=thompson"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "policy" in lines[2].split()
    assert next(line for line in lines if line.strip().startswith("Meta-like")).split()[1] == "thompson"
    assert main(["run", "baseline", "--seed", "1", "--steps", "2"]) == 0
    assert "policy" not in capsys.readouterr().out.splitlines()[2].split()  # all on the model's rule: no column


def test_aisim_policies_lists_every_policy_and_measure(capsys):
    from sim.cli import main
    from sim.variables import FIRM_MEASURES

    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    for name in [*POLICIES, *FIRM_MEASURES, "strategies"]:
        assert name in out
