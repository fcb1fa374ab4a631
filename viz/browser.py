"""Serving the UI and driving it in headless Chromium: for browser tests, benchmarks and screenshots.

Uses Debian's Chromium (``apt-get install chromium``) through Playwright; never
``playwright install``, which downloads a browser and fails without internet.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from sim.processes import die_with_parent
from viz.assets import TEST_PACKAGES

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = (TEST_PACKAGES[0], "axe.min.js")
"""The accessibility checker's script: a test package `viz.assets` installs."""
VEGA_SCRIPTS = (
    "vega@5/build/vega.min.js",
    "vega-lite@5/build/vega-lite.min.js",
    "vega-embed@6/build/vega-embed.min.js",
)
"""The page's chart scripts, in the order a plain page loads them (see `render_chart`)."""
FAILED_ASSET = "Could not load URL"
"""What Solara's server logs for every front-end file it could not serve."""


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def launch(playwright):
    """A headless Chromium browser."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve(
    log: Path,
    port: int | None = None,
    timeout: float = 90.0,
    options: Sequence[str] = (),
    command: Sequence[str] = (sys.executable, "-m", "viz"),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    started: Callable[[subprocess.Popen], None] | None = None,
) -> Iterator[str]:
    """Run the UI server until the block ends; yields its URL on 127.0.0.1. Output goes to ``log``;
    ``options`` go to ``command`` (``python -m viz`` by default, or e.g. an installed ``aisim ui``) after
    ``--port``, e.g. ``--host 0.0.0.0``; ``env`` replaces this process's environment; ``started`` gets the
    server's process (to measure it, or kill it)."""
    port = port or free_port()
    env = {**(os.environ if env is None else env), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            preexec_fn=functools.partial(die_with_parent, os.getpid(), signal.SIGTERM),  # no orphan if tests die
        )
        if started is not None:
            started(process)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"UI server exited: {log.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(url + "readyz", timeout=2) as answer:
                        if b'"ok"' in answer.read():
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("UI server did not become ready")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def open_app(browser, url: str, width: int = 1500, height: int = 1100, watch=None):
    """A new browser context (a new user) on the app, once the page is ready.

    ``watch(page)`` is called before the page loads, to attach event handlers.
    """
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    if watch is not None:
        watch(page)
    page.goto(url)
    page.get_by_text("Quarter 0 of").wait_for(timeout=60_000)
    return page


def choose(page, label: str, option: str) -> None:
    """Pick an option of one of the UI's drop-down selects."""
    page.get_by_label(label).locator("xpath=ancestor::div[contains(@class,'v-field')][1]").click()
    page.get_by_role("option", name=option, exact=True).click()


def axe_violations(page, impacts: Sequence[str] = ("serious", "critical"), context=None) -> list[dict]:
    """Run axe-core (installed by `viz.assets`, injected from disk: no network) on the page, or on
    the part of it a CSS selector ``context`` names; the violations of these impacts, each as
    ``{"id", "impact", "help", "targets"}`` (``targets``: a CSS selector per offending node)."""
    from viz.assets import test_asset

    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(test_asset(*AXE)))
    result = page.evaluate("context => window.axe.run(context || document)", context)
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


def render_chart(page, spec: dict, width: int = 640, renderer: str = "svg") -> None:
    """Draw a Vega-Lite spec on a plain page, as the UI does, from the installed front-end files
    (no server): in ``div#chart`` of the given width. Waits until it is drawn."""
    from viz.assets import cdn_folder

    page.set_content(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>chart</title></head>'
        f'<body><main><div id="chart" style="width: {int(width)}px"></div></main></body></html>'
    )
    for script in VEGA_SCRIPTS:
        page.add_script_tag(path=str(cdn_folder() / script))
    page.evaluate(
        """async ([spec, renderer]) => {
            const result = await vegaEmbed('#chart', spec, {renderer, actions: false});
            window.chartView = result.view;
        }""",
        [spec, renderer],
    )
