"""The About view (the scenario's story, a prediction to make, things to try, the scenario as a
file) and the Glossary view. In the spirit of NetLogo's Info tab: what it is, how it works,
things to notice, things to try."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable

import solara

from sim.outputs import quarter_label
from viz.glossary import GLOSSARY
from viz.keys import SHORTCUTS
from viz.range import RangeInput
from viz.session import UPLOAD_LIMIT, Session
from viz.upload import FileUpload, uploaded

HOW_IT_WORKS = (
    "Each quarter every firm earns money from its old business and from AI products, then splits its AI "
    "budget between scaling LLMs and researching world models. Its choice adds up an expected-value "
    "comparison of the two paths (what it believes the next dollar buys on each) and five drivers that "
    "bend it toward LLMs: revenue feedback, competitive pressure, scaling optimism, sunk cost and investor "
    "pressure. Nobody knows how far LLMs can go: the true ceiling is hidden, and firms learn it slowly "
    "from the quality they get. World-model research may bring a breakthrough, after which a world-model "
    "product can overtake LLMs. Customers move slowly toward better products. Each driver can be switched "
    "off under Parameters, and the same seed gives the same random luck, so you can see what each one does."
)


def Prose(text: str, size: int = 14):
    """A scenario's text as plain prose: not Markdown, where "$1B at $3.5B" would start a formula."""
    return solara.HTML(
        tag="p", unsafe_innerHTML=html.escape(text), style=f"font-size: {size}px; margin: 0 0 6px 0; max-width: 70em"
    )


@solara.component
def AboutView(session: Session, apply: Callable[[dict], None], refresh: Callable[[], None], version: int):
    """The scenario's story and question, a prediction, what to watch, how the model works, the claims,
    things to try (buttons that apply them) and the scenario as a file."""
    scenario = session.base
    solara.Markdown(f"## {scenario.title}")
    Prose(" ".join(textwrap.dedent(scenario.story).split()))
    solara.Markdown("### Question for you")
    Prose(scenario.question)
    PredictionForm(session, refresh)
    solara.Markdown("### Things to watch")
    Prose(scenario.watch)
    solara.Markdown("### How the model works")
    Prose(HOW_IT_WORKS)
    # The lists below vary in length from scenario to scenario: each sits in its own column, so that
    # what follows keeps its place and its widgets (a file being chosen is not lost to a re-render).
    with solara.Column(gap="0px"):
        if scenario.claims:
            solara.Markdown("### What the scenario claims (tested over many seeds)")
            for claim in scenario.claims:
                placebo = ", ".join(f"{name} = {value}" for name, value in claim.placebo.items())
                Prose(f"• {claim.text} (It must fail with {placebo}.)")
    with solara.Column(gap="4px"):
        if scenario.try_next:
            solara.Markdown("### Things to try")
            for step in scenario.try_next:
                changes = ", ".join(f"{name} = {value}" for name, value in step.set.items())
                with solara.Row(style={"align-items": "center", "gap": "12px"}):
                    solara.Button("Try it", on_click=lambda s=step: apply(dict(s.set)), color="primary", outlined=True)
                    Prose(f"{step.text} ({changes}; the run restarts with the same seed.)")
    ScenarioFile(session, refresh)
    solara.Markdown("### Keyboard shortcuts")
    for key, what in SHORTCUTS.items():
        Prose(f"{key}: {what}")


@solara.component
def PredictionForm(session: Session, refresh: Callable[[], None]):
    """Predict, then reveal: the class's guesses, shown beside what happens under Run."""
    environment = session.model.config.environment
    quarters = ["never"] + [quarter_label(environment.start_year + q / 4.0) for q in range(environment.steps)]
    prediction = session.prediction
    solara.Markdown("### Your prediction (before you run it)")
    with solara.Row(style={"flex-wrap": "wrap", "gap": "16px", "align-items": "center"}):
        solara.Select(
            "When will the first firm pivot to world models?",
            value=prediction.first_pivot,
            values=quarters,
            on_value=lambda value: (setattr(prediction, "first_pivot", value), refresh()),
            style={"width": "340px"},
        )
        with solara.Column(style={"width": "340px"}):
            RangeInput.element(
                label="Share of all AI R&D money spent on LLMs over the run (%)",
                value=50 if prediction.llm_share is None else int(prediction.llm_share),
                min=0,
                max=100,
                on_value=lambda value: (setattr(prediction, "llm_share", float(value)), refresh()),
            )
    Prose("The Run view shows your prediction beside what happens, under 'So far'.", 13)


@solara.component
def ScenarioFile(session: Session, refresh: Callable[[], None]):
    """The running scenario, with its edits, as a file (``aisim run FILE`` runs it); and loading one back."""
    solara.Markdown("### Share this setup")
    Prose(
        "The page's address holds the scenario, the seed and your edits: copy it from the address bar to "
        "share this exact run. Or save it as a scenario file, which the command line runs "
        "(aisim run FILE --seed N) and this page loads back (below)."
    )
    solara.FileDownload(
        session.scenario_file_bytes,
        filename=session.csv_name.removesuffix(".csv") + ".toml",
        label="Download scenario file",
    )

    def load(upload: dict):
        try:
            name, data = uploaded(upload, UPLOAD_LIMIT)
        except ValueError as err:  # a crafted widget message
            session.message = f"Could not load the file: {err}"
        else:
            session.load_file(name, data)
        refresh()

    FileUpload.element(label="Load a scenario file (.toml)", limit=UPLOAD_LIMIT, on_upload=load)


@solara.component
def GlossaryView():
    """Every term on screen, in plain words."""
    solara.Markdown("## Glossary")
    for term in sorted(GLOSSARY, key=str.lower):
        solara.HTML(
            tag="p",
            unsafe_innerHTML=f"<b>{html.escape(term)}</b>: {html.escape(GLOSSARY[term])}",
            style="font-size: 14px; margin: 0 0 6px 0; max-width: 70em",
        )
