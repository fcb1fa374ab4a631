"""Class mode's core (sim/classroom.py): seats and tokens, decisions checked on the server side, the
quarter run with the students' decisions, replay after a restart, and a debrief."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import sim.classroom
from sim import AIRaceModel
from sim.classroom import PUBLIC_OWN, PUBLIC_RIVAL, ClassSession, shown_code
from sim.outputs import stack_history
from sim.params import ParameterError
from sim.variables import DRIVER_TERMS, FIRM_VARIABLES


def session_with(students: int, **kwargs) -> tuple[ClassSession, list]:
    session = ClassSession("baseline", seed=7, steps=8, join_code="123456", **kwargs)
    seats = [session.join(f"student {i}", "123456") for i in range(students)]
    return session, seats


def test_students_get_their_own_firms_then_teams_and_rejoin_with_their_code(monkeypatch):
    session, seats = session_with(3)
    assert [seat.firm for seat in seats] == ["OpenAI-like", "Google-like", "Meta-like"]
    assert len({seat.token for seat in seats}) == 3
    assert session.seat(seats[1].token) == seats[1]  # after a reload, the personal code finds the seat
    typed = shown_code(seats[1].token).lower().replace("-", " - ")
    assert session.seat(typed) == seats[1]  # as a student types it off the screen
    with pytest.raises(ParameterError, match="personal code: not a seat in this class"):
        session.seat("guessed")
    with pytest.raises(ParameterError, match="join code: wrong"):
        session.join("late", "654321")
    with pytest.raises(ParameterError, match="display name: empty"):
        session.join("  ", "123456")
    more = [session.join(name, " 123456 ") for name in ("d", "e", "f", "g")]
    assert [seat.firm for seat in more] == ["Microsoft-like", "Amazon-like", "OpenAI-like", "Google-like"]
    assert session.team("OpenAI-like") == [seats[0], more[2]]  # every firm taken: teams, the smallest first
    monkeypatch.setattr(sim.classroom, "MAX_STUDENTS", 7)
    with pytest.raises(ParameterError, match="the class is full: 7 students"):
        session.join("h", "123456")


def test_decisions_are_checked_and_bound_to_the_token():
    session, seats = session_with(3)
    meta = seats[2]  # Meta-like protects 25% of its budget for world models: x at most 0.75
    with pytest.raises(
        ParameterError, match=r"x \(target share of the AI budget on LLMs\): 0.9 is out of range; allowed 0 to 0.75"
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


def test_the_quarter_runs_with_the_students_decisions_at_the_firms_own_pace():
    session, seats = session_with(2)
    session.submit(seats[0].token, 0.2, 0.5)  # OpenAI-like aims most of its budget at world models
    session.advance()  # Google-like's student handed nothing in: it keeps its starting allocation
    session.submit(seats[0].token, 0.3)  # a new split; the investment target of 0.5 stands
    session.advance()
    table = session.model.firm_dataframe().set_index(["firm", "step"])
    # OpenAI-like starts at x = 0.95, investment share 1, and closes 40% of a gap each quarter; its LLM
    # carries its whole product (no world model yet), so its targets are not scaled down
    assert table.x_target[("OpenAI-like", 0)] == 0.2 and table.x_target[("OpenAI-like", 1)] == 0.3
    assert table.x[("OpenAI-like", 0)] == pytest.approx(0.95 + 0.4 * (0.2 - 0.95), rel=1e-8)  # 0.65
    assert table.x[("OpenAI-like", 1)] == pytest.approx(0.65 + 0.4 * (0.3 - 0.65), rel=1e-8)  # 0.51
    assert table.investment_share[("OpenAI-like", 0)] == pytest.approx(1 + 0.4 * (0.5 - 1))  # 0.8
    assert table.investment_share[("OpenAI-like", 1)] == pytest.approx(0.8 + 0.4 * (0.5 - 0.8))  # 0.68
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
    google = session.model.firm_dataframe().query("firm == 'Google-like'").set_index("step").x
    assert google[3] == pytest.approx(google[2] + 0.3 * (0.1 - google[2]), rel=1e-8)  # from then on, the student's


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
    assert sorted(session.pending) == sorted(seat.firm for seat in seats) and len(session.coming) == 40
    session.advance()
    assert session.pending == {} and len(session.handed_in) == 1 and len(session.handed_in[0]) == 40


def test_the_debrief_sets_each_choice_beside_the_models_rules():
    session, seats = session_with(2)
    for quarter in range(3):
        session.submit(seats[0].token, 0.3)  # OpenAI-like toward world models
        if quarter != 1:
            session.submit(seats[1].token, 1.0)  # Google-like all in on LLMs, beyond expected value
        session.advance()
    debrief = session.debrief()
    openai, google = debrief[debrief.firm == "OpenAI-like"], debrief[debrief.firm == "Google-like"]
    assert list(openai.step) == [0, 1, 2] and list(openai.quarter) == ["2025Q1", "2025Q2", "2025Q3"]
    assert (openai.student_target == 0.3).all() and (openai.target == 0.3).all()
    np.testing.assert_allclose(openai.x, [0.69, 0.534, 0.4404], rtol=1e-8)  # 0.95 closing 40% of the gap to 0.3
    assert google.student_target.isna().tolist() == [False, True, False]  # none in quarter 1: the target stood
    assert (google.target == 1.0).all()
    plain = AIRaceModel("baseline", rng=7, steps=8).run().firm_dataframe()
    biased = plain[plain.firm == "OpenAI-like"].x.to_numpy()[:3]
    np.testing.assert_array_equal(openai.biased_x.to_numpy(), biased)  # the model's own rule, same seed
    assert (debrief.expected_value_x != debrief.biased_x).any()
    assert (debrief.drivers == "").all()  # in 2025 expected value also says LLMs: no driver to name


def test_the_debrief_names_the_drivers_when_a_team_goes_beyond_expected_value():
    session = ClassSession("lecun_is_right", seed=7, steps=24, join_code="1")
    session.skip_to(14)  # the class takes over in 2028Q3, when the evidence on LLMs has turned
    seats = [session.join(name, "1") for name in ("a", "b")]
    with pytest.raises(ParameterError, match="start quarter: only before anyone joined"):
        session.skip_to(16)
    assert {seat.since for seat in seats} == {14}
    for _ in range(3):
        session.submit(seats[0].token, 0.2)  # OpenAI-like: below expected value
        session.submit(seats[1].token, 1.0)  # Google-like: all in on LLMs
        session.advance()
    debrief = session.debrief()
    played = session.model.firm_dataframe().set_index(["firm", "step"])
    openai, google = debrief[debrief.firm == "OpenAI-like"], debrief[debrief.firm == "Google-like"]
    assert list(google.step) == [14, 15, 16] and (openai.drivers == "").all()
    for _, row in google.iterrows():
        assert row.target > row.ev_target + 0.05  # the drivers' work, not expected value's
        terms = {name: played[f"term_{name}"][("Google-like", row.step)] for name in DRIVER_TERMS}
        pushing = sorted((name for name, value in terms.items() if value > 0), key=lambda n: -terms[n])
        assert row.drivers == ", ".join(name.replace("_", " ") for name in pushing) and row.drivers


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
        with pytest.raises(ParameterError, match="personal code: not a seat"):
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


def test_quarters_run_by_themselves_while_playing_and_a_team_waits_for_all_its_members(tmp_path):
    clock = Clock()
    path = tmp_path / "class.json"
    session = ClassSession("baseline", seed=2, steps=3, join_code="1", clock=clock, autosave=path)
    seats = [session.join(name, "1") for name in "abcdef"]  # five firms: a and f share OpenAI-like
    assert not session.tick()  # not playing: nothing runs by itself
    session.play(45)
    assert session.seconds_left() == 45
    for seat in seats[:5]:
        session.submit(seat.token, 0.5)
    assert session.waiting_for() == ["OpenAI-like"] and not session.tick()  # f has not handed in
    session.submit(seats[5].token, 0.4)
    session.submit(seats[0].token, 0.6)  # a changes the team's mind: its last word counts
    assert session.pending["OpenAI-like"].x == 0.6
    assert session.tick() and session.model.quarter == 1
    assert session.seconds_left() == 45  # the next quarter's clock started
    clock.now += 20
    restarted = ClassSession.load(path, clock=clock)  # saved after every change, clock included
    assert restarted.playing and restarted.seconds_left() == 25
    session.pause()
    clock.now += 100
    assert not session.tick() and session.seconds_left() is None
    session.play()
    assert session.seconds_left() == 25  # resumed where it was paused
    clock.now += 25
    assert session.tick() and session.model.quarter == 2  # time ran out: nobody handed in
    assert session.seconds_left() == 45
    session.advance()
    assert not session.playing and session.seconds_left() is None  # the last quarter ran
    with pytest.raises(ParameterError, match="the session is over"):
        session.play()


def test_a_team_at_a_firm_that_enters_later_keeps_its_target_and_the_debrief_skips_the_quarters_before():
    session = ClassSession("lecun_leaves", seed=3, steps=8, join_code="1")  # the lab enters in quarter 4
    entrant = session.firms.index("World-model lab")
    seats = [session.join(f"s{i}", "1") for i in range(len(session.firms))]
    lab = seats[entrant]
    session.submit(lab.token, 0.0, 0.5)  # handed in before the lab is in the market
    for _ in range(8):
        assert lab.firm not in session.waiting_for() or session.model.state.active[entrant]
        session.advance()
    table = session.model.firm_dataframe().set_index(["firm", "step"])
    active = table.active.xs(lab.firm, level="firm")
    entered = int(active.idxmax())
    assert entered == 4
    shares = table.investment_share.xs(lab.firm, level="firm")
    assert shares[entered] < 1.0  # moving toward the target of 0.5 handed in quarters before
    debrief = session.debrief()
    assert set(debrief[debrief.firm == lab.firm].step) == set(range(entered, 8))


def test_the_teacher_removes_a_seat_and_the_quarter_no_longer_waits_for_it():
    session, seats = session_with(2)
    extra = session.join("prank", "123456")
    session.submit(seats[0].token, 0.5), session.submit(seats[1].token, 0.5)
    assert session.waiting_for() == ["Meta-like"] and not session.due()
    session.submit(extra.token, 0.1)
    session.remove(2)
    assert session.pending.keys() == {"OpenAI-like", "Google-like"} and session.due()  # its decision went too
    with pytest.raises(ParameterError, match="personal code: your teacher took this seat out"):
        session.submit(extra.token, 0.2)
    with pytest.raises(ParameterError, match="seat: 2 is not a seat"):
        session.remove(2)
    session.advance()
    assert "prank (removed)" in set(session.debrief().student)  # the record keeps what it did
    assert session.status()["teams"]["Meta-like"] == []


def test_a_firm_out_of_business_is_not_waited_for_and_takes_no_decision():
    session, seats = session_with(2)
    session.model.state.alive[1] = session.model.state.active[1] = False  # Google-like went bust
    assert session.waiting_for() == ["OpenAI-like"]
    with pytest.raises(ParameterError, match="Google-like has gone out of business"):
        session.submit(seats[1].token, 0.5)


def test_the_first_student_gets_a_whole_quarter_when_the_clock_ran_for_nobody():
    clock = Clock()
    session = ClassSession("baseline", seed=1, steps=3, join_code="1", clock=clock, quarter_seconds=30)
    session.play()
    clock.now += 500
    assert not session.tick()
    session.join("a", "1")
    assert session.seconds_left() == 30 and not session.tick()


def test_the_comparison_runs_follow_the_scenario_until_the_students_took_over():
    session, _ = session_with(0)
    for _ in range(3):
        session.advance()  # nobody seated: every firm on its policy in the scenario
    session.join("late", "123456")
    played = session.model.firm_dataframe()
    for rule in ("biased", "expected_value"):
        model = session._new_model(rule=rule)
        for _ in range(3):
            model.step()
        np.testing.assert_array_equal(model.firm_dataframe().x, played.x)  # the same past


def test_unreadable_save_files_and_huge_numbers_are_refused_with_the_file_named(tmp_path):
    session, seats = session_with(1, autosave=tmp_path / "class.json")
    with pytest.raises(ParameterError, match=r"x \(target share of the AI budget on LLMs\): 1000000000.*not a number"):
        session.submit(seats[0].token, 10**400)
    assert (tmp_path / "class.json").stat().st_mode & 0o077 == 0  # secrets inside: the owner's only
    saved = json.loads((tmp_path / "class.json").read_text())
    for name, data in {
        "list": [1, 2],
        "seat": {**saved, "coming": [[7, {"x": 0.1, "investment_share": None}]]},
    }.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        with pytest.raises(ParameterError, match=rf"{name}\.json: not a class session aisim can read"):
            ClassSession.load(tmp_path / f"{name}.json")


def test_a_session_down_longer_than_a_quarter_comes_back_paused(tmp_path):
    clock = Clock()
    session = ClassSession("baseline", seed=1, steps=3, join_code="1", clock=clock, autosave=tmp_path / "c.json")
    session.join("a", "1")
    session.play(60)
    clock.now += 30  # down for 30 s: the quarter goes on with its 30 s left
    assert ClassSession.load(tmp_path / "c.json", clock=clock).seconds_left() == 30
    clock.now += 70  # the deadline passed 40 s ago, while down: the students get a whole quarter again
    again = ClassSession.load(tmp_path / "c.json", clock=clock)
    assert again.playing and again.seconds_left() == 60
    clock.now += 100
    again = ClassSession.load(tmp_path / "c.json", clock=clock)
    assert not again.playing and again.seconds_left() is None


def test_names_are_unique_and_short_and_a_removed_student_is_told_and_kept_in_the_debrief():
    session, seats = session_with(2)
    with pytest.raises(ParameterError, match="display name: 'STUDENT 0' is in this class already"):
        session.join("STUDENT 0", "123456")
    with pytest.raises(ParameterError, match="display name: 41 characters; at most 40"):
        session.join("x" * 41, "123456")
    session.remove(0)
    with pytest.raises(ParameterError, match="your teacher took this seat out of the class"):
        session.seat(seats[0].token)
    back = session.join("student 0", "123456")  # the name is free again, and so is the smallest team
    assert back.firm == "OpenAI-like" and back.since == 0
    session.advance()
    assert set(session.debrief().student) == {"student 0 (removed)", "student 1", "student 0"}


def test_a_paused_quarter_resumes_with_its_time_left_across_a_restart(tmp_path):
    clock = Clock()
    path = tmp_path / "c.json"
    session = ClassSession("baseline", seed=1, steps=4, join_code="1", clock=clock, autosave=path)
    session.join("a", "1")
    assert not session.status()["paused"]  # not started yet: the teacher's button says Start
    session.play(60)
    clock.now += 59.5
    session.pause()
    assert session.status()["paused"] and not session.status()["playing"]
    again = ClassSession.load(path, clock=clock)
    assert again.paused_left == pytest.approx(0.5) and again.status()["paused"]
    again.play()  # half a second left: at least one second, never an error
    assert again.playing and again.seconds_left() == 1.0
    saved = json.loads(path.read_text())
    for key in ("paused_left", "started", "start_quarter"):  # the first saves of this version had none
        saved.pop(key)
    path.write_text(json.dumps(saved))
    assert ClassSession.load(path, clock=clock).status()["paused"] is False


def test_a_class_that_takes_over_later_counts_its_own_quarters(tmp_path):
    from viz.classroom_web import Classrooms

    classrooms = Classrooms(tmp_path / "classes")
    session = classrooms.create("baseline", seed=1, quarters=4, start_quarter=3)
    status = session.status()
    assert (session.model.quarter, session.steps, session.start_quarter) == (3, 7, 3)
    assert (status["round"], status["rounds"], status["quarter_label"]) == (1, 4, "2025Q4")
    assert classrooms.unfinished() == [session]
    reloaded = Classrooms(tmp_path / "classes")
    assert [s.start_quarter for s in reloaded.load_saved()] == [3]
