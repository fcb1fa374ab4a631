"""The scenario library: every file loads, tells its story and makes claims that hold over seeds."""

import pytest

from sim import AIRaceModel, ParameterError, load_scenario, scenario_names
from sim.claims import check_claim
from sim.cli import main
from sim.params import validate_scenario
from sim.scenarios import apply_try_step, resolve
from tests.helpers import check_invariants

LIBRARY = scenario_names()
ESSAY_SCENARIOS = {
    "baseline",
    "lecun_is_right",
    "scaling_miracle",
    "sunk_cost_trap",
    "no_market_pressure",
    "compute_shock",
    "open_research",
    "startup_low_ceiling",
    "startup_high_ceiling",
}


def test_library_holds_the_essays_scenarios():
    assert set(LIBRARY) >= ESSAY_SCENARIOS


@pytest.mark.parametrize("name", LIBRARY)
def test_every_scenario_tells_its_story_and_makes_a_claim(name):
    scenario = load_scenario(name)
    assert scenario.name == name
    for field in ("title", "story", "question", "watch"):
        assert getattr(scenario, field).strip(), f"{name} has no {field}"
    assert scenario.claims, f"{name} makes no claim"


@pytest.mark.parametrize("name", LIBRARY)
def test_every_scenario_suggests_what_to_try_next_and_each_step_changes_it(name):
    scenario = load_scenario(name)
    assert 1 <= len(scenario.try_next) <= 3, f"{name} has {len(scenario.try_next)} try-next steps"
    draft = scenario.model_dump()
    for step in scenario.try_next:
        tried = validate_scenario(apply_try_step(draft, step))
        assert tried != scenario, f"{name}: '{step.text}' changes nothing"
        assert load_scenario(name, step.set) == tried  # the same as `aisim run NAME --set ...`


@pytest.mark.parametrize("name", LIBRARY)
def test_every_scenario_runs_from_name_and_path(name, capsys):
    assert main(["run", name, "--seed", "1", "--steps", "6"]) == 0
    assert main(["run", str(resolve(name)), "--seed", "1", "--steps", "6"]) == 0
    check_invariants(AIRaceModel(name, rng=2).run())


CLAIMS = [(name, i) for name in LIBRARY for i in range(len(load_scenario(name).claims))]


@pytest.mark.parametrize(("name", "index"), CLAIMS, ids=[f"{n}-{i}" for n, i in CLAIMS])
def test_claim_holds_over_its_seeds(name, index):
    """Full seed count (100 unless the file says otherwise) and the file's required share."""
    scenario = load_scenario(name)
    claim = scenario.claims[index]
    result = check_claim(scenario, claim)
    assert result.seeds == claim.seeds
    assert result.passed, (
        f"{name}: '{claim.text}' held on {result.share:.0%} of {claim.seeds} seeds (needs {claim.required_share:.0%}) "
        f"and on {result.placebo_note} under its placebo (needs under 50%)"
    )


def check_one_claim(tmp_path, claim: str) -> int:
    """`aisim check-claims` on a baseline child holding one claim (TOML lines after [[claims]])."""
    path = tmp_path / "claim.toml"
    path.write_text('extends = "baseline"\ntitle = "t"\n[[claims]]\ntext = "LLMs get most of the money"\n' + claim)
    return main(["check-claims", str(path)])


SHARE_ABOVE_HALF = 'metric = "llm_spend_share"\ncompare = "greater"\nvalue = 0.5\n'


def test_a_claim_that_holds_under_its_placebo_fails(tmp_path, capsys):
    """A claim that holds whatever its mechanism does tests nothing: its verdict is FAIL."""
    assert check_one_claim(tmp_path, SHARE_ABOVE_HALF + 'seeds = 10\nplacebo = { "drivers.sunk_cost" = 0.0 }\n') == 1
    out = capsys.readouterr().out
    assert "100%" in out and "FAIL" in out  # holds on every seed, and on every seed of its placebo


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        (SHARE_ABOVE_HALF + 'seeds = 3\nplacebo = { "drivers.sunk_cost" = 1.0 }\n', "changes no parameter"),
        (  # switching off the very parameter a counterfactual claim compares would fail by construction
            'metric = "llm_spend_share"\ncompare = "greater"\nseeds = 3\n'
            'counterfactual = { "drivers.sunk_cost" = 0.0 }\nplacebo = { "drivers.sunk_cost" = 0.0 }\n',
            "both sides of the comparison the same scenario",
        ),
        (SHARE_ABOVE_HALF + 'seeds = 3\nplacebo = { "drivers.greed" = 0.0 }\n', "greed"),
    ],
    ids=["changes nothing", "same on both sides", "unknown parameter"],
)
def test_a_placebo_that_cannot_test_anything_is_refused(tmp_path, capsys, claim, message):
    assert check_one_claim(tmp_path, claim) == 2
    err = capsys.readouterr().err
    assert "LLMs get most of the money" in err and "placebo" in err and message in err


def test_claims_need_a_placebo_and_at_least_80_percent(tmp_path):
    claim = 'text = "t"\nmetric = "llm_spend_share"\ncompare = "greater"\nvalue = 0.5\n'
    for extra, message in (("", "placebo"), ('placebo = { "drivers.sunk_cost" = 0.0 }\nrequired_share = 0.6\n', "0.8")):
        path = tmp_path / "weak.toml"
        path.write_text('extends = "baseline"\ntitle = "t"\n[[claims]]\n' + claim + extra)
        with pytest.raises(ParameterError, match=message):
            load_scenario(path)


def test_check_claims_command(capsys):
    assert main(["check-claims", "lecun_is_right", "--seeds", "30"]) == 0
    out = capsys.readouterr().out
    claims = len(load_scenario("lecun_is_right").claims)
    assert "lecun_is_right" in out and "PASS" in out and f"{claims} passed, 0 failed" in out


def test_failing_claim_gives_exit_code_1(tmp_path, capsys):
    impossible = 'metric = "total_llm_spend"\ncompare = "less"\nvalue = 0.0\nseeds = 5\n'
    assert check_one_claim(tmp_path, impossible + 'placebo = { "drivers.sunk_cost" = 0.0 }\n') == 1
    assert "FAIL" in capsys.readouterr().out


def test_show_lists_story_claims_and_differences(capsys):
    assert main(["show", "sunk_cost_trap"]) == 0
    out = capsys.readouterr().out
    assert "Story:" in out and "Question:" in out and "Claims:" in out
    assert "Try next:\n  - Switch off the sunk-cost driver" in out
    assert "aisim run sunk_cost_trap --set firms.Microsoft-like.sunk_cost_bias=3.0" in out
    assert "drivers.sunk_cost = 3.0 (baseline 1.0)" in out
    assert "environment.llm_ceiling = 1.3 (baseline 2.0)" in out


def test_show_quotes_a_try_next_setting_for_the_shell(capsys):
    assert main(["show", "compute_shock"]) == 0
    assert "aisim run compute_shock --set 'firms.Challenger lab.funding_rate=0.3'" in capsys.readouterr().out


def test_scenarios_command_lists_names_and_titles(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) >= 8
    assert "LeCun is right" in out


# --- extends ------------------------------------------------------------------------


def test_extends_overrides_only_what_differs():
    base, child = load_scenario("baseline"), load_scenario("sunk_cost_trap")
    assert child.drivers.sunk_cost == 3.0
    assert child.environment.llm_ceiling == 1.3  # from lecun_is_right, two levels up
    assert child.firms == base.firms
    assert child.story != base.story and child.claims != base.claims


@pytest.mark.parametrize("parent", ["../../etc/passwd", "/etc/hostname", "../outside.toml"])
def test_extends_never_leaves_the_scenarios_folder_or_the_library(tmp_path, parent):
    (tmp_path / "outside.toml").write_text('extends = "baseline"\n')
    folder = tmp_path / "mine"
    folder.mkdir()
    child = folder / "child.toml"
    child.write_text(f'extends = "{parent}"\n')
    with pytest.raises(ParameterError, match="leaves the scenario's folder and the scenario library"):
        load_scenario(child)


def test_extends_finds_a_file_beside_the_scenario_before_the_library(tmp_path):
    (tmp_path / "baseline.toml").write_text('extends = "lecun_is_right"\n[drivers]\nsunk_cost = 2.5\n')
    (tmp_path / "child.toml").write_text('extends = "baseline"\n')
    scenario = load_scenario(tmp_path / "child.toml")
    assert scenario.drivers.sunk_cost == 2.5 and scenario.environment.llm_ceiling == 1.3


def test_extends_merges_firms_by_name(tmp_path):
    path = tmp_path / "child.toml"
    path.write_text(
        'extends = "baseline"\n[[firms]]\nname = "Meta-like"\nopenness = 0.1\n[[firms]]\nname = "New lab"\n'
    )
    scenario = load_scenario(path)
    names = [f.name for f in scenario.firms]
    assert names[-1] == "New lab" and len(names) == 6
    meta = next(f for f in scenario.firms if f.name == "Meta-like")
    assert meta.openness == 0.1 and meta.wm_floor == 0.25  # the rest inherited


# --- malformed files: one clear message naming file, field and problem --------------

MALFORMED = {
    "syntax": ('name = "x"\n[[firms]\nname = "A"\n', r"broken\.toml: TOML syntax error: .*line 2"),
    "unknown key": (
        '[[firms]]\nname = "A"\nopeness = 0.5\n',
        r"broken\.toml: firms\[0\] \(A\)\.openess: unknown key 'openess'; valid keys: name, initial_cash",
    ),
    "wrong type": (
        '[environment]\nllm_ceiling = "high"\n[[firms]]\nname = "A"\n',
        r"broken\.toml: environment\.llm_ceiling: expected a number, got the text 'high'",
    ),
    "out of range": (
        '[drivers]\nsunk_cost = -1\n[[firms]]\nname = "A"\n',
        r"broken\.toml: drivers\.sunk_cost: -1 is out of range; allowed 0 to 10",
    ),
    "firm without a name": (
        "[[firms]]\nopenness = 0.5\n",
        r"broken\.toml: firms\[0\]\.name: required field is missing",
    ),
    "missing parent": (
        'extends = "atlantis"\n',
        r"broken\.toml: extends: unknown scenario 'atlantis'; available: baseline",
    ),
    "unknown claim metric": (
        '[[firms]]\nname = "A"\n[[claims]]\ntext = "t"\nmetric = "happiness"\ncompare = "greater"\nvalue = 1\n'
        'placebo = { "drivers.sunk_cost" = 0.0 }\n',
        r"broken\.toml: claims\[0\]: metric 'happiness': unknown measure; valid: first_breakthrough_step",
    ),
    "claim without reference": (
        '[[firms]]\nname = "A"\n[[claims]]\ntext = "t"\nmetric = "firms_alive"\ncompare = "greater"\n'
        'placebo = { "drivers.sunk_cost" = 0.0 }\n',
        r"claims\[0\]: give exactly one of value, counterfactual or reference",
    ),
    "claim about a missing firm": (
        '[[firms]]\nname = "A"\n[[claims]]\ntext = "t"\nmetric = "firm:B:final_share"\ncompare = "less"\nvalue = 1\n'
        'placebo = { "drivers.sunk_cost" = 0.0 }\n',
        r"no firm 'B'; firms: A",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_file_gets_a_clear_message(case, tmp_path):
    text, pattern = MALFORMED[case]
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=pattern):
        load_scenario(path)


@pytest.mark.parametrize("case", ["syntax", "out of range", "missing parent"])
def test_malformed_file_on_the_command_line(case, tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(MALFORMED[case][0])
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("aisim: error:") == 1 and "broken.toml" in err


def test_try_next_is_never_inherited_and_a_childs_own_list_is_all_it_has(tmp_path):
    step = '[[try_next]]\ntext = "{}"\nset = {{ "drivers.sunk_cost" = {} }}\n'
    (tmp_path / "parent.toml").write_text('extends = "baseline"\n' + step.format("parent's", 0.0))
    (tmp_path / "silent.toml").write_text('extends = "parent"\n')
    (tmp_path / "own.toml").write_text('extends = "parent"\n' + step.format("child's", 2.0))
    assert [s.text for s in load_scenario(tmp_path / "parent.toml").try_next] == ["parent's"]
    assert load_scenario(tmp_path / "silent.toml").try_next == []
    own = load_scenario(tmp_path / "own.toml").try_next
    assert [(s.text, s.set) for s in own] == [("child's", {"drivers.sunk_cost": 2.0})]


def test_extends_cycle_is_reported(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b"\n')
    (tmp_path / "b.toml").write_text('extends = "a"\n')
    with pytest.raises(ParameterError, match="extends: cycle a -> b -> a"):
        load_scenario(tmp_path / "a.toml")
