"""What a class relies on in a session: shareable addresses, saved scenario files, clear pending
state, edits that survive switching, "never" shown as never, predictions beside the run."""

import urllib.parse

import numpy as np
import pytest

pytest.importorskip("solara")

from sim import AIRaceModel, load_scenario
from viz.session import UPLOAD_LIMIT, Prediction, Session

SHARED = "scenario=lecun_is_right&seed=7&set=drivers.sunk_cost=0.0&set=firms.Meta-like.wm_floor=0.0"


def run_table(model: AIRaceModel, quarters: int):
    for _ in range(quarters):
        model.step()
    return model.firm_dataframe()


def test_an_address_rebuilds_scenario_seed_and_edits():
    session = Session.from_query(SHARED)
    assert session.scenario_name == "lecun_is_right" and session.model.seed == 7 and not session.message
    assert session.applied_edits() == [("drivers.sunk_cost", 0.0), ("firms.Meta-like.wm_floor", 0.0)]
    assert session.run_label == "lecun_is_right (edited: 2 changes)"
    expected = AIRaceModel("lecun_is_right", rng=7, **{"drivers.sunk_cost": 0.0, "firms.Meta-like.wm_floor": 0.0})
    session.step(), session.step()
    assert session.firm_table().drop(columns="year").equals(run_table(expected, 2))


def test_the_address_of_a_session_round_trips():
    session = Session("open_research", seed=11)
    session.set_value("environment.llm_ceiling", "3.5")
    session.set_value("firms.1.openness", "0.25")
    session.reset()
    again = Session.from_query(session.query())
    assert again.scenario_name == "open_research" and again.model.seed == 11
    assert again.model.config == session.model.config
    fields = urllib.parse.parse_qs(session.query())
    assert fields["set"] == ["environment.llm_ceiling=3.5", f"firms.{session.draft['firms'][1]['name']}.openness=0.25"]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("scenario=nope", "scenario 'nope' is not in the library"),
        ("seed=abc", "seed 'abc' is not a whole number from 0 to"),
        ("seed=-3", "seed '-3' is not a whole number"),
        ("set=drivers.sunk_cost=99", "drivers.sunk_cost"),
        ("set=environment.no_such=1", "unknown key 'no_such'"),
        ("set=firms.Nobody.openness=0.5", "Nobody"),
    ],
)
def test_a_bad_address_part_is_named_and_the_rest_applies(query, said):
    session = Session.from_query(f"scenario=sunk_cost_trap&seed=5&{query}")
    assert session.message.startswith("Part of the address was not used:") and said in session.message
    assert not session.applied_edits()
    if not query.startswith("scenario"):
        assert session.scenario_name == "sunk_cost_trap"
    if not query.startswith("seed"):
        assert session.model.seed == 5


def test_pending_changes_say_press_reset_until_applied():
    session = Session(seed=42)
    assert session.pending() == []
    session.set_seed(7)
    assert session.pending() == ["seed 42 → 7"]
    session.set_value("drivers.sunk_cost", "0")
    session.set_value("environment.llm_ceiling", "2.5")
    assert session.pending() == ["seed 42 → 7", "2 edited values"]
    assert session.run_label == "baseline"  # the running model is not edited yet
    session.reset()
    assert session.pending() == [] and session.run_label == "baseline (edited: 2 changes)"
    assert session.csv_name == "aisim-baseline-edited-seed7.csv"


def test_edits_survive_switching_scenarios():
    session = Session()
    session.set_value("drivers.sunk_cost", "0")
    session.choose("lecun_is_right")
    assert not session.is_edited()
    session.choose("baseline")
    assert session.edits() == [("drivers.sunk_cost", 0.0)] and session.applied_edits() == [("drivers.sunk_cost", 0.0)]
    session.discard_edits()
    assert not session.is_edited() and session.pending() == ["1 edited value"]  # Reset runs the file again
    session.reset()
    assert not session.applied_edits()


def test_a_saved_scenario_file_loads_back_with_identical_results():
    session = Session("lecun_leaves", seed=3)
    session.apply({"firms.Meta-like.wm_floor": 0.0, "environment.follower_ease": 0.9})
    for _ in range(6):
        session.step()
    text = session.scenario_file()
    assert text.startswith("#") and "seed 3" in text.splitlines()[0]
    other = Session("baseline", seed=99)
    assert other.load_file("saved.toml", text.encode()), other.message
    assert other.scenario_name == "lecun_leaves" and other.model.seed == 3
    assert other.applied_edits() == session.applied_edits()
    for _ in range(6):
        other.step()
    assert other.firm_table().equals(session.firm_table())


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\xff\xfe bad", "it is not UTF-8 text"),
        (b'extends = "baseline"\n', "it extends another scenario"),
        (b"x" * (UPLOAD_LIMIT + 1), "larger than 1,000,000 bytes"),
        (b"title = [\n", "Could not load f.toml"),
    ],
)
def test_a_bad_scenario_file_is_refused_and_changes_nothing(data, said):
    session = Session("sunk_cost_trap", seed=4)
    session.step()
    assert not session.load_file("f.toml", data)
    assert said in session.message and session.message.startswith("Could not load f.toml")
    assert session.scenario_name == "sunk_cost_trap" and session.quarter == 1 and session.model.seed == 4


def test_a_file_with_an_invalid_value_or_unknown_firms_is_refused():
    text = Session("baseline").scenario_file()
    session = Session()
    assert not session.load_file("f.toml", text.replace("openness = 0.8", "openness = 3.0", 1).encode())
    assert "openness" in session.message
    renamed = text.replace('"OpenAI-like"', '"Someone else"')
    assert not session.load_file("f.toml", renamed.encode())
    assert "match no scenario of the library" in session.message


def test_compare_shows_never_and_calendar_quarters():
    session = Session()
    table = session.compare("lecun_is_right", seeds=10).set_index("measure")
    first = table.loc["First breakthrough"]
    assert first["baseline"] == "never"  # most baseline seeds see no breakthrough by 2034
    assert first["lecun_is_right"].startswith("20") and "Q" in first["lecun_is_right"]
    assert first["difference (median)"].endswith("quarters")


def test_a_prediction_is_shown_beside_what_happened():
    session = Session("lecun_is_right", seed=1)
    assert Prediction().reveal(session.model) == []
    session.prediction = Prediction(first_pivot="2027Q1", llm_share=60.0)
    session.step()
    lines = session.prediction.reveal(session.model)
    assert lines[0] == "First pivot to world models: you predicted 2027Q1; the run: not yet."
    while session.step():
        pass
    summary = session.model.summary()
    step = summary["first_pivot_step"]
    assert not np.isnan(step)  # in this world some firm pivots
    start = load_scenario("lecun_is_right").environment.start_year
    year, quarter = divmod(int(step), 4)
    assert session.prediction.reveal(session.model)[0].endswith(f"the run: {start + year}Q{quarter + 1}.")
    assert session.prediction.reveal(session.model)[1] == (
        f"LLM share of all AI R&D spend: you predicted 60%; the run: {100 * summary['llm_spend_share']:.0f}%."
    )


def test_a_fixed_value_or_seed_clears_an_old_refusal():
    session = Session()
    session.set_value("drivers.sunk_cost", "abc")
    assert not session.reset() and session.message.startswith("Fix the highlighted values")
    session.set_value("drivers.sunk_cost", "0.5")
    assert session.message == ""
    session.message = "Seed refused: ..."
    session.set_seed(3)
    assert session.message == "" and session.pending() == ["seed 42 → 3", "1 edited value"]


def test_a_file_loads_back_as_its_own_scenario_even_when_another_is_as_close():
    """sunk_cost_trap with its sunk-cost driver off is lecun_is_right's values: the file names its
    scenario, and it comes back as that one (its story, its steps), not the first alike."""
    saved = Session("sunk_cost_trap")
    saved.apply({"drivers.sunk_cost": 0.0})
    other = Session()
    assert other.load_file("f.toml", saved.scenario_file().encode())
    assert other.scenario_name == "sunk_cost_trap" and other.applied_edits() == saved.applied_edits()


def test_try_steps_are_experiments_against_the_file_not_piled_up():
    session = Session()
    first, second = session.base.try_next[:2]
    session.apply(dict(first.set))
    session.apply(dict(second.set))
    assert session.applied_edits() == list(second.set.items())


def test_an_edit_that_breaks_a_try_step_still_saves_the_run():
    session = Session("scaling_miracle")
    assert session.set_value("environment.llm_anchor_quality", "1.3") is None and session.reset()
    text = session.scenario_file()  # a step (the low ceiling of 1.3) no longer fits: it is left out
    loaded = Session()
    assert (
        loaded.load_file("f.toml", text.encode())
        and loaded.model.config.environment == session.model.config.environment
    )
    assert len(loaded.model.config.try_next) == len(load_scenario("scaling_miracle").try_next)  # the library's own


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"x = " + b"[" * 200_000, "nested too deeply"),
        (b"x = " + b"9" * 5_000, "cannot read a value"),
    ],
)
def test_a_file_python_cannot_parse_is_refused_with_one_line(data, said):
    session = Session()
    assert not session.load_file("f.toml", data) and said in session.message


def test_a_step_for_a_replaced_model_does_nothing():
    session = Session()
    old = session.model
    session.reset()
    assert not session.step(old) and session.quarter == 0
    assert session.step(session.model) and session.quarter == 1


def test_an_upload_larger_than_the_page_sends_is_refused_before_decoding():
    from viz.upload import uploaded

    assert uploaded({"name": "f.toml", "data": "eD0x"}, limit=10) == ("f.toml", b"x=1")
    with pytest.raises(ValueError, match="larger than the page sends"):
        uploaded({"name": "f.toml", "data": "A" * 100}, limit=10)
    with pytest.raises(ValueError, match="not a file"):
        uploaded({"name": "f.toml", "data": "not base64!"}, limit=10)


def test_a_firm_policy_is_edited_and_shared_through_the_address():
    session = Session.from_query("scenario=baseline&seed=3&set=firms.Meta-like.policy=hedger")
    assert session.edits() == [("firms.Meta-like.policy", "hedger")]
    assert "unknown policy 'greedy'; valid: biased" in session.set_value("firms.2.policy", "greedy")
    session.reset()
    assert session.model.config.firms[2].policy == "hedger"
    assert [f.name for f in session.model.deciding_firms] == ["Meta-like"]
    again = Session.from_query(session.query())
    assert again.edits() == [("firms.Meta-like.policy", "hedger")] and not again.message
