"""The views that look beyond the run being watched: Uncertainty (many seeds), Compare (two
scenarios on the same seeds), Explain (which driver holds each firm on the LLM path) and Strategies
(a tournament of firm policies)."""

from __future__ import annotations

import html
import time

import pandas as pd
import solara

from sim.explain import TERMS, decision_terms, term_summary
from sim.policies import POLICIES
from sim.scenarios import load_scenario
from sim.tournament import OUTCOMES, interval_text, load_tournament, rank, run_tournament
from viz import charts
from viz.run_view import Chart, explained_firm
from viz.session import BAND_SERIES, COMPARE_SEEDS, EDITED, UNCERTAINTY_SEEDS, Session

EXPLAIN_SEEDS = 20
TOURNAMENT_SEEDS = 30  # 6 policies x 3 scenarios x 30 seeds: 540 runs, about 3 s


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
        f"Run **{session.draft_label}** over {UNCERTAINTY_SEEDS} seeds at once and see how much of the outcome is "
        "luck: the line is the median, the bands hold the middle 50% and 90% of the runs."
    )
    solara.Button(f"Run {UNCERTAINTY_SEEDS} seeds", on_click=run, color="primary")
    if error:
        solara.Error(error)
    if session.bands is not None:
        solara.Text(f"{session.bands.seeds} runs in {seconds:.2f} s")
        with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
            for series, title in BAND_SERIES.items():
                with solara.Column(style={"flex": "1 1 380px", "min-width": "0"}):
                    Chart(charts.band_chart(session.bands.table, series, title, session.bands.seeds), title)


@solara.component
def CompareView(session: Session, refresh, version: int):
    """Two scenarios, or this one against its edited copy, on the same seeds."""
    others = [EDITED] + [n for n in session.scenarios() if n != session.scenario_name]
    other, set_other = solara.use_state(others[0])
    error, set_error = solara.use_state("")

    def run():
        try:
            session.compare(other if other in others else others[0], COMPARE_SEEDS)
            set_error("")
        except ValueError as err:  # invalid edits; anything else is a bug
            set_error(str(err))
        refresh()

    solara.Markdown(
        f"Compare **{session.scenario_name}** (with any edits you made) with another scenario or with its unedited "
        f"file, on the same {COMPARE_SEEDS} seeds: every random shock is the same, so differences come from the "
        "parameters alone. Rows where the scenarios differ are highlighted. Quarters are medians over the seeds; "
        '"never" means that in at least half of the seeds it did not happen.'
    )
    solara.Select("Compare with", value=other if other in others else others[0], values=others, on_value=set_other)
    solara.Button("Run comparison", on_click=run, color="primary")
    if error:
        solara.Error(error)
    if session.comparison is not None:
        ComparisonTable(session.comparison)
        with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
            for name, title in (
                ("llm_spend_share", "LLM share of AI R&D spend (median)"),
                ("best_llm_quality", "Best LLM quality (median)"),
                ("best_wm_quality", "Best world-model quality (median)"),
                ("hhi", "Market concentration, HHI (median)"),
            ):
                with solara.Column(style={"flex": "1 1 380px", "min-width": "0"}):
                    Chart(charts.compare_chart(session.comparison_series, name, title), title)


def Table(frame: pd.DataFrame, caption: str, marked: pd.Series | None = None):
    """A plain HTML table with a caption; rows where ``marked`` is true are highlighted."""
    header = "".join(
        f"<th scope='col' style='text-align:left;padding:4px 10px'>{html.escape(str(c))}</th>" for c in frame
    )
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        flag = marked is not None and bool(marked.iloc[i])
        style = "background:#fff3cd;font-weight:600" if flag else ""
        cells = "".join(f"<td style='padding:4px 10px'>{html.escape(_shown(row[c]))}</td>" for c in frame)
        rows.append(f"<tr class='{'differs' if flag else 'same'}' style='{style}'>{cells}</tr>")
    body = f"<caption style='text-align:left'>{html.escape(caption)}</caption>"
    body += f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody>"
    solara.HTML(tag="table", unsafe_innerHTML=body, style="font-size: 13px; border-collapse: collapse")


def ComparisonTable(table: pd.DataFrame):
    Table(table.drop(columns="differs"), "Medians over the seeds", table["differs"])


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


@solara.component
def ExplainView(session: Session, firm: str, set_firm, version: int):
    """Which term holds each firm on the LLM path: quarter by quarter in this run (the numbers of the
    "Why?" panel), and on average over the run and many seeds. One unit everywhere: share points of
    the firm's target share of LLM spending."""
    run = session.snapshot()
    firm = explained_firm(run.firms, firm)
    result, set_result = solara.use_state(None)
    error, set_error = solara.use_state("")

    def explain():
        try:
            set_result(term_summary(session.scenario(), range(EXPLAIN_SEEDS)))
            set_error("")
        except ValueError as err:  # invalid edits; anything else is a bug
            set_error(str(err))

    solara.Markdown(
        "Each quarter a firm's choice adds up *terms*: the expected-value comparison of the two paths and one "
        "term per driver. Each number is a term's push on the firm's target share of LLM spending, in share "
        "points (+ toward LLMs): how much lower or higher the target would be without that term. For what-if "
        "answers, switch drivers off under Parameters and use Compare."
    )
    solara.Markdown(f"### This run ({session.run_label}), quarter by quarter")
    solara.Select("Firm", value=firm, values=run.firms, on_value=set_firm, dense=True, style={"max-width": "320px"})
    if run.table.empty:
        solara.Text("Run a few quarters first (Step or Play).")
    else:
        terms = decision_terms(run.table, run.model.config.environment.decision_temperature)
        mine = terms[terms.firm == firm]
        wide = mine.pivot_table(index=["step", "quarter"], columns="term", values="effect_on_target", sort=False)
        wide = (100 * wide[list(TERMS)]).round(1).reset_index().drop(columns="step")
        Table(wide.iloc[::-1], f"{firm}: each term's push on its target share of LLM spending (share points)")
    solara.Markdown(f"### {session.draft_label}: over the whole run and {EXPLAIN_SEEDS} seeds")
    solara.Button("Explain this scenario", on_click=explain, color="primary")
    if error:
        solara.Error(error)
    if result is not None:
        Chart(charts.attribution_chart(result), "Attribution")


@solara.component
def StrategiesView():
    """The bundled tournament (docs/STRATEGIES.md): each policy takes a firm's seat in turn, in the essay's
    three worlds, on the same seeds; the table ranks them."""
    spec, folder = load_tournament("strategies")
    seat, set_seat = solara.use_state(spec.slots[0])
    ranked, set_ranked = solara.use_state(None)
    seconds, set_seconds = solara.use_state(0.0)
    firms = [firm.name for firm in load_scenario(spec.scenarios[0]).firms]  # the seats every world has

    def run():
        started = time.perf_counter()
        chosen = type(spec).model_validate(
            {
                **spec.model_dump(),
                "slots": [seat if seat in firms else spec.slots[0]],
                "replicates": {"count": TOURNAMENT_SEEDS},
            }
        )
        set_ranked((rank(run_tournament(chosen, folder), chosen), chosen.policies[0]))
        set_seconds(time.perf_counter() - started)

    solara.Markdown(
        "Which strategy serves a firm best? Each policy below takes the chosen firm's seat in turn, in three "
        f"worlds (the race as of 2025, a dead end for LLMs, a scaling miracle), with the same {TOURNAMENT_SEEDS} "
        "seeds each; the other firms keep the model's own rule (**biased**). Ranked by the firm's final market "
        "share. ± is the half-width of the 95% interval; *vs biased* compares each policy with the model's own "
        "rule on the same world and seed.\n\n"
        + "\n".join(f"- **{name}**: {line}" for name, (_, line) in POLICIES.items() if name in spec.policies)
    )
    solara.Select("Firm's seat", value=seat if seat in firms else spec.slots[0], values=firms, on_value=set_seat)
    solara.Button("Run the tournament", on_click=run, color="primary")
    if ranked is not None:
        table, reference = ranked
        solara.Text(f"{len(spec.policies) * len(spec.scenarios) * TOURNAMENT_SEEDS} runs in {seconds:.1f} s")
        Table(_tournament_rows(table, reference), f"Policies in {table.slot.iloc[0]}'s seat, best first")


def _tournament_rows(ranked: pd.DataFrame, reference: str) -> pd.DataFrame:
    """The ranking as text cells: mean ± interval for each outcome, and the difference to ``reference``."""
    rows = {"rank": ranked["rank"], "policy": ranked.policy}
    for outcome in OUTCOMES:
        rows[outcome.replace("_", " ")] = [
            interval_text(m, h) for m, h in zip(ranked[outcome], ranked[f"{outcome}_ci"], strict=True)
        ]
    for outcome in ("final_share", "ai_profit"):
        mean, half = ranked[f"{outcome}_vs_{reference}"], ranked[f"{outcome}_vs_{reference}_ci"]
        rows[f"{outcome.replace('_', ' ')} vs {reference}"] = [
            "" if p == reference else interval_text(m, h, signed=True)
            for p, m, h in zip(ranked.policy, mean, half, strict=True)
        ]
    return pd.DataFrame(rows)
