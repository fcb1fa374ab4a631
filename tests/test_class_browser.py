"""Class mode in headless Chromium, one browser context per participant: a teacher and three students
play four quarters over the network (`aisim class` on 127.0.0.1), one student reloading mid-quarter."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("solara")
sync_api = pytest.importorskip("playwright.sync_api")

from sim.classroom import ClassSession  # noqa: E402
from viz.browser import axe_violations, chromium_path, launch, open_app, serve  # noqa: E402

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (.ci/run installs it)")
WAIT = 30_000
HIDDEN = ("llm_ceiling", "wm_difficulty", "llm_payback", "value_llm", "value_wm", "term_")
"""Names that must never reach a student's browser: the hidden quantities and the model's own reasons."""


def class_server(tmp_path, *options):
    log = tmp_path / "server.log"
    folder = tmp_path / "classes"
    command = ["--class", "baseline", "--class-quarters", "6", "--class-folder", str(folder), *options]
    return serve(log, options=command), log, folder


def links(log) -> tuple[str, str]:
    text = log.read_text()
    return re.search(r"class code (\d{6})", text).group(1), re.search(r"your screen\s+(\S+)", text).group(1)


def test_a_teacher_and_three_students_play_four_quarters(tmp_path):
    server, log, folder = class_server(tmp_path, "--quarter-seconds", "600")
    with server as url, sync_api.sync_playwright() as playwright:
        join_code, teacher_link = links(log)
        browser = launch(playwright)
        teacher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        teacher.on("dialog", lambda dialog: dialog.accept())  # "The game is not over: reveal ...?"
        teacher.goto(teacher_link)
        teacher.get_by_text(join_code).wait_for(timeout=WAIT)
        assert "secret" not in teacher.url  # taken off the address bar the class sees on the projector

        wire: list[str] = []  # every answer a student's browser received
        students = []
        for name in ("Ana", "Ben", "Chloé"):
            context = browser.new_context(viewport={"width": 420, "height": 900})  # a phone
            page = context.new_page()
            page.on("response", lambda r: wire.append(r.text()) if "/class/api/" in r.url else None)
            page.on("websocket", lambda ws: pytest.fail(f"a student's page opened a WebSocket: {ws.url}"))
            page.goto(url + "class")
            page.get_by_label("Class code").fill(join_code)
            page.get_by_label("Your name").fill(name)
            page.get_by_role("button", name="Join", exact=True).click()
            page.get_by_text("You run").wait_for(timeout=WAIT)
            students.append(page)
        firms = [page.locator("#firm-line").inner_text() for page in students]
        assert firms == ["You run OpenAI-like", "You run Google-like", "You run Meta-like"]
        teacher.get_by_text("Chloé").wait_for(timeout=WAIT)
        teacher.get_by_role("button", name="Start").click()

        targets = {0: (0.9, 0.6, 0.5), 1: (0.7, 0.4, 0.5), 2: (0.5, 0.3, 0.45), 3: (0.3, 0.2, 0.4)}
        for quarter, chosen in targets.items():
            for i, (page, name, x) in enumerate(zip(students, ("Ana", "Ben", "Chloé"), chosen, strict=True)):
                if quarter == 1 and i == 1:  # Ben hands in, reloads mid-quarter, rejoins and changes his mind
                    page.locator("#target").fill("0.55")
                    page.get_by_role("button", name="Hand in").click()
                    page.get_by_text("Handed in by Ben: 55%").wait_for(timeout=WAIT)
                    page.reload()
                    page.get_by_text("You run Google-like").wait_for(timeout=WAIT)
                    page.get_by_text("Handed in by Ben: 55%").wait_for(timeout=WAIT)  # kept on the server
                page.locator("#target").fill(str(x))
                page.get_by_role("button", name="Hand in").click()
                if i < 2:  # the last one's runs the quarter at once: the next quarter's screen may come first
                    page.get_by_text(f"Handed in by {name}: {round(100 * x)}%").wait_for(timeout=WAIT)
            for page in students:  # everyone handed in: the quarter runs at once
                page.get_by_text(f"({quarter + 2} of 6)").wait_for(timeout=WAIT)

        # A student cannot run the quarter, see the teacher's view or act for another firm
        ana = students[0]
        answers = ana.evaluate(
            """async () => {
                const post = (path, body, headers) => fetch(path, {method: "POST", headers: {"content-type":
                    "application/json", ...headers}, body: JSON.stringify(body)}).then(r => r.status);
                return [
                    await post("/class/api/teacher/advance", {}, {}),
                    await post("/class/api/teacher/advance", {}, {"x-teacher-secret": localStorage.getItem(
                        "aisim-class-personal-code")}),
                    await fetch("/class/api/teacher").then(r => r.status),
                    await post("/class/api/decide", {x: 0.1, firm: "Google-like"}, {"x-personal-code": "AAAAA-AAAAA"}),
                ];
            }"""
        )
        assert answers == [400, 400, 400, 400]
        ana.locator("#target").fill("0.25")  # with her own code, "firm" in the body is ignored: her own firm
        ana.evaluate(
            """() => fetch("/class/api/decide", {method: "POST", headers: {"content-type": "application/json",
                "x-personal-code": localStorage.getItem("aisim-class-personal-code")},
                body: JSON.stringify({x: 0.25, firm: "Google-like"})})"""
        )
        students[1].reload()
        students[1].get_by_text("You run Google-like").wait_for(timeout=WAIT)
        assert "Not handed in yet" in students[1].locator("#handed-in").inner_text()
        teacher.get_by_text("Quarter 2026Q1 (5 of 6)").wait_for(timeout=WAIT)  # nobody could run it but the teacher

        # The decisions reached the model: the saved session replays them
        session = ClassSession.load(next(folder.glob("*.json")), autosave=False)
        assert session.model.quarter == 4
        table = session.model.firm_dataframe().set_index(["firm", "step"])
        for quarter, chosen in targets.items():
            for firm, x in zip(("OpenAI-like", "Google-like", "Meta-like"), chosen, strict=True):
                assert table.x_target[(firm, quarter)] == pytest.approx(x)
        assert set(session.pending) == {"OpenAI-like"} and session.pending["OpenAI-like"].x == 0.25
        amazon = table.x.xs("Amazon-like", level="firm")  # no student: the model's own rule moves it
        assert amazon.nunique() > 1 and session.model.agents[4].policy_name == "biased"
        assert "the model's own rule" in teacher.locator("#teams").inner_text()

        # The debrief shows each student's decisions
        teacher.get_by_role("button", name="Show the debrief").click()
        debrief = teacher.locator("#debrief-table")
        debrief.get_by_text("Chloé").first.wait_for(timeout=WAIT)
        text = debrief.inner_text()
        for name in ("Ana", "Ben", "Chloé"):
            assert text.count(name) == 4
        rows = [line for line in text.splitlines() if "Ben" in line]
        assert "40%" in rows[1] and "55%" not in rows[1]  # his last word in quarter 1 counts, not his first

        # Nothing hidden ever reached a student's browser
        assert wire, "no API answers recorded"
        for answer in wire:
            lowered = answer.lower()
            for word in HIDDEN:
                assert word not in lowered, (word, answer[:200])
            assert session.teacher_secret not in answer
        teacher.get_by_role("button", name="Reveal the hidden truth").click()
        teacher.get_by_text("the true LLM ceiling is").wait_for(timeout=WAIT)
        for page in (teacher, students[0]):
            assert axe_violations(page) == []
        browser.close()


def test_a_teacher_starts_a_class_from_the_ui_and_a_student_joins(tmp_path):
    server, _, folder = class_server(tmp_path)
    with server as url, sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        page = open_app(browser, url)
        page.get_by_role("button", name="Class", exact=True).click()
        page.get_by_text("This server listens on this machine only").wait_for(timeout=WAIT)  # told, not hidden
        page.get_by_role("button", name="Start a class session").click()
        code = page.locator("p", has_text=re.compile(r"^\d{6}$")).inner_text()
        assert (folder / f"{code}.json").exists()
        with page.context.expect_page() as opened:
            page.get_by_role("link", name="Open the teacher's screen").click()
        teacher = opened.value
        teacher.get_by_text(code).wait_for(timeout=WAIT)
        student = browser.new_context().new_page()
        student.goto(url + "class")
        student.get_by_label("Class code").fill(code)
        student.get_by_label("Your name").fill("Dana")
        student.get_by_role("button", name="Join", exact=True).click()
        student.get_by_text("You run OpenAI-like").wait_for(timeout=WAIT)
        teacher.get_by_text("Dana").wait_for(timeout=WAIT)
        teacher.on("dialog", lambda dialog: dialog.accept())  # "Remove Dana from the class?"
        teacher.get_by_role("button", name="Remove Dana").click()
        student.get_by_text("your teacher took this seat out").wait_for(timeout=WAIT)  # back to the join form
        assert student.get_by_label("Class code").is_visible()
        browser.close()
