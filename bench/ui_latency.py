"""The browser UI's responsiveness, measured in headless Chromium.

- time from a Step click until every chart on the Run view (the main chart, the "Why?" bars
  and one group of charts) has redrawn with the new quarter (median over 30 steps; goal
  < 100 ms at 5 firms), at projector size (1280x720): measured in the page (from the click
  event to the last chart's redraw, on the page's clock: what a user sees) and from
  Playwright (which adds its own click and polling, an upper bound)
- the same round trip with no chart on screen (the Glossary view: the quarter's text only),
  the floor that the server, the websocket and the browser set before any chart is drawn
- quarters per second reached in Play at the top speed setting (goal >= 10), on a
  200-quarter run so that the run does not end while it is measured

Run: `.venv/bin/python bench/ui_latency.py`
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from viz.browser import choose, launch, open_app, serve

CHARTS = "figure.aisim-chart [data-version]"
CLICK_CLOCK = "document.addEventListener('click', () => { window.aisimClickAt = performance.now(); }, true);"
IN_PAGE = "s => Math.max(...[...document.querySelectorAll(s)].map(e => Number(e.dataset.drawn))) - window.aisimClickAt"
REDRAWN = "([selector, v]) => [...document.querySelectorAll(selector)].every(e => Number(e.dataset.version) > v)"
STEPS = 30


def quarter(page) -> int:
    text = page.get_by_text(re.compile(r"^Quarter \d+ of")).inner_text()
    return int(text.split()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, serve(Path(folder) / "server.log") as url, sync_playwright() as pw:
        browser = launch(pw)
        page = open_app(browser, url, width=1280, height=720, watch=lambda page: page.add_init_script(CLICK_CLOCK))
        step = page.get_by_role("button", name="Step")
        page.get_by_role("button", name="Glossary").click()
        floor = []
        for quarter_number in range(1, STEPS + 1):
            start = time.perf_counter()
            step.click()
            page.get_by_text(f"Quarter {quarter_number} of").wait_for(timeout=30_000)
            floor.append((time.perf_counter() - start) * 1000)
        page.get_by_role("button", name="Reset").click()
        page.get_by_role("button", name="Run", exact=True).click()
        step.click()
        page.wait_for_function(f"() => document.querySelectorAll('{CHARTS}').length >= 5", timeout=30_000)
        charts = len(page.query_selector_all(CHARTS))
        latencies, in_page = [], []
        for _ in range(STEPS):
            version = max(int(v) for v in page.eval_on_selector_all(CHARTS, "n => n.map(e => e.dataset.version)"))
            start = time.perf_counter()
            step.click()
            page.wait_for_function(REDRAWN, arg=[CHARTS, version], timeout=30_000)
            latencies.append((time.perf_counter() - start) * 1000)
            in_page.append(page.evaluate(IN_PAGE, CHARTS))
        page.get_by_role("button", name="Parameters").click()
        choose(page, "Group", "Time")
        steps = page.get_by_label("steps (quarters)", exact=True)
        steps.fill("200")
        steps.press("Enter")
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("Quarter 0 of 200").wait_for(timeout=30_000)
        page.get_by_role("button", name="Run", exact=True).click()
        choose(page, "Speed (quarters)", "20 per second")  # the top speed setting
        page.get_by_role("button", name="Play").click()
        while quarter(page) < 2:  # the loop is running
            time.sleep(0.05)
        started, first = time.perf_counter(), quarter(page)
        time.sleep(3.0)
        elapsed, last = time.perf_counter() - started, quarter(page)
        page.get_by_role("button", name="Pause").click()
        browser.close()
    print(
        f"step_to_redraw_ms_median_in_page: {statistics.median(in_page):.0f}  "
        f"(goal < 100; {STEPS} steps, 5 firms, {charts} charts; p90 {statistics.quantiles(in_page, n=10)[-1]:.0f})"
    )
    print(
        f"step_to_redraw_ms_median_playwright: {statistics.median(latencies):.0f}  "
        f"(p90 {statistics.quantiles(latencies, n=10)[-1]:.0f}; with Playwright's click and polling)"
    )
    print(f"round_trip_ms_median_no_chart: {statistics.median(floor):.0f}  (Playwright; the floor)")
    print(f"play_quarters_per_second: {(last - first) / elapsed:.1f}  (goal >= 10; top speed setting 20)")


if __name__ == "__main__":
    main()
