"""Class mode's core (sim/classroom.py): seats and tokens, decisions checked on the server side, the
quarter run with the students' decisions, replay after a restart, and a debrief."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from sim import AIRaceModel
from sim.classroom import PUBLIC_OWN, PUBLIC_RIVAL, ClassSession
from sim.outputs import stack_history
from sim.params import ParameterError
from sim.variables import FIRM_VARIABLES


def session_with(students: int, **kwargs) -> tuple[ClassSession, list]:
    session = ClassSession("baseline", seed=7, steps=8, join_code="123456", **kwargs)
    seats = [session.join(f"student {i}", "123456") for i in range(students)]
    return session, seats


def test_students_get_their_own_firms_and_rejoin_with_their_token():
    session, seats = session_with(3)
    assert [seat.firm for seat in seats] == ["OpenAI-like", "Google-like", "Meta-like"]
    assert len({seat.token for seat in seats}) == 3
    assert session.seat(seats[1].token) == seats[1]  # after a reload, the token finds the seat
    with pytest.raises(ParameterError, match="token: not a seat in this class"):
        session.seat("guessed")
    with pytest.raises(ParameterError, match="join code: wrong"):
        session.join("late", "654321")
    with pytest.raises(ParameterError, match="display name: empty"):
        session.join("  ", "123456")
    session.join("d", "123456"), session.join("e", "123456")
    with pytest.raises(ParameterError, match="the class is full: 5 firms"):
        session.join("f", "123456")


def test_decisions_are_checked_and_bound_to_the_token():
    session, seats = session_with(3)
    meta = seats[2]  # Meta-like protects 25% of its budget for world models: x at most 0.75
    with pytest.raises(
        ParameterError, match=r"x \(share of the AI budget on LLMs\): 0.9 is out of range; allowed 0 to 0.75"
    ):
        session.submit(meta.token, 0.9)
    for bad in ("lots", float("nan"), None, True):
        with pytest.raises(ParameterError, match=r"x .*(not a number|out of range)"):
            session.submit(meta.token, bad)
    with pytest.raises(ParameterError, match=r"investment share: 1\.5 is out of range; allowed 0 to 1"):
        session.submit(meta.token, 0.5, 1.5)
    session.submit(meta.token, "0.5")
    assert session.waiting_for() == ["OpenAI-like", "Google-like"]
    assert set(session.pending) == {"Meta-like"}  # a token acts for its own firm only


def test_the_quarter_runs_with_the_students_decisions():
    session, seats = session_with(2)
    session.submit(seats[0].token, 0.2, 0.5)  # OpenAI-like moves most of its budget to world models
    session.advance()  # Google-like's student handed nothing in: it keeps its starting allocation
    session.submit(seats[0].token, 0.3)
    session.advance()
    table = session.model.firm_dataframe().set_index(["firm", "step"])
    assert table.x[("OpenAI-like", 0)] == 0.2 and table.investment_share[("OpenAI-like", 0)] == 0.5
    assert table.x[("OpenAI-like", 1)] == 0.3 and table.investment_share[("OpenAI-like", 1)] == 0.5  # kept
    google = session.model.config.firms[1].initial_allocation
    assert table.x[("Google-like", 0)] == google and table.x[("Google-like", 1)] == google
    plain = AIRaceModel("baseline", rng=7, steps=8)
    plain.step()
    first = plain.firm_dataframe().set_index("firm")
    for firm in ("Meta-like", "Microsoft-like", "Amazon-like"):  # no student: the model's own rule
        assert table.x[(firm, 0)] == first.x[firm]


def test_a_student_who_joins_late_takes_the_firm_from_then_on_and_the_past_stays():
    session, seats = session_with(1)
    for _ in range(3):
        session.submit(seats[0].token, 0.5)
        session.advance()
    before = stack_history(session.model.history)
    late = session.join("late", "123456")
    assert late.since == 3
    after = stack_history(session.model.history)
    for variable in FIRM_VARIABLES:
        np.testing.assert_array_equal(after[variable], before[variable], err_msg=variable)
    session.submit(late.token, 0.1)
    session.advance()
    assert session.model.firm_dataframe().query("step == 3 and firm == 'Google-like'").x.iloc[0] == 0.1


def test_a_saved_session_restarts_where_it_was(tmp_path):
    session, seats = session_with(3)
    for quarter in range(4):
        for i, seat in enumerate(seats):
            if (quarter + i) % 3:  # some students miss some quarters
                session.submit(seat.token, 0.1 * (i + 1) + 0.05 * quarter)
        session.advance()
    session.submit(seats[0].token, 0.4)  # handed in, not yet run
    path = tmp_path / "class.json"
    session.save(path)
    again = ClassSession.load(path)
    assert again.seats == session.seats and again.pending == session.pending
    assert (again.join_code, again.teacher_secret) == (session.join_code, session.teacher_secret)
    for variable in FIRM_VARIABLES:
        np.testing.assert_array_equal(
            stack_history(again.model.history)[variable], stack_history(session.model.history)[variable]
        )
    session.advance(), again.advance()
    np.testing.assert_array_equal(again.model.state.x, session.model.state.x)
    (tmp_path / "broken.json").write_text(json.dumps({"version": 99}))
    with pytest.raises(ParameterError, match=r"broken\.json: not a class session .*version 99"):
        ClassSession.load(tmp_path / "broken.json")


def test_a_students_screen_shows_nothing_hidden():
    session, seats = session_with(2)
    session.advance()
    screen = session.screen(seats[1].token)
    assert screen["firm"] == "Google-like" and screen["quarter"] == 1
    assert set(screen["own"]) == set(PUBLIC_OWN) and {r["firm"] for r in screen["rivals"]} >= {"OpenAI-like"}
    assert all(set(r) == {"firm", *PUBLIC_RIVAL} for r in screen["rivals"])
    text = json.dumps(screen)  # what would go over the wire
    for hidden in ("llm_ceiling", "wm_difficulty", "llm_payback", "value_llm", "term_", "teacher", "token"):
        assert hidden not in text


def test_forty_decisions_at_once_are_each_counted_once():
    session = ClassSession("baseline", seed=1, steps=4, join_code="1")
    seats = [session.join(f"s{i}", "1") for i in range(5)]
    barrier = threading.Barrier(40)

    def hand_in(i):
        barrier.wait()
        session.submit(seats[i % 5].token, 0.1 + 0.01 * i)

    threads = [threading.Thread(target=hand_in, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(session.pending) == sorted(seat.firm for seat in seats)
    session.advance()
    assert session.pending == {} and len(session.decisions) == 1 and len(session.decisions[0]) == 5


def test_the_debrief_sets_each_choice_beside_the_models_rules():
    session, seats = session_with(1)
    for _ in range(3):
        session.submit(seats[0].token, 0.3)
        session.advance()
    debrief = session.debrief()
    assert list(debrief.quarter) == [0, 1, 2] and (debrief.x == 0.3).all()
    plain = AIRaceModel("baseline", rng=7, steps=8).run().firm_dataframe()
    openai = plain[plain.firm == "OpenAI-like"].x.to_numpy()[:3]
    np.testing.assert_array_equal(debrief.biased_x.to_numpy(), openai)  # the model's own rule, same seed
    assert (debrief.expected_value_x != debrief.biased_x).any()


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_quarter_is_due_when_everyone_handed_in_or_the_timer_ran_out():
    clock = Clock()
    session = ClassSession("baseline", seed=7, steps=8, join_code="1", clock=clock)
    assert not session.due()  # nobody seated
    seats = [session.join(name, "1") for name in ("a", "b")]
    session.start_timer(60)
    session.submit(seats[0].token, 0.5)
    assert not session.due() and session.seconds_left() == 60
    clock.now += 59
    assert not session.due()
    session.extend(30)
    clock.now += 2
    assert not session.due() and session.seconds_left() == 29
    session.submit(seats[1].token, 0.5)
    assert session.due()  # everyone handed in
    session.advance()
    assert session.seconds_left() is None and not session.due()
    session.start_timer(10)
    clock.now += 10
    assert session.due()  # the timer ran out: nobody handed in, each keeps last quarter's decision
    with pytest.raises(ParameterError, match=r"deadline \(seconds\): 0 is out of range; allowed 1 to 3600"):
        session.start_timer(0)


def test_autosave_after_every_quarter_and_a_restart_loses_nothing(tmp_path):
    path = tmp_path / "class.json"
    session = ClassSession("baseline", seed=3, steps=6, join_code="1", autosave=path)
    seat = session.join("a", "1")
    for x in (0.4, 0.3):
        session.submit(seat.token, x)
        session.advance()
    restarted = ClassSession.load(path)  # as if the server had been killed after the second quarter
    assert restarted.model.quarter == 2 and restarted.seat(seat.token) == seat
    restarted.submit(seat.token, 0.2)
    restarted.advance()
    assert ClassSession.load(path).model.quarter == 3  # it goes on saving


def test_only_the_teacher_sees_the_hidden_quantities():
    session = ClassSession("lecun_is_right", seed=1, steps=4, join_code="1", teacher_secret="s" * 20)
    with pytest.raises(ParameterError, match="teacher secret: wrong"):
        session.reveal("guess")
    hidden = session.reveal("s" * 20)
    assert hidden["llm_ceiling"] == session.model.config.environment.llm_ceiling


def test_a_late_join_keeps_the_past_of_a_firm_on_another_policy(tmp_path):
    scenario = tmp_path / "thompson.toml"
    scenario.write_text('extends = "baseline"\n[[firms]]\nname = "OpenAI-like"\npolicy = "thompson"\n')
    session = ClassSession(str(scenario), seed=5, steps=8, join_code="1")
    for _ in range(3):
        session.advance()  # nobody seated yet: every firm follows its policy in the scenario
    before = stack_history(session.model.history)
    session.join("late", "1")  # OpenAI-like, which followed thompson until now
    after = stack_history(session.model.history)
    for variable in FIRM_VARIABLES:
        np.testing.assert_array_equal(after[variable], before[variable], err_msg=variable)


def test_secrets_in_any_characters_are_refused_cleanly_and_late_extensions_count_from_now():
    clock = Clock()
    session = ClassSession("baseline", seed=1, steps=2, join_code="1", clock=clock)
    seat = session.join("a", "1")
    for text in ("é" * 22, "", "\x00"):
        with pytest.raises(ParameterError, match="token: not a seat"):
            session.seat(text)
        with pytest.raises(ParameterError, match="teacher secret: wrong"):
            session.reveal(text)
    session.start_timer(10)
    clock.now += 50  # time ran out long ago
    session.extend(30)
    assert session.seconds_left() == 30 and not session.due()
    session.submit(seat.token, 0.5)
    session.advance(), session.advance()
    with pytest.raises(ParameterError, match="the session is over"):
        session.join("too late", "1")
