"""Class mode over HTTP, with simulated students (`viz.classroom_client`), not browsers: forty students
handing in within the same second, and a server killed mid-session and started again."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("solara")

from sim.classroom import ClassSession
from viz.browser import free_port, serve
from viz.classroom_client import ClassError, Student, Teacher, call, submit_together


def start(tmp_path, folder, port=None, started=None, *options):
    log = tmp_path / f"server-{time.monotonic_ns()}.log"
    command = ["--class", "baseline", "--class-quarters", "6", "--class-folder", str(folder), *options]
    return serve(log, port=port, options=command, started=started), log


def teacher_of(url: str, log) -> tuple[str, Teacher]:
    text = log.read_text()
    secret = re.search(r"#secret=(\S+)", text).group(1)
    return re.search(r"class code (\d{6})", text).group(1), Teacher(url, secret)


def wait_for_quarter(teacher: Teacher, quarter: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while teacher.state()["quarter"] < quarter:
        assert time.monotonic() < deadline, f"quarter {quarter} did not come"
        time.sleep(0.05)


def test_forty_students_handing_in_at_once_are_each_counted_once(tmp_path):
    server, log = start(tmp_path, tmp_path / "classes")
    with server as url:
        code, teacher = teacher_of(url, log)
        students = [Student(url) for _ in range(40)]
        firms = [student.join(code, f"student {i}")["firm"] for i, student in enumerate(students)]
        assert {firm: firms.count(firm) for firm in set(firms)} == dict.fromkeys(set(firms), 8)  # 5 teams of 8
        teacher.control("play", seconds=600)
        targets = [0.05 + 0.015 * i for i in range(40)]  # all within Meta-like's cap of 0.75
        submit_together(students, targets)
        wait_for_quarter(teacher, 1)  # every student handed in: the quarter ran at once
        saved = json.loads(next((tmp_path / "classes").glob("*.json")).read_text())
        handed_in = saved["handed_in"][0]
        assert sorted(number for number, _ in handed_in) == list(range(40))  # each one, once
        assert {number: choice["x"] for number, choice in handed_in} == dict(enumerate(targets))
        session = ClassSession.load(next((tmp_path / "classes").glob("*.json")), autosave=False)
        table = session.model.firm_dataframe().set_index("firm")
        for firm in set(firms):
            last = [choice["x"] for number, choice in handed_in if firms[number] == firm][-1]
            assert table.x_target[firm] == last  # a team's decision: its last word


def test_a_killed_server_restarts_and_everyone_rejoins_with_nothing_lost(tmp_path):
    folder, port, process = tmp_path / "classes", free_port(), {}
    server, log = start(tmp_path, folder, port, lambda p: process.setdefault("first", p))
    with server as url:
        code, teacher = teacher_of(url, log)
        students = [Student(url) for _ in range(3)]
        for i, student in enumerate(students):
            student.join(code, f"student {i}")
        teacher.control("play", seconds=600)
        submit_together(students, [0.8, 0.6, 0.4])
        wait_for_quarter(teacher, 1)
        students[0].decide(0.5, 0.7)
        students[2].decide(0.2)
        before = students[1].screen()
        process["first"].send_signal(signal.SIGKILL)  # no goodbye: the power cable
        process["first"].wait()

    server, log = start(tmp_path, folder, port)
    with server as url:
        assert "resumed from" in log.read_text() and "at 2025Q2, quarter 2 of 6" in log.read_text()
        again, teacher = teacher_of(url, log)
        assert again == code
        rejoined = [Student(url, student.code) for student in students]  # their personal codes
        screens = [student.screen() for student in rejoined]
        assert [screen["firm"] for screen in screens] == ["OpenAI-like", "Google-like", "Meta-like"]
        assert screens[0]["handed_in"] == {"by": "student 0", "x": 0.5, "investment_share": 0.7}
        assert screens[2]["handed_in"]["x"] == 0.2 and screens[1]["handed_in"] is None
        assert screens[1]["own"] == before["own"] and screens[1]["market"] == before["market"]
        assert screens[1]["playing"] and 0 < screens[1]["seconds_left"] <= 600  # the clock goes on
        rejoined[1].decide(0.3)
        wait_for_quarter(teacher, 2)

    # started again as the plain UI (a session begun from its Class tab): it says where the class is
    log = tmp_path / "plain.log"
    with serve(log, options=["--class-folder", str(folder)]) as url:
        text = log.read_text()
        assert f"class code {code}" in text and "at 2025Q3, quarter 3 of 6" in text and "#secret=" in text

    # the same class, never interrupted, in one process: the same market, bit for bit
    plain = ClassSession("baseline", seed=42, steps=6, join_code="1")
    seats = [plain.join(f"student {i}", "1") for i in range(3)]
    for seat, x in zip(seats, (0.8, 0.6, 0.4), strict=True):
        plain.submit(seat.token, x)
    plain.advance()
    plain.submit(seats[0].token, 0.5, 0.7), plain.submit(seats[2].token, 0.2), plain.submit(seats[1].token, 0.3)
    plain.advance()
    restarted = ClassSession.load(next(folder.glob("*.json")), autosave=False)
    assert restarted.model.quarter == 2
    for column, values in plain.model.firm_dataframe().items():
        if column not in ("quarter", "firm"):
            np.testing.assert_array_equal(restarted.model.firm_dataframe()[column], values, err_msg=column)


def test_wrong_codes_are_refused_then_throttled_while_right_codes_keep_working(tmp_path):
    server, log = start(tmp_path, tmp_path / "classes")
    with server as url:
        join_code, teacher = teacher_of(url, log)
        ana = Student(url)
        ana.join(join_code, '=HYPERLINK("http://evil")')  # a name a spreadsheet would run
        with pytest.raises(ClassError, match="name: empty"):
            Student(url).join(join_code, " ")
        for _ in range(40):  # a teacher's tab without the secret asks again and again: not counted
            with pytest.raises(ClassError, match="teacher secret: wrong"):
                call(url, "/class/api/teacher")
        for attempt in range(29):
            with pytest.raises(ClassError) as refused:
                Student(url).join(f"{(int(join_code) + 1 + attempt) % 10**6:06d}", "guesser")
            assert refused.value.status == 400 and "no class with this code" in refused.value.text
        with pytest.raises(ClassError) as refused:
            Student(url, "AAAAA-AAAAA").screen()
        assert refused.value.status == 400
        for student in (Student(url), Student(url, "AAAAA-AAAAB")):  # the 31st wrong try: "wait", not "wrong"
            with pytest.raises(ClassError) as refused:
                student.join(join_code, "guesser") if student.code is None else student.screen()
            assert refused.value.status == 429 and "wait a minute" in refused.value.text
        assert ana.screen()["firm"] == "OpenAI-like"  # her own code still works from the same address
        assert teacher.state()["join_code"] == join_code
        teacher.control("advance")
        csv = call_text(url, "/class/api/teacher/debrief.csv", teacher.headers)
        assert "'=HYPERLINK" in csv and "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv
        saved = json.loads((tmp_path / "classes" / f"{join_code}.json").read_text())
        assert [seat["name"] for seat in saved["seats"]] == ['=HYPERLINK("http://evil")']
        assert (tmp_path / "classes").stat().st_mode & 0o077 == 0  # codes and the secret: the owner's only


def call_text(url: str, path: str, headers: dict[str, str]) -> str:
    with urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + path, headers=headers)) as answer:
        return answer.read().decode()


def test_other_paths_under_class_are_not_found_never_the_ui(tmp_path):
    server, _ = start(tmp_path, tmp_path / "classes")
    with server as url:
        for path in ("class/nothing", "class/api/nothing", "class/static/../app.py"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + path)
            assert refused.value.code == 404
        with urllib.request.urlopen(url + "class/") as answer:  # followed: the students' page
            assert answer.url.endswith("/class") and b"Join the class" in answer.read()


def test_aisim_class_resumes_the_class_it_asks_for_and_starts_another_for_new_settings(tmp_path):
    folder = tmp_path / "classes"
    server, log = start(tmp_path, folder)
    with server:
        first, _ = teacher_of(None, log)
    server, log = start(tmp_path, folder)  # the same command again (after a crash): the same class
    with server:
        assert f"class code {first}" in log.read_text() and "started" not in log.read_text()
    log = tmp_path / "other.log"
    options = [
        "--class",
        "lecun_is_right",
        "--start-quarter",
        "4",
        "--class-quarters",
        "2",
        "--class-folder",
        str(folder),
    ]
    with serve(log, options=options):
        text = log.read_text()
        assert f"class code {first}" in text  # still listed, with its links
        started = re.findall(r"\(lecun_is_right, seed 42\) started.*?class code (\d{6})", text, flags=re.S)
        assert len(started) == 1 and started[0] != first
        assert "at 2026Q1, quarter 1 of 2 for the class" in text
