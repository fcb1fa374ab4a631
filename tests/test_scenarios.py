"""Finding scenario files, applying --set overrides and try-next steps, saving scenarios as files."""

import math

import pytest

from sim import ParameterError, load_scenario
from sim.params import TryStep, validate_scenario
from sim.scenarios import apply_try_step, parse_assignment, resolve, scenario_names, scenario_toml


def test_name_and_path_give_the_same_scenario(tmp_path):
    by_name = load_scenario("baseline")
    by_path = load_scenario(resolve("baseline"))
    assert by_name == by_path


def test_unknown_name_lists_available():
    with pytest.raises(ParameterError, match=r"unknown scenario 'atlantis'; available: .*baseline"):
        load_scenario("atlantis")


def test_missing_file():
    with pytest.raises(ParameterError, match="no such scenario file"):
        load_scenario("does/not/exist.toml")


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[[firms]\nname = "A"\n')
    with pytest.raises(ParameterError) as err:
        load_scenario(path)
    assert "broken.toml: TOML syntax error" in str(err.value)
    assert "line 2" in str(err.value)


@pytest.mark.parametrize(
    ("assignment", "check"),
    [
        ("environment.llm_ceiling=3", lambda s: s.environment.llm_ceiling == 3),
        ("llm_ceiling=3.5", lambda s: s.environment.llm_ceiling == 3.5),
        ("drivers.sunk_cost=0", lambda s: s.drivers.sunk_cost == 0),
        ("sunk_cost=0", lambda s: s.drivers.sunk_cost == 0),
        ("firms.Meta-like.openness=0.9", lambda s: s.firms[2].openness == 0.9),
        ("firms.0.rivalry=2", lambda s: s.firms[0].rivalry == 2),
        ("firms.*.adjustment_speed=0.5", lambda s: all(f.adjustment_speed == 0.5 for f in s.firms)),
    ],
)
def test_overrides(assignment, check):
    assert check(load_scenario("baseline", [assignment]))


def test_overrides_as_mapping():
    scenario = load_scenario("baseline", {"environment.steps": 8, "firms.*.rivalry": 0})
    assert scenario.environment.steps == 8
    assert all(f.rivalry == 0 for f in scenario.firms)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("nonsense", "expected NAME=VALUE"),
        ("=3", "expected NAME=VALUE"),
        ("foo=1", "unknown parameter"),
        ("environment.foo=1", "unknown key 'foo'; valid keys: start_year"),
        ("firms.Nobody.rivalry=1", "no firm 'Nobody'"),
        ("rivalry=1", "is a firm trait; write firms.NAME.rivalry"),
        ("firms.*.openness=2", r"openness: 2 is out of range; allowed 0 to 1"),
    ],
)
def test_bad_overrides(assignment, message):
    with pytest.raises(ParameterError, match=message):
        load_scenario("baseline", [assignment])


def test_parse_assignment_types():
    assert parse_assignment("a=1") == ("a", 1)
    assert parse_assignment("a=1.5") == ("a", 1.5)
    assert parse_assignment("a=true") == ("a", True)
    assert parse_assignment("a=Meta") == ("a", "Meta")


def test_a_try_step_applies_to_a_draft_like_set_and_leaves_the_draft_alone():
    scenario = load_scenario("lecun_leaves")
    draft = scenario.model_dump()
    step = TryStep(text="t", set={"firms.World-model lab.funding_rate": 0.6, "environment.follower_ease": 0.9})
    tried = apply_try_step(draft, step)
    assert draft == scenario.model_dump()  # a copy: the UI's draft is unchanged
    assert tried["firms"][-1]["funding_rate"] == 0.6 and tried["environment"]["follower_ease"] == 0.9
    assert validate_scenario(tried) == load_scenario(
        "lecun_leaves", ["firms.World-model lab.funding_rate=0.6", "environment.follower_ease=0.9"]
    )
    assert apply_try_step(draft, step.model_dump()) == tried  # a step as plain data (from a draft) too


def test_try_steps_are_checked_against_the_file_not_the_overrides(tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text('extends = "baseline"\n[[try_next]]\ntext = "late"\nset = { "firms.Meta-like.entry_step" = 30 }\n')
    assert load_scenario(path, ["environment.steps=20"]).environment.steps == 20  # the step is the file's
    path.write_text(path.read_text() + "[environment]\nsteps = 20\n")
    with pytest.raises(ParameterError, match=r"try_next\[0\] \(late\)\.set: firms\.Meta-like\.entry_step = 30: .*Meta"):
        load_scenario(path)


# --- saving a scenario as a file -----------------------------------------------------------


@pytest.mark.parametrize("name", scenario_names())
def test_every_library_scenario_saved_as_a_file_loads_back_equal(name, tmp_path):
    scenario = load_scenario(name)
    text = scenario_toml(scenario)
    assert "extends" not in text
    path = tmp_path / "saved.toml"
    path.write_text(text)
    assert load_scenario(path).model_dump() == scenario.model_dump()


def test_an_edited_scenario_saved_as_a_file_loads_back_equal_with_its_claims_and_steps(tmp_path):
    edits = {
        "environment.llm_ceiling": math.nextafter(1.3, 2.0),  # 1.3000000000000003: floats come back to the bit
        "drivers.sunk_cost": 1 / 3,
        "firms.World-model lab.research_efficiency": 2.0000000000000004,
        "firms.Meta-like.entry_step": 7,
    }
    scenario = load_scenario("lecun_leaves", edits).model_copy(
        update={"story": 'Quotes " and """ and a backslash \\ and a tab\t,\nthen a last line ending in \\'}
    )
    path = tmp_path / "edited.toml"
    path.write_text(scenario_toml(scenario, note="Saved from the aisim UI: lecun_leaves with 4 edits, seed 42"))
    loaded = load_scenario(path)
    assert loaded.model_dump() == scenario.model_dump()
    assert loaded.environment.llm_ceiling == 1.3000000000000003 and loaded.drivers.sunk_cost == 1 / 3
    assert [f.entry_step for f in loaded.firms if f.name == "Meta-like"] == [7]
    assert loaded.claims == scenario.claims and len(loaded.claims) == 2
    assert loaded.try_next == scenario.try_next and len(loaded.try_next) == 3


def test_a_saved_file_starts_with_its_note_as_a_comment():
    text = scenario_toml(load_scenario("baseline"), note="Saved from the aisim UI\nbaseline with 2 edits, seed 42")
    assert text.startswith('# Saved from the aisim UI\n# baseline with 2 edits, seed 42\n\nname = "baseline"\n')
    assert scenario_toml(load_scenario("baseline")).startswith('name = "baseline"\n')


def test_a_scenario_whose_try_step_no_longer_applies_is_not_saved():
    draft = load_scenario("scaling_miracle").model_dump()  # try_next[1] takes away the Meta-like firm's hedge
    draft["firms"] = [firm for firm in draft["firms"] if firm["name"] != "Meta-like"]
    draft["claims"] = []  # they name the Meta-like firm too
    with pytest.raises(ParameterError, match=r"try_next\[1\] .*\.set: firms\.Meta-like\.wm_floor = 0\.0: .*no firm"):
        scenario_toml(validate_scenario(draft))
