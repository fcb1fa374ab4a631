"""The browser UI: run, watch, question and compare scenarios.

Serve it with ``aisim ui`` (or ``make run``); embed it in a notebook with
``from viz.app import Page; Page()``. Each browser session builds its own `Session`, so
two students never see each other's runs. An unexpected error never shows a traceback: the
page shows one line with an error id, and the server log has the traceback under that id.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import textwrap
import threading
import time

import solara

from sim.outputs import frontier_training_table, quarter_label
from viz import charts
from viz.assets import serve_installed_files_only
from viz.connection import ConnectionWatch
from viz.controls import ParameterPanel
from viz.session import BAND_SERIES, COMPARE_SEEDS, EDITED, UNCERTAINTY_SEEDS, Session
from viz.vega import VegaChart

serve_installed_files_only()  # the front-end proxy serves installed files only, never deletes or fetches

VIEWS = ["Run", "Parameters", "Uncertainty", "Compare", "Explain"]
SPEEDS = range(1, 21)
"""Play speeds the speed slider offers, in quarters per second."""
log = logging.getLogger("aisim.ui")


def report(error: BaseException) -> str:
    """Log an unexpected error with its traceback under a short id; returns the one line the page shows."""
    error_id = secrets.token_hex(3)
    log.error("unexpected error in the UI (error id %s)", error_id, exc_info=error)
    return f"Something went wrong (error id {error_id}); the server log has the details."


def Prose(text: str):
    """A scenario's text as plain prose: not Markdown, where "$1B at $3.5B" would start a formula."""
    return solara.HTML(tag="p", unsafe_innerHTML=html.escape(text), style="font-size: 13px; margin: 0 0 6px 0")


def Chart(spec: dict, title: str, version: int = 0, renderer: str = "svg"):
    """A chart element (see viz.vega); ``title`` names it for export and tests. Charts redrawn every
    quarter use ``renderer="canvas"``, which redraws faster than SVG."""
    spec_text = json.dumps(spec, separators=(",", ":"))
    return VegaChart.element(spec=spec_text, title=title, version=version, renderer=renderer)


@solara.component
def Page():
    """The app in an error boundary, and a notice over the page when it loses its server (see `viz.connection`)."""
    ConnectionWatch.element()
    Guarded()


@solara.component
def Guarded():
    """An error boundary: an error in any component or callback below, or in the Play loop, replaces
    the app with one line (see `report`) and a button back to the same session."""
    session = solara.use_memo(Session, [])
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
    speed, set_speed = solara.use_state(5)
    view, set_view = solara.use_state("Run")
    rendered = solara.use_memo(threading.Event, [])
    solara.use_effect(rendered.set, [version])  # effects run once a render is complete

    def refresh():
        set_version(lambda v: v + 1)

    def play_loop():
        """Step at the chosen speed, never faster than the page can be redrawn."""
        if not playing:
            return
        try:
            while session.model.running:
                started = time.perf_counter()
                rendered.clear()
                session.step()
                refresh()
                rendered.wait(timeout=2.0)
                time.sleep(max(0.0, 1.0 / speed - (time.perf_counter() - started)))
        except Exception as err:  # an error in this thread reaches no error boundary by itself
            fail(err)
            return
        set_playing(False)

    solara.use_thread(play_loop, dependencies=[playing, speed], intrusive_cancel=True)

    def step():
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

    def set_seed(seed: int | None):
        if seed is not None:
            session.set_seed(seed)
            refresh()

    def choose_speed(value: int):
        if value in SPEEDS:
            set_speed(value)
        else:  # the slider offers none of these: a crafted widget message
            session.message = f"The speed must be {SPEEDS[0]} to {SPEEDS[-1]} quarters per second."
            refresh()

    solara.Title("aisim: why Big Tech keeps betting on LLMs")
    with solara.Columns([1, 3], style={"padding": "8px"}):
        with solara.Column(style={"max-width": "380px"}):
            solara.Markdown("## aisim: why Big Tech keeps betting on LLMs")
            Controls(session, playing, set_playing, speed, choose_speed, step, reset, choose, set_seed, version)
        with solara.Column():
            solara.ToggleButtonsSingle(value=view, values=VIEWS, on_value=set_view)
            if view == "Run":
                RunView(session, version)
            elif view == "Parameters":
                ParameterPanel(session, refresh, version)
            elif view == "Uncertainty":
                UncertaintyView(session, refresh, version)
            elif view == "Compare":
                CompareView(session, refresh, version)
            else:
                ExplainView(session, version)


@solara.component
def Controls(session, playing, set_playing, speed, set_speed, step, reset, choose, set_seed, version):
    """Scenario picker with its story (the Info panel), seed, play/pause/step/reset, speed, export."""
    scenario = session.base
    solara.Select("Scenario", value=session.scenario_name, values=session.scenarios(), on_value=choose)
    solara.Markdown(f"### {scenario.title}")
    with solara.Details("What it is (the story)", expand=True):
        Prose(" ".join(textwrap.dedent(scenario.story).split()))
    with solara.Details("Question for you", expand=True):
        Prose(scenario.question)
    with solara.Details("Things to watch", expand=False):
        Prose(scenario.watch)
    with solara.Details("What the scenario claims", expand=False):
        for claim in scenario.claims:
            placebo = ", ".join(f"{name} = {value}" for name, value in claim.placebo.items())
            Prose(f"• {claim.text} (It must fail with {placebo}.)")
    solara.InputInt("Seed (same seed, same run)", value=session.seed, on_value=set_seed, continuous_update=False)
    if session.seed_error:
        solara.Text(f"Refused: {session.seed_error}", style={"font-size": "12px", "color": "#b00020"})
    at_end = not session.model.running
    with solara.Row():
        if playing:
            solara.Button("Pause", icon_name="mdi-pause", on_click=lambda: set_playing(False), color="primary")
        else:
            solara.Button(
                "Play", icon_name="mdi-play", on_click=lambda: set_playing(True), disabled=at_end, color="primary"
            )
        solara.Button("Step", icon_name="mdi-step-forward", on_click=step, disabled=playing or at_end)
        solara.Button("Reset", icon_name="mdi-restore", on_click=reset)
    solara.SliderInt("Speed (quarters per second)", value=speed, min=SPEEDS[0], max=SPEEDS[-1], on_value=set_speed)
    start = session.model.config.environment.start_year
    label = quarter_label(start + max(session.quarter - 1, 0) / 4.0)
    solara.Text(f"Quarter {session.quarter} of {session.steps}" + (f" ({label})" if session.quarter else ""))
    if session.message:
        solara.Error(session.message)
    if session.quarter:
        solara.FileDownload(
            session.csv,
            filename=f"aisim-{session.scenario_name}-seed{session.model.seed}.csv",
            label="Download CSV",
        )


@solara.component
def RunView(session: Session, version: int):
    """The run's charts and the 'Why?' panel for one firm this quarter, all from one snapshot of the run."""
    run = session.snapshot()
    firms, table, market = run.firms, run.table, run.market
    chosen, set_chosen = solara.use_state(firms[min(2, len(firms) - 1)])
    if chosen not in firms:
        chosen = firms[0]
    environment = run.model.config.environment
    start = environment.start_year
    domain = (start, start + run.model.max_steps / 4.0)
    events = charts.breakthrough_rules(table)
    if table.empty:
        solara.Info("Press Step or Play to start the run.")
    with solara.Row(style={"flex-wrap": "wrap"}):
        for which, (title, _) in charts.FIRM_CHARTS.items():
            Chart(charts.firm_chart(table, which, firms, domain, events), title, version, "canvas")
        for which, (title, _) in charts.MARKET_CHARTS.items():
            Chart(charts.market_chart(market, which, start, events, domain), title, version, "canvas")
        yearly = frontier_training_table(table, environment)
        Chart(charts.frontier_chart(yearly), "Frontier", version, "canvas")
    solara.Text(
        "Dashed vertical lines mark world-model breakthroughs, in the colour of the firm that made them."
        + (f" {charts.frontier_caption(yearly)}" if not yearly.empty else ""),
        style={"font-size": "13px"},
    )
    solara.Markdown("### Why is it still betting on LLMs?")
    solara.Select("Firm", value=chosen, values=firms, on_value=set_chosen)
    terms = run.drivers(chosen)
    if terms:
        quarter = table.quarter.iloc[-1]
        x = float(table[table.firm == chosen].x.iloc[-1])
        floor = run.model.config.firms[firms.index(chosen)].wm_floor
        solara.Text(f"{chosen} puts {x:.0%} of its AI budget on LLMs in {quarter}.")
        if floor >= 1.0:
            solara.Text(f"{chosen} protects its whole budget for world-model research: it does not choose.")
        else:
            if floor > 0.0:
                solara.Text(
                    f"{floor:.0%} of its budget is protected for world-model research (a firm policy); "
                    f"the terms below decide the rest, at most {1 - floor:.0%} on LLMs."
                )
            Chart(charts.drivers_chart(terms, chosen, quarter), "Why", version)


@solara.component
def UncertaintyView(session: Session, refresh, version: int):
    """The current settings over many seeds: medians and 50%/90% bands."""
    error, set_error = solara.use_state("")
    seconds, set_seconds = solara.use_state(0.0)

    def run():
        started = time.perf_counter()
        try:
            session.uncertainty(UNCERTAINTY_SEEDS)
            set_error("")
        except ValueError as err:  # invalid edits; anything else is a bug
            set_error(str(err))
        set_seconds(time.perf_counter() - started)
        refresh()

    solara.Markdown(
        f"Run the current settings (with your edits) over {UNCERTAINTY_SEEDS} seeds at once and see how much of "
        "the outcome is luck: the line is the median, the bands hold the middle 50% and 90% of the runs."
    )
    solara.Button(f"Run {UNCERTAINTY_SEEDS} seeds", on_click=run, color="primary")
    if error:
        solara.Error(error)
    if session.bands is not None:
        solara.Text(f"{session.bands.seeds} runs in {seconds:.2f} s")
        with solara.Row(style={"flex-wrap": "wrap"}):
            for series, title in BAND_SERIES.items():
                Chart(charts.band_chart(session.bands.table, series, title, session.bands.seeds), title)


@solara.component
def CompareView(session: Session, refresh, version: int):
    """Two scenarios, or this one against its edited copy, on the same seeds."""
    others = [EDITED] + [n for n in session.scenarios() if n != session.scenario_name]
    other, set_other = solara.use_state(others[0])
    error, set_error = solara.use_state("")

    def run():
        try:
            session.compare(other, COMPARE_SEEDS)
            set_error("")
        except ValueError as err:  # invalid edits; anything else is a bug
            set_error(str(err))
        refresh()

    solara.Markdown(
        f"Compare **{session.scenario_name}** (with any edits you made) with another scenario or with its unedited "
        f"file, on the same {COMPARE_SEEDS} seeds: every random shock is the same, so differences come from the "
        "parameters alone. Rows where the scenarios differ are highlighted."
    )
    solara.Select("Compare with", value=other if other in others else others[0], values=others, on_value=set_other)
    solara.Button("Run comparison", on_click=run, color="primary")
    if error:
        solara.Error(error)
    if session.comparison is not None:
        ComparisonTable(session.comparison)
        with solara.Row(style={"flex-wrap": "wrap"}):
            for name, title in (
                ("llm_spend_share", "LLM share of AI R&D spend (median)"),
                ("best_llm_quality", "Best LLM quality (median)"),
                ("best_wm_quality", "Best world-model quality (median)"),
                ("hhi", "Market concentration, HHI (median)"),
            ):
                Chart(charts.compare_chart(session.comparison_series, name, title), title)


@solara.component
def ComparisonTable(table):
    columns = [c for c in table.columns if c != "differs"]
    header = "".join(f"<th style='text-align:left;padding:4px 10px'>{c}</th>" for c in columns)
    rows = []
    for _, row in table.iterrows():
        style = "background:#fff3cd;font-weight:600" if row["differs"] else ""
        cells = "".join(f"<td style='padding:4px 10px'>{_fmt(row[c])}</td>" for c in columns)
        rows.append(f"<tr class='{'differs' if row['differs'] else 'same'}' style='{style}'>{cells}</tr>")
    solara.HTML(tag="table", unsafe_innerHTML=f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody>")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


@solara.component
def ExplainView(session: Session, version: int):
    """Which driver holds each firm on the LLM path, over the whole run and many seeds."""
    from sim.explain import term_summary

    result, set_result = solara.use_state(None)
    error, set_error = solara.use_state("")

    def run():
        try:
            set_result(term_summary(session.scenario(), range(20)))
            set_error("")
        except ValueError as err:  # invalid edits; anything else is a bug
            set_error(str(err))

    solara.Markdown(
        "Each quarter a firm's choice adds up *terms*: the expected-value comparison of the two paths and one "
        "term per driver. Here: each term's mean effect on the firm's target share of LLM spending, over the run "
        "and 20 seeds (share points; see docs/EXPLAIN.md). For what-if answers, switch drivers off in Parameters "
        "and use Compare."
    )
    solara.Button("Explain this scenario", on_click=run, color="primary")
    if error:
        solara.Error(error)
    if result is not None:
        Chart(charts.attribution_chart(result), "Attribution")
