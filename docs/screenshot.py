"""Refresh the README's screenshot of the UI: `.venv/bin/python docs/screenshot.py`.

Serves the UI, runs the LeCun-is-right scenario for 36 quarters (seed 42) so that charts,
breakthrough markers and the 'Why?' panel show, at projector size (1280x720), and saves
docs/screenshot.png.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from viz.browser import launch, open_app, serve

OUTPUT = Path(__file__).resolve().parent / "screenshot.png"
QUARTERS = 36


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, serve(Path(folder) / "server.log") as url, sync_playwright() as pw:
        browser = launch(pw)
        page = open_app(browser, url + "?scenario=lecun_is_right&seed=42", width=1280, height=720)
        page.get_by_text("Run: lecun_is_right, seed 42").wait_for(timeout=30_000)
        for _ in range(QUARTERS):
            page.get_by_role("button", name="Step").click()
        page.get_by_text(f"Quarter {QUARTERS} of 40").wait_for(timeout=60_000)
        page.wait_for_function(
            "() => document.querySelectorAll('figure.aisim-chart [data-drawn]').length >= 5", timeout=30_000
        )
        page.wait_for_timeout(800)
        page.screenshot(path=str(OUTPUT), full_page=False)
        browser.close()
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
