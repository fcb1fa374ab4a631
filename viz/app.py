"""The browser UI: run, watch, question and compare scenarios, in front of a class.

Serve it with ``aisim ui`` (or ``make run``); embed it in a notebook with
``from viz.app import Page; Page()``. Each browser session builds its own `Session`, so
two students never see each other's runs. The page's address carries the run (scenario,
seed, edits): copy it to share a setup, reload it to get the same run back. An unexpected
error never shows a traceback: the page shows one line with an error id, and the server log
has the traceback under that id.

The bar at the top holds the controls; the views below are tabs: Run (the main chart, the
"Why?" panel and the other charts by group), About (the scenario's story, a prediction to
make before the run, things to try), Parameters, Uncertainty, Compare, Explain, Strategies (a
tournament of firm policies), Class (start a class session: every student runs a firm) and Glossary.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import solara

from sim.outputs import quarter_label
from viz.analysis import CompareView, ExplainView, StrategiesView, UncertaintyView
from viz.assets import serve_installed_files_only
from viz.class_view import ClassView
from viz.connection import ConnectionWatch
from viz.controls import ParameterPanel
from viz.keys import KeyboardShortcuts, presses_since
from viz.pages import AboutView, GlossaryView
from viz.run_view import CHART_KEYS, Presentation, RunView
from viz.session import DEFAULT_SCENARIO, DEFAULT_SEED, Session, address_query

serve_installed_files_only()  # the front-end proxy serves installed files only, never deletes or fetches

DEFAULT_QUERY = address_query(DEFAULT_SCENARIO, DEFAULT_SEED)
"""The address query of the run a bare address opens."""
VIEWS = ["Run", "About", "Parameters", "Uncertainty", "Compare", "Explain", "Strategies", "Class", "Glossary"]
SPEEDS = {"1 per second": 1, "2 per second": 2, "5 per second": 5, "10 per second": 10, "20 per second": 20}
"""Play speeds offered, in quarters per second."""
BAR_STYLE = {
    "position": "sticky",
    "top": "0",
    "z-index": "5",
    "background": "white",
    "border-bottom": "1px solid #ccc",
    "padding": "4px 8px 0 8px",
    "align-items": "center",
    "flex-wrap": "wrap",
    "gap": "6px 12px",
}
PAGE_STYLE = """
.v-field-label, .v-label { opacity: 1 !important; color: rgba(0, 0, 0, 0.78) !important; }
"""
"""Vuetify draws field labels at 70% opacity, under the 4.5:1 contrast text needs."""
log = logging.getLogger("aisim.ui")


def report(error: BaseException) -> str:
    """Log an unexpected error with its traceback under a short id; returns the one line the page shows."""
    error_id = secrets.token_hex(3)
    log.error("unexpected error in the UI (error id %s)", error_id, exc_info=error)
    return f"Something went wrong (error id {error_id}); the server log has the details."


@solara.component
def Page():
    """The app in an error boundary, and a notice over the page when it loses its server (see `viz.connection`)."""
    ConnectionWatch.element()
    Guarded()


@solara.component
def Guarded():
    """An error boundary: an error in any component or callback below, or in the Play loop, replaces
    the app with one line (see `report`) and a button back to the same session. The session starts
    from the page's address (``?scenario=...&seed=...&set=...``)."""
    router = solara.use_router()
    session = solara.use_memo(lambda: Session.from_query(router.search), [])
    error, clear = solara.use_exception()
    failure, set_failure = solara.use_state(None)
    problem = error or failure
    message = solara.use_memo(lambda: report(problem) if problem is not None else "", [problem])
    if problem is None:
        App(session, set_failure)
        return

    def resume():
        set_failure(None)
        clear()

    solara.Error(message)
    solara.Button("Back to the model", on_click=resume)


@solara.component
def App(session: Session, fail):
    """The whole page; ``fail(error)`` reports an error raised in the Play loop's thread."""
    version, set_version = solara.use_state(0)
    playing, set_playing = solara.use_state(False)
    speed, set_speed = solara.use_state(10)
    view, set_view = solara.use_state("Run")
    presenting, set_presenting = solara.use_state(False)
    shown, set_shown = solara.use_state(CHART_KEYS[0])  # the main chart, and the one presented
    firm, set_firm = solara.use_state("")  # the firm "Why?" and Explain explain ("": the default one)
    rendered = solara.use_memo(threading.Event, [])
    seen_keys = solara.use_memo(dict, [])  # presses of each shortcut handled so far
    router = solara.use_router()
    solara.use_effect(rendered.set, [version])  # effects run once a render is complete

    def follow_address():
        """Keep the page's address in step with the run being watched, so that it can be shared (a page
        in a notebook has no address of its own). A bare address is left alone while it still holds
        the run (the default one): changing it as the page opens re-rendered the page under a student
        typing a seed."""
        query = session.query()
        if router.set_path is not None and query != (router.search or DEFAULT_QUERY):
            router.push(f"{router.path}?{query}")

    solara.use_effect(follow_address, [id(session.model)])

    def refresh():
        set_version(lambda v: v + 1)

    def play_loop(cancel: threading.Event):
        """Step at the chosen speed, never faster than the page can be redrawn, until paused (or the
        speed changes: a new loop takes over). The loop checks ``cancel`` itself: Solara's
        "intrusive" cancelling traces every line the thread runs, which halved the Play rate."""
        if not playing:
            return
        model = session.model  # Reset, a new scenario or a loaded file replace it: then the loop stops
        try:
            while model.running and not cancel.is_set():
                started = time.perf_counter()
                rendered.clear()
                if not session.step(model):
                    break
                refresh()
                rendered.wait(timeout=2.0)
                cancel.wait(max(0.0, 1.0 / speed - (time.perf_counter() - started)))
        except Exception as err:  # an error in this thread reaches no error boundary by itself
            fail(err)
            return
        if not cancel.is_set():
            set_playing(False)

    solara.use_thread(play_loop, dependencies=[playing, speed], intrusive_cancel=False)

    def step():
        if not playing:
            session.step()
            refresh()

    def reset():
        set_playing(False)
        session.reset()
        refresh()

    def choose(name: str):
        set_playing(False)
        session.choose(name)
        refresh()

    def apply(changes: dict):
        set_playing(False)
        session.apply(changes)
        set_view("Run")
        refresh()

    def set_seed(seed: int | None):
        if seed is not None:
            session.set_seed(seed)
            refresh()

    def choose_speed(name: str):
        if name in SPEEDS:
            set_speed(SPEEDS[name])
        else:  # the select offers none of these: a crafted widget message
            session.message = f"The speed must be one of: {', '.join(SPEEDS)}."
            refresh()

    def cycle(by: int):
        set_shown(CHART_KEYS[(CHART_KEYS.index(shown) + by) % len(CHART_KEYS)])

    def on_key(pressed: str):
        action, times = presses_since(pressed, seen_keys)
        if not times:
            return
        if action == "play" and times % 2:
            set_playing(lambda now: not now and session.model.running)
        elif action == "step":
            for _ in range(times):
                step()
        elif action == "reset":
            reset()
        elif action == "present" and times % 2:
            set_presenting(lambda now: not now)
        elif action == "leave":
            set_presenting(False)
        elif presenting and action in ("next", "previous"):
            cycle(times if action == "next" else -times)

    KeyboardShortcuts.element(on_pressed=on_key)
    solara.Style(PAGE_STYLE)
    solara.Title(f"aisim: {session.run_label}")
    Bar(session, playing, set_playing, speed, choose_speed, step, reset, choose, set_seed, version)
    if presenting:
        Presentation(session, shown, cycle, version, leave=lambda: set_presenting(False))
        return
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "padding": "0 8px"}):
        solara.ToggleButtonsSingle(value=view, values=VIEWS, on_value=set_view, dense=True)
        solara.Button("Present", icon_name="mdi-projector-screen", text=True, on_click=lambda: set_presenting(True))
    with solara.Column(style={"padding": "0 8px"}):
        if view == "Run":
            RunView(session, shown, set_shown, firm, set_firm, version)
        elif view == "About":
            AboutView(session, apply, refresh, version)
        elif view == "Parameters":
            ParameterPanel(session, refresh, version)
        elif view == "Uncertainty":
            UncertaintyView(session, refresh, version)
        elif view == "Compare":
            CompareView(session, refresh, version)
        elif view == "Explain":
            ExplainView(session, firm, set_firm, version)
        elif view == "Strategies":
            StrategiesView()
        elif view == "Class":
            ClassView(session)
        else:
            GlossaryView()


@solara.component
def Bar(session: Session, playing, set_playing, speed, choose_speed, step, reset, choose, set_seed, version):
    """The controls, always on screen: scenario, seed, play, step, reset, speed, the quarter; under them,
    what the run is, what Reset would change, and a way back to the scenario's file."""

    def discard():
        set_playing(False)
        session.discard_edits()
        reset()

    at_end = not session.model.running
    start = session.model.config.environment.start_year
    label = quarter_label(start + max(session.quarter - 1, 0) / 4.0)
    pending = session.pending()
    with solara.Row(style=BAR_STYLE):
        solara.Text("aisim", style={"font-weight": "700", "font-size": "18px"})
        solara.Select(
            "Scenario",
            value=session.scenario_name,
            values=session.scenarios(),
            on_value=choose,
            style={"width": "220px"},
        )
        with solara.Column(style={"width": "150px"}):
            solara.InputInt("Seed", value=session.seed, on_value=set_seed, continuous_update=False)
        if playing:
            solara.Button("Pause", icon_name="mdi-pause", on_click=lambda: set_playing(False), color="primary")
        else:
            solara.Button(
                "Play", icon_name="mdi-play", on_click=lambda: set_playing(True), disabled=at_end, color="primary"
            )
        solara.Button("Step", icon_name="mdi-step-forward", on_click=step, disabled=playing or at_end)
        solara.Button("Reset", icon_name="mdi-restore", on_click=reset, color="warning" if pending else None)
        speed_name = next(name for name, value in SPEEDS.items() if value == speed)
        solara.Select(
            "Speed (quarters)",
            value=speed_name,
            values=list(SPEEDS),
            on_value=choose_speed,
            style={"width": "150px"},
        )
        solara.Text(
            f"Quarter {session.quarter} of {session.steps}" + (f" ({label})" if session.quarter else ""),
            style={"font-size": "16px", "font-weight": "600"},
        )
    with solara.Row(style={"padding": "2px 8px", "gap": "12px", "flex-wrap": "wrap", "font-size": "13px"}):
        solara.Text(f"Run: {session.run_label}, seed {session.model.seed}")
        if pending:
            solara.Text(
                f"Press Reset to apply: {', '.join(pending)}.",
                style={"color": "#8a4b00", "font-weight": "600"},
                classes=["aisim-pending"],
            )
        if session.is_edited() or session.applied_edits():
            solara.Button("Back to the file", icon_name="mdi-undo", text=True, small=True, on_click=discard)
        if session.seed_error:
            solara.Text(f"Refused: {session.seed_error}", style={"color": "#b00020"})
        if session.quarter:
            solara.FileDownload(
                session.csv,
                filename=session.csv_name,
                children=[solara.Button("Download CSV", icon_name="mdi-download", text=True, small=True)],
            )
    if session.message:
        solara.Error(session.message)
