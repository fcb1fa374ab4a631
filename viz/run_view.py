"""The Run view: the main chart, the "Why?" panel and what the run has shown so far, then the
other charts by group; and presentation mode, one large chart at a time.

Charts redrawn every quarter use the canvas renderer, which redraws faster than SVG. Only
the charts on screen are built: the main one, the "Why?" bars and one group.
"""

from __future__ import annotations

import html
import json

import solara

from sim.explain import quarter_explanation
from sim.outputs import frontier_training_table, quarter_label
from viz import charts
from viz.glossary import GLOSSARY, explain
from viz.range import RangeInput
from viz.session import RunSnapshot, Session, when
from viz.vega import VegaChart

CHART_GROUPS = charts.CHART_GROUPS
SO_FAR = ("llm_spend_share", "big_muddy_spend", "first_pivot_step", "first_breakthrough_step")
"""The run measures the Run view shows as they stand."""
CHART_KEYS = [key for keys in CHART_GROUPS.values() for key in keys]
"""Every chart of a run, in the order presentation mode shows them; the first is the main chart at start."""


def chart_title(key: str) -> str:
    if key == charts.FRONTIER:
        return "Largest training run per year"
    return (charts.FIRM_CHARTS.get(key) or charts.MARKET_CHARTS[key])[0]


def Chart(spec: dict, title: str, version: int = 0, renderer: str = "svg"):
    """A chart element (see viz.vega); ``title`` names it for export and tests. Charts redrawn every
    quarter use ``renderer="canvas"``, which redraws faster than SVG."""
    spec_text = json.dumps(spec, separators=(",", ":"))
    description = spec.get("description", title)
    return VegaChart.element(spec=spec_text, title=title, version=version, renderer=renderer, description=description)


@solara.component
def Words(text: str, size: int = 12):
    """The glossary's words in ``text``, each with its meaning on hover (and for screen readers)."""
    terms = explain(text)
    if not terms:
        return
    words = " · ".join(
        f"<abbr title='{html.escape(GLOSSARY[term], quote=True)}' tabindex='0'>{html.escape(term)}</abbr>"
        for term in terms
    )
    solara.HTML(
        tag="div", unsafe_innerHTML=f"Words (hover or tab to read): {words}", style=f"font-size: {size}px; color: #444"
    )


class RunCharts:
    """The specs of one snapshot's charts. What several charts share (the breakthroughs, the frontier
    table, the time axis) is computed once per redraw, not once per chart."""

    def __init__(self, run: RunSnapshot):
        self.run = run
        environment = run.model.config.environment
        self.domain = (environment.start_year, environment.start_year + run.model.max_steps / 4.0)
        self.events = charts.breakthrough_rules(run.table)
        self.yearly = frontier_training_table(run.table, environment)

    def spec(self, key: str, size: str = "small") -> dict:
        """The spec of one chart (a key of CHART_KEYS), "small" or "large"."""
        run = self.run
        if key in charts.FIRM_CHARTS:
            return charts.firm_chart(run.table, key, run.firms, self.domain, self.events, size=size)
        if key in charts.MARKET_CHARTS:
            start = run.model.config.environment.start_year
            return charts.market_chart(run.market, key, start, self.events, self.domain, size=size, firms=run.firms)
        return charts.frontier_chart(self.yearly, size=size)


@solara.component
def RunView(session: Session, shown: str, set_shown, firm: str, set_firm, version: int):
    """The main chart beside the "Why?" panel and the run's key numbers, then one group of charts."""
    run = session.snapshot()
    specs = RunCharts(run)
    group, set_group = solara.use_state(next(iter(CHART_GROUPS)))
    titles = {chart_title(key): key for key in CHART_KEYS}
    if run.table.empty:
        solara.Info(
            "Press Step (→) or Play (space) to start the run. Before you do: the story, and a prediction "
            "to make, are under About."
        )
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "12px"}):
        with solara.Column(style={"flex": "2 1 560px", "min-width": "0"}, gap="0px"):
            solara.Select(
                "Main chart",
                value=chart_title(shown),
                values=list(titles),
                on_value=lambda title: set_shown(titles.get(title, shown)),
                dense=True,
                style={"max-width": "420px"},
            )
            if not run.table.empty:
                Chart(specs.spec(shown), chart_title(shown), version, "canvas")
                Words(chart_title(shown))
        with solara.Column(style={"flex": "1 1 320px", "min-width": "0"}, gap="4px"):
            WhyPanel(run, firm, set_firm, version)
            SoFar(session, run)
    if run.table.empty:
        return
    solara.ToggleButtonsSingle(value=group, values=list(CHART_GROUPS), on_value=set_group, dense=True)
    with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
        for key in [key for key in CHART_GROUPS.get(group, []) if key != shown]:  # the main one is above
            with solara.Column(style={"flex": "1 1 380px", "min-width": "0"}, gap="0px"):
                Chart(specs.spec(key), chart_title(key), version, "canvas")
                Words(chart_title(key))
    if not specs.yearly.empty:
        solara.Text(charts.frontier_caption(specs.yearly), style={"font-size": "13px"})


def explained_firm(firms: list[str], firm: str) -> str:
    """The firm to explain: the one chosen, or else the third (the Meta-like firm, which hedges)."""
    return firm if firm in firms else firms[min(2, len(firms) - 1)]


@solara.component
def WhyPanel(run: RunSnapshot, firm: str, set_firm, version: int):
    """Why is a firm still betting on LLMs, in any quarter so far: each term's push on its target
    share of LLM spending, in share points, and what held its choice away from the target."""
    chosen = explained_firm(run.firms, firm)
    picked, set_picked = solara.use_state(0)  # a quarter number from 1; 0 follows the latest quarter
    solara.Markdown("#### Why is it still betting on LLMs?")
    solara.Select("Firm", value=chosen, values=run.firms, on_value=set_firm, dense=True)
    if run.table.empty:
        return
    quarters = int(run.table.step.max()) + 1
    shown = picked if 1 <= picked <= quarters else quarters
    if quarters > 1:
        RangeInput.element(
            label=f"Quarter ({quarters} so far)",
            value=shown,
            min=1,
            max=quarters,
            on_value=lambda q: set_picked(0 if q >= quarters else q),
        )
    try:
        explanation = quarter_explanation(run.table, run.model.config, chosen, shown - 1)
    except ValueError as err:  # the firm is not in the market that quarter
        solara.Text(str(err), style={"font-size": "13px"})
        return
    solara.Text(
        f"{chosen} in {explanation.quarter}: its decision terms set a target of {explanation.target:.1%} of its "
        f"AI budget on LLMs; it went from {explanation.previous:.1%} to {explanation.chosen:.1%}.",
        style={"font-size": "13px"},
    )
    for line in explanation.binding:
        solara.Text(line, style={"font-size": "13px"})
    Chart(charts.drivers_chart(explanation.effects, chosen), "Why", version)
    Words(", ".join(explanation.effects))  # the terms' names


@solara.component
def SoFar(session: Session, run: RunSnapshot):
    """What the run has shown so far, and the class's prediction beside it."""
    if run.table.empty:
        return
    summary = run.model.summary(SO_FAR)
    lines = [
        f"LLM share of all AI R&D spend so far: {summary['llm_spend_share']:.0%}",
        f"Spend in the big muddy so far: ${summary['big_muddy_spend']:,.0f}B",
        f"First pivot to world models: {when(run.model, summary['first_pivot_step'])}",
        f"First world-model breakthrough: {when(run.model, summary['first_breakthrough_step'])}",
    ]
    solara.Markdown("#### So far")
    for line in lines + session.prediction.reveal(run.model):
        solara.Text(line, style={"font-size": "13px"})


@solara.component
def Presentation(session: Session, shown: str, cycle, version: int, leave):
    """One large chart at a time, in big type, for a projector: ↑ ↓ change the chart, Esc leaves."""
    run = session.snapshot()
    start = run.model.config.environment.start_year
    label = quarter_label(start + max(session.quarter - 1, 0) / 4.0)
    with solara.Row(style={"align-items": "center", "gap": "16px", "padding": "4px 8px", "flex-wrap": "wrap"}):
        solara.Text(
            f"{session.run_label}: {label if session.quarter else 'not started'}",
            style={"font-size": "26px", "font-weight": "700"},
        )
        solara.Button("Previous chart (↑)", on_click=lambda: cycle(-1), text=True)
        solara.Button("Next chart (↓)", on_click=lambda: cycle(1), text=True)
        solara.Button("Leave presentation (Esc)", on_click=leave, text=True)
    if run.table.empty:
        solara.Text("Press Space to play, → to step.", style={"font-size": "24px", "padding": "8px"})
        return
    with solara.Column(style={"padding": "0 8px"}):
        Chart(RunCharts(run).spec(shown, "large"), chart_title(shown), version, "canvas")
        Words(chart_title(shown), 18)
