"""The package as a user gets it: a wheel built from this checkout, installed with its ``ui`` extra into
a fresh virtual environment, and used only through that environment's ``aisim`` command, from a folder
outside the checkout, with no PYTHONPATH.

Needs what CI has: pip's indexes (PyPI) for the dependencies, and the npm registry, from which
``aisim ui`` downloads its front-end files on its first start (about 50 MB; the one test of that
download against the real registry). About 1-2 minutes. Select it with ``-m wheel``, leave it out with
``-m "not wheel"``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

import sim
from tests.helpers import children_of, is_alive
from viz.assets import MANIFEST
from viz.browser import FAILED_ASSET, chromium_path, launch, open_app, serve

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "ai-race-sim"
pytestmark = pytest.mark.wheel


def clean_environment() -> dict[str, str]:
    """This process's environment without what would make the fresh one use this checkout, this virtual
    environment or other front-end files."""
    dropped = {"PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "VIRTUAL_ENV", "AISIM_UI_ASSETS", "AISIM_UI_TOKEN"}
    return {name: value for name, value in os.environ.items() if name not in dropped and not name.startswith("SOLARA_")}


def run(command: list, cwd: Path, timeout: float = 120) -> str:
    """Run ``command`` in the clean environment; its output, or a failure that shows it."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def installed():
    """``(venv, work)``: a fresh virtual environment holding the wheel and its ``ui`` extra, and a work
    folder outside the checkout. Deleted afterwards (about 1 GB)."""
    with tempfile.TemporaryDirectory(prefix="aisim-wheel-") as name:
        work = Path(name)
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", work / "dist", ROOT], work)
        [wheel] = (work / "dist").glob("ai_race_sim-*.whl")
        venv = work / "venv"
        run([sys.executable, "-m", "venv", "--without-pip", venv], work)
        # This pip installs into the fresh environment (--python): the same resolution as the user's pip,
        # without installing pip there; --no-compile skips writing bytecode for ~1 GB (about 50 s here).
        install = ["install", "--quiet", "--no-compile", f"{wheel}[ui]"]
        run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", *install], work, timeout=900)
        yield venv, work


def test_the_wheel_installs_its_own_packages_under_the_new_name(installed):
    venv, work = installed
    code = "import importlib.metadata as m, sim, viz; print(sim.__file__, viz.__file__, m.version('ai-race-sim'))"
    sim_file, viz_file, version = run([venv / "bin" / "python", "-c", code], work).split()
    assert Path(sim_file).is_relative_to(venv) and Path(viz_file).is_relative_to(venv)
    assert version == sim.__version__
    assert run([venv / "bin" / "aisim", "--version"], work) == f"aisim {sim.__version__}\n"
    assert "lecun_is_right" in run([venv / "bin" / "aisim", "scenarios"], work)  # the bundled scenario files


def test_a_bundled_sweep_runs_by_name(installed):
    venv, work = installed
    out = work / "quick"
    run([venv / "bin" / "aisim", "sweep", "quick", "--out", out, "--quiet"], work)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["aisim_version"] == sim.__version__
    chunks = sorted((out / "runs").glob("*.parquet"))
    assert chunks and sum(len(pd.read_parquet(chunk)) for chunk in chunks) == manifest["runs"] == 240


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (.ci/run installs it)")
def test_aisim_ui_fetches_its_front_end_on_first_start_and_every_asset_loads(installed):
    sync_api = pytest.importorskip("playwright.sync_api")
    venv, work = installed
    folder = venv / "share" / "solara" / "cdn"
    assert not list(folder.rglob(MANIFEST)), "the fresh environment already has front-end files"
    log = work / "ui.log"
    problems: list[str] = []

    def record(page):
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)

    aisim = str(venv / "bin" / "aisim")
    with serve(log, timeout=300, command=[aisim, "ui"], env=clean_environment(), cwd=work) as url:
        started = log.read_text()
        assert "aisim ui: first start: the browser's front-end files (" in started, started[-3000:]
        assert f"are not in {folder} yet; downloading them, once" in started
        assert "installed vega@5 (5." in started and "installed katex@" in started
        [process] = [pid for pid in children_of(os.getpid()) if aisim in Path(f"/proc/{pid}/cmdline").read_text()]
        [server] = children_of(process)
        with sync_api.sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                page = open_app(browser, url, watch=record)
                page.get_by_role("button", name="Step").click()
                page.get_by_text("Quarter 1 of 40").wait_for(timeout=60_000)
                drawn = "n => document.querySelectorAll('figure.aisim-chart [data-drawn]').length >= n"
                page.wait_for_function(drawn, arg=5, timeout=60_000)  # the charts: Vega from the downloaded files
            finally:
                browser.close()
    assert problems == []
    assert FAILED_ASSET not in log.read_text()
    assert list(folder.rglob(MANIFEST)), "nothing was installed into the environment's front-end folder"
    deadline = time.monotonic() + 20
    while is_alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_alive(server), "the server outlived aisim ui"
