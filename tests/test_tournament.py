"""Tournaments of policies (sim/tournament.py): every assignment runs with the same seeds, the ranking's
means, intervals and paired differences are right, and docs/STRATEGIES.md matches the code."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import AIRaceModel
from sim.params import ParameterError
from sim.policies import POLICIES
from sim.tournament import Z95, TournamentSpec, load_tournament, rank, run_tournament, tournament_table

DOCS = Path(__file__).resolve().parent.parent / "docs"


def small(**changes) -> TournamentSpec:
    data = {
        "name": "small",
        "policies": ["biased", "expected_value"],
        "slots": ["Meta-like"],
        "scenarios": ["baseline"],
        "replicates": {"count": 6},
        "steps": 12,
    }
    return TournamentSpec.model_validate({**data, **changes})


def test_every_policy_meets_the_same_seeds_and_the_default_is_the_model():
    spec = small()
    results = run_tournament(spec)
    assert len(results) == 2 * 6
    assert sorted(results.groupby("policy").seed.apply(tuple).unique()) == [tuple(range(6))]
    for seed in range(6):
        summary = AIRaceModel("baseline", rng=seed, steps=12).run().firm_summary()
        meta = summary.loc[2]  # the firms in scenario order
        row = results[(results.policy == "biased") & (results.seed == seed)].iloc[0]
        assert row.final_share == meta.final_share and row.ai_profit == meta.ai_profit
        assert row.big_muddy_spend == meta.big_muddy_spend and row.survival == meta.alive


def test_two_slots_run_every_assignment_and_pair_on_the_others():
    spec = small(slots=["Meta-like", "Amazon-like"], replicates={"count": 3})
    results = run_tournament(spec)
    assert len(results) == 4 * 3 * 2  # assignments x seeds x slots
    meta = results[results.slot == "Meta-like"]
    assert sorted(set(zip(meta.policy, meta.others, strict=True))) == [
        ("biased", "biased"),
        ("biased", "expected_value"),
        ("expected_value", "biased"),
        ("expected_value", "expected_value"),
    ]
    ranked = rank(results, spec)
    assert list(ranked.slot) == ["Meta-like", "Meta-like", "Amazon-like", "Amazon-like"]  # the spec's order
    assert (ranked.runs == 6).all() and (ranked.clusters == 3).all()  # 3 seeds x 1 scenario
    # the two runs of a seed (one per policy of the other slot) share its luck: one cluster, averaged
    row = ranked[(ranked.slot == "Meta-like") & (ranked.policy == "biased")].iloc[0]
    means = meta[meta.policy == "biased"].groupby("seed").final_share.mean().to_numpy()
    assert row.final_share == pytest.approx(means.mean())
    assert row.final_share_ci == pytest.approx(Z95 * means.std(ddof=1) / np.sqrt(3))


def test_ranking_by_hand():
    """Two policies, two seeds, one scenario: means, intervals and the paired difference by hand."""
    spec = small()
    results = pd.DataFrame(
        {
            "scenario": "baseline",
            "run_id": [0, 1, 2, 3],
            "seed": [0, 1, 0, 1],
            "slot": "Meta-like",
            "policy": ["biased", "biased", "expected_value", "expected_value"],
            "others": "",
            "final_share": [0.10, 0.20, 0.16, 0.30],
            "ai_profit": [-10.0, -20.0, -4.0, -12.0],
            "survival": [1.0, 1.0, 1.0, 0.0],
            "big_muddy_spend": [5.0, 7.0, 1.0, 3.0],
        }
    )
    ranked = rank(results, spec).set_index("policy")
    assert list(ranked.index) == ["expected_value", "biased"] and list(ranked["rank"]) == [1, 2]
    ev = ranked.loc["expected_value"]
    assert ev.final_share == pytest.approx(0.23)
    assert ev.final_share_ci == pytest.approx(Z95 * np.std([0.16, 0.30], ddof=1) / np.sqrt(2))
    assert ev.survival == 0.5
    # paired on the seed: 0.16 - 0.10 = 0.06 and 0.30 - 0.20 = 0.10
    assert ev.final_share_vs_biased == pytest.approx(0.08)
    assert ev.final_share_vs_biased_ci == pytest.approx(Z95 * np.std([0.06, 0.10], ddof=1) / np.sqrt(2))
    assert ev.ai_profit_vs_biased == pytest.approx(7.0)
    assert ranked.loc["biased"].final_share_vs_biased == 0.0
    table = tournament_table(rank(results, spec), spec)
    assert "| Meta-like | 1 | `expected_value` | 0.23 ± 0.14 |" in table


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"policies": ["biased", "greedy"]}, r"unknown policy 'greedy'; valid: biased"),
        ({"policies": ["biased", "biased"]}, "each policy once"),
        ({"policies": ["biased"]}, "at least 2"),
        ({"slots": []}, "at least 1"),
    ],
)
def test_bad_specs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        small(**changes)


def test_a_slot_that_is_not_a_firm_names_the_scenario_and_firm():
    with pytest.raises(ParameterError, match=r"scenario 'baseline': .*no firm 'Nobody'; firms: OpenAI-like"):
        run_tournament(small(slots=["Nobody"]))


def test_spec_files_by_path_or_bundled_name(tmp_path):
    spec, _ = load_tournament("strategies")
    assert spec.policies == list(POLICIES)[:6] and spec.slots == ["Meta-like"]
    with pytest.raises(ParameterError, match=r"nope: no such tournament spec file, nor a bundled one \(strategies"):
        load_tournament("nope")
    path = tmp_path / "t.toml"
    path.write_text('policies = ["biased", "thompson"]\nslots = ["Meta-like"]\nscenarios = ["baseline"]\n')
    with pytest.raises(ParameterError, match=r"t\.toml: .*replicates.*(required|missing)"):
        load_tournament(path)


def test_strategies_doc_shows_the_bundled_tournament_as_the_code_runs_it():
    from docs.update_docs import TOURNAMENT, command_output, markers

    text = (DOCS / "STRATEGIES.md").read_text()
    for name, arguments in TOURNAMENT.items():
        start, end = markers(name)
        block = text.split(start, 1)[1].split(end, 1)[0].strip("\n")
        assert block == command_output(arguments), f"docs/STRATEGIES.md '{name}' is stale: run `make docs`"


def test_the_policy_written_in_the_docs_runs_in_under_20_lines():
    text = (DOCS / "STRATEGIES.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    policy, use = blocks[0], blocks[1]
    assert len(policy.strip().splitlines()) < 20
    namespace: dict = {}
    try:
        exec(policy + use, namespace)
        table = namespace["model"].firm_dataframe()
        meta = table[table.firm == "Meta-like"]
        assert meta.x.nunique() > 1  # it decided, quarter by quarter
    finally:
        POLICIES.pop("contrarian", None)


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        (["*"], r"slot '\*': name a firm"),
        (["2"], "slot '2': name a firm"),
        (["Meta-like", "Meta-like"], "each slot once"),
    ],
)
def test_slots_name_firms_once(slots, message):
    with pytest.raises(ValueError, match=message):
        small(slots=slots)


def test_a_slot_missing_from_any_scenario_is_refused_before_anything_runs(monkeypatch):
    import sim.sweeps

    monkeypatch.setattr(sim.sweeps, "sweep", lambda *a, **k: pytest.fail("a sweep ran"))
    spec = small(scenarios=["baseline", "startup_high_ceiling"], slots=["World-model start-up"])
    with pytest.raises(
        ParameterError, match=r"scenario 'baseline': no firm 'World-model start-up'; firms: OpenAI-like"
    ):
        run_tournament(spec)
    with pytest.raises(ParameterError, match=r"'mine:Best' names code"):
        run_tournament(small(policies=["biased", "mine:Best"]))


def test_numbers_are_never_in_scientific_notation():
    from sim.tournament import interval_text

    assert interval_text(-621.0, 81.4, 3) == "-621 ± 81"
    assert interval_text(-621.0, 154.0, 3) == "-621 ± 154"
    assert interval_text(999.7, 1000.2, 3) == "1,000 ± 1,000"
    assert interval_text(0.144, 0.011, 3) == "0.144 ± 0.011"
    assert interval_text(1.0, 0.0, 3) == "1 (every run)"


def test_a_policy_whose_firm_never_entered_ranks_last_and_seeds_count_once():
    spec = small()
    results = pd.DataFrame(
        {
            "scenario": "baseline", "run_id": [0, 1], "seed": [0, 0], "slot": "Meta-like",
            "policy": ["biased", "expected_value"], "others": "", "final_share": [0.1, np.nan],
            "ai_profit": [1.0, np.nan], "survival": [1.0, np.nan], "big_muddy_spend": [1.0, np.nan],
        }
    )  # fmt: skip
    ranked = rank(results, spec)
    assert list(ranked.policy) == ["biased", "expected_value"] and list(ranked["rank"]) == [1, 2]
    with pytest.raises(ValueError, match="each seed once"):
        small(replicates={"seeds": [1, 1]})
    with pytest.raises(ValueError, match="each scenario once"):
        small(scenarios=["baseline", "baseline"])
