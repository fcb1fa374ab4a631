"""Refresh the README's pictures of class mode: `.venv/bin/python docs/class_screenshot.py`.

Serves `aisim class lecun_is_right --start-quarter 12` with seven students in headless Chromium, plays
four quarters, and saves the teacher's screen at projector size (1280x720) as docs/class_teacher.png
and a student's phone screen (390 wide) as docs/class_student.png.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from viz.browser import launch, serve

DOCS = Path(__file__).resolve().parent
STUDENTS = ("Ana", "Ben", "Chloé", "Dev", "Eli", "Fay", "Gus")
QUARTERS = 4


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as pw:
        log = Path(folder) / "server.log"
        options = ["--class", "lecun_is_right", "--start-quarter", "12", "--class-quarters", "20"]
        with serve(log, options=[*options, "--class-folder", folder, "--quarter-seconds", "90"]) as url:
            text = log.read_text()
            code = re.search(r"class code (\d{6})", text).group(1)
            browser = launch(pw)
            teacher = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            teacher.goto(re.search(r"your screen\s+(\S+)", text).group(1))
            teacher.get_by_text(code).wait_for(timeout=30_000)
            students = []
            for name in STUDENTS:
                page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                page.goto(url + "class")
                page.get_by_label("Class code").fill(code)
                page.get_by_label("Your name").fill(name)
                page.get_by_role("button", name="Join", exact=True).click()
                page.get_by_text("You run").wait_for(timeout=30_000)
                students.append(page)
            teacher.get_by_role("button", name="Start").click()
            for quarter in range(QUARTERS):
                for i, page in enumerate(students[: len(students) - (quarter == QUARTERS - 1) * 3]):
                    page.locator("#target").fill(str(round(max(0.2, 0.95 - 0.12 * quarter - 0.04 * i), 2)))
                    page.get_by_role("button", name="Hand in").click()
                if quarter < QUARTERS - 1:  # the last quarter stays open: some have handed in, some not
                    students[0].get_by_text(f"({quarter + 2} of 20)").wait_for(timeout=30_000)
            teacher.wait_for_timeout(2000)
            teacher.evaluate("window.scrollTo(0, 0)")
            teacher.screenshot(path=str(DOCS / "class_teacher.png"))
            students[1].wait_for_timeout(6000)  # after the "new quarter" notice has gone
            students[1].screenshot(path=str(DOCS / "class_student.png"), full_page=True)
            browser.close()
    print(f"wrote {DOCS / 'class_teacher.png'} and {DOCS / 'class_student.png'}")


if __name__ == "__main__":
    main()
