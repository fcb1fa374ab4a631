"""Validation in one report: published targets, claims against their placebos, stylised facts.

Pattern-oriented modelling (Grimm et al. 2005): a model earns trust for a question as far as it
reproduces the patterns that matter for that question, and says plainly which it misses.
`validation_report` runs everything and returns the Markdown of docs/VALIDATION.md
(`aisim validate`, `make docs`); nothing that is not met is left out.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.arrays import ArrayBag
from sim.calibration import calibration_markdown, calibration_table, frontier_run
from sim.claims import PLACEBO_MAX_SHARE, ClaimResult, check_claim
from sim.ensemble import run_seeds
from sim.figures import Published, band_chart, claims_chart, targets_chart
from sim.fitting import fit, load_fit_spec
from sim.params import Scenario
from sim.scenarios import load_scenario, scenario_dir, scenario_names

LARGEST_CASH = 1000.0
"""$B: about 4x the largest corporate cash pile so far (Apple, about $270B in 2017)."""


@dataclass(frozen=True)
class StylisedFact:
    """A fact about real markets that every scenario's runs must respect, with its bound's source."""

    name: str
    fact: str
    check: Callable[[ArrayBag], tuple[bool, str]]


def _oligopoly(h: ArrayBag) -> tuple[bool, str]:
    hhi = h.hhi
    return bool(np.all((hhi >= 1000) & (hhi <= 9000))), f"HHI {hhi.min():,.0f} to {hhi.max():,.0f}"


def _money(h: ArrayBag) -> tuple[bool, str]:
    cash = h.cash
    held = bool(cash.min() >= -1e-9 and cash.max() <= LARGEST_CASH)
    return held, f"cash ${cash.min():,.0f}B to ${cash.max():,.0f}B; funding at most ${h.funding.max():,.0f}B a quarter"


def _incumbents_move_slowly(h: ArrayBag) -> tuple[bool, str]:
    share = h.market_share
    moved = np.abs(np.diff(share, axis=0))[share[:-1] >= 0.05]
    largest = float(moved.max()) if moved.size else 0.0
    return largest <= 0.20, f"largest quarterly move of a firm with 5%+: {100 * largest:.1f} points"


def _revenue_does_not_collapse(h: ArrayBag) -> tuple[bool, str]:
    revenue = h.ai_revenue
    selling = (revenue[:-1] > 1.0) & h.active[1:]
    kept = revenue[1:][selling] / revenue[:-1][selling]
    lowest = float(kept.min()) if kept.size else 1.0
    return lowest >= 0.5, f"lowest share of AI revenue kept from one quarter to the next: {lowest:.0%}"


STYLISED_FACTS: tuple[StylisedFact, ...] = (
    StylisedFact(
        "concentrated, never a monopoly",
        "HHI between 1,000 and 9,000 in every quarter (Google's ~90% of web search is the most "
        "concentrated tech market seen)",
        _oligopoly,
    ),
    StylisedFact(
        "money bounded",
        f"no negative cash and no cash pile above ${LARGEST_CASH:,.0f}B (about 4x Apple's record $270B)",
        _money,
    ),
    StylisedFact(
        "incumbents move over years",
        "a firm with 5% or more of the market moves at most 20 points in a quarter",
        _incumbents_move_slowly,
    ),
    StylisedFact(
        "revenue does not collapse",
        "a firm selling over $1B a quarter keeps at least half of its AI revenue the next quarter",
        _revenue_does_not_collapse,
    ),
)
FACT_SEEDS = range(30)
FIT_SPEC = "calibration/baseline_fit.toml"
"""The baseline's fit spec, under scenarios/."""


def stylised_facts_table(names: Sequence[str], seeds: Sequence[int] = FACT_SEEDS) -> pd.DataFrame:
    """One row per scenario and fact: whether it held over every run and quarter, and the extremes."""
    rows = []
    for name in names:
        history = run_seeds(load_scenario(name), list(seeds))
        for fact in STYLISED_FACTS:
            held, detail = fact.check(history)
            rows.append({"scenario": name, "fact": fact.name, "held": held, "detail": detail})
    return pd.DataFrame(rows)


def claims_table(names: Sequence[str]) -> list[ClaimResult]:
    """Every claim of the named scenarios, over its seeds and under its placebo."""
    scenarios = (load_scenario(name, check_claims=True) for name in names)
    return [check_claim(scenario, claim) for scenario in scenarios for claim in scenario.claims]


@dataclass
class Report:
    """The Markdown report, its figures (file name -> SVG text, linked from FIGURES_DIR/) and
    whether every claim passed and every stylised fact held."""

    text: str
    figures: dict[str, str]
    ok: bool


FIGURES_DIR = "validation"
"""Folder beside the report that holds its figures."""


def validation_report(names: Sequence[str] | None = None) -> Report:
    """The report: calibration and validation targets measured on the baseline; claims and stylised
    facts on each named scenario (default: the whole library). Unmet targets are findings, not
    failures: ``ok`` is about claims and facts only.
    """
    names = list(names or scenario_names())
    baseline = load_scenario("baseline")
    history = run_seeds(baseline, list(range(100)))  # one run serves the targets and the figures
    targets = calibration_table(baseline, history=history)
    claims = claims_table(names)
    facts = stylised_facts_table(names)
    ok = all(result.passed for result in claims) and bool(facts.held.all())
    figures = {
        **_baseline_figures(baseline, history),
        "targets.svg": _targets_figure(targets),
        "claims.svg": _claims_figure(claims),
    }
    sections = [
        _summary(targets, claims, facts),
        _figures_section(),
        "## 1. Inputs (hold by construction; not counted as met)\n\n" + _targets_section(targets, "input"),
        "## 2. Calibration targets (parameters were chosen to meet them)\n\n"
        + _targets_section(targets, "calibration")
        + "\n\n"
        + _fit_section(),
        "## 3. Validation targets (no parameter was set from them)\n\n" + _targets_section(targets, "validation"),
        "## 4. Claims and their placebos\n\n" + _claims_section(claims),
        "## 5. Stylised facts over every scenario\n\n" + _facts_section(facts),
        _trust_section(targets),
    ]
    return Report("\n\n".join([_HEADER, *sections]) + "\n", figures, ok)


def _baseline_figures(scenario: Scenario, h: ArrayBag) -> dict[str, str]:
    """The baseline's OpenAI-like revenue (2025-2028) and frontier training run against published figures."""
    lab = [f.name for f in scenario.firms].index("OpenAI-like")
    quarters = h.year[:16, 0, 0]
    run_rate = 4.0 * h.ai_revenue[:16, :, lab]
    years = list(range(2025, 2029))
    frontier = np.array([frontier_run(h, scenario, year)["compute"] for year in years])
    trend = [
        Published(2025 + k, 5e26 * 4**k, "published trend: 4-5x a year" if k == 1 else "", 5e26 * 5**k)
        for k in (1, 2, 3)
    ]
    return {
        "openai_revenue.svg": band_chart(
            "OpenAI-like AI revenue, annualised (baseline)",
            quarters.tolist(),
            *(np.percentile(run_rate, q, axis=1).tolist() for q in (50, 5, 95)),
            [
                Published(2025.0, 6.0, "$6B, start of 2025"),
                Published(2025.75, 17.0, "$20B+, end of 2025", high=30.0),
            ],
            "$B per year (log scale)",
            log=True,
        ),
        "frontier_compute.svg": band_chart(
            "Largest training run of the year (baseline)",
            years,
            *(np.percentile(frontier, q, axis=1).tolist() for q in (50, 5, 95)),
            [Published(2025, 1.7e26, "Grok 4, about 5e26", high=1.5e27), *trend],
            "FLOP",
            log=True,
        ),
    }


def _targets_figure(targets: pd.DataFrame) -> str:
    counted = targets[targets.kind != "input"]
    return targets_chart(
        [
            (f"{row.kind[:3]}.: {row.figure}", row.model, row.model_p5, row.model_p95, row.low, row.high)
            for row in counted.itertuples()
        ]
    )


def _claims_figure(claims: list[ClaimResult]) -> str:
    labels = [f"{r.scenario}: {r.claim.text}" for r in claims]
    return claims_chart(labels, [r.share for r in claims], [r.placebo_share for r in claims], 0.8)


def _figures_section() -> str:
    return "\n".join(
        [
            "## Figures",
            "",
            f"![Every calibration and validation target against the model]({FIGURES_DIR}/targets.svg)",
            "",
            f"![OpenAI-like revenue against published figures]({FIGURES_DIR}/openai_revenue.svg)",
            "",
            f"![The frontier training run against published figures]({FIGURES_DIR}/frontier_compute.svg)",
            "",
            f"![Claims against their placebos]({FIGURES_DIR}/claims.svg)",
        ]
    )


_HEADER = """# Validation report

Generated by `aisim validate` (and `make docs`); a test fails when this file and the code disagree.
Medians over 100 seeds of the baseline for the targets; each claim over its own seeds; stylised
facts over 30 seeds of every scenario, every quarter.

The frame is pattern-oriented modelling (Grimm et al. 2005): a model is trusted for a question as
far as it reproduces the patterns that matter for that question. Three kinds of published targets
are kept apart: *inputs*, which parameters set directly and which prove nothing; *calibration*
targets, which parameters were chosen to meet (a fit, not a test); and *validation* targets, which
no parameter was set from. Claims state what a scenario says happens, each with a placebo (its
mechanism switched off), under which it must fail. Everything not met is listed in the summary."""


def _summary(targets: pd.DataFrame, claims: list[ClaimResult], facts: pd.DataFrame) -> str:
    counted = targets[targets.kind != "input"]
    lines = ["## Summary", ""]
    for kind in ("calibration", "validation"):
        rows = counted[counted.kind == kind]
        lines.append(f"- {kind.capitalize()} targets met: {int(rows.met.sum())} of {len(rows)}.")
    lines.append(
        f"- Claims passed (held on their required share, failed under their placebo): "
        f"{sum(r.passed for r in claims)} of {len(claims)}."
    )
    lines.append(f"- Stylised facts held: {int(facts.held.sum())} of {len(facts)} (scenario x fact).")
    missed = [
        f"- Target not met ({row.kind}): {row.figure}: model {row.model:.3g}, accepted {row.range}."
        for row in counted[~counted.met.astype(bool)].itertuples()
    ]
    missed += [
        f"- Claim failed: {r.scenario}: {r.claim.text} (held {r.share:.0%}, placebo {r.placebo_note})."
        for r in claims
        if not r.passed
    ]
    missed += [
        f"- Stylised fact violated: {row.scenario}: {row.fact} ({row.detail})."
        for row in facts[~facts.held].itertuples()
    ]
    lines += ["", "Not met:", "", *(missed or ["- nothing"])]
    vacuous = [r for r in claims if 2 * r.placebo_undefined >= r.seeds]
    if vacuous:
        lines += [
            "",
            "Weaker evidence: placebos under which the claim's metric mostly has no value, so the claim "
            "fails for want of anything to measure:",
            "",
        ]
        lines += [f"- {r.scenario}: {r.claim.text} (placebo {r.placebo_note})" for r in vacuous]
    channel = [r for r in claims if all(_is_susceptibility(name) for name in r.claim.placebo)]
    if channel:
        lines += [
            "",
            "Weaker evidence: placebos that set the firms' susceptibility to a driver to 0 (rivalry, "
            "optimism, sunk-cost bias, investor exposure). Both sides then come out equal: this shows the "
            "effect runs only through that channel, not that something in the world could remove it:",
            "",
        ]
        lines += [f"- {r.scenario}: {r.claim.text}" for r in channel]
    return "\n".join(lines)


SUSCEPTIBILITY = ("rivalry", "scaling_optimism", "sunk_cost_bias", "investor_exposure")
"""Firm traits that scale a driver's force (the channel placebos of the 'each force matters' claims)."""


def _is_susceptibility(name: str) -> bool:
    return name.startswith("firms.*.") and name.rsplit(".", 1)[1] in SUSCEPTIBILITY


def _targets_section(targets: pd.DataFrame, kind: str) -> str:
    rows = targets[targets.kind == kind]
    why = "\n".join(f"- *{row.figure}*: {row.why}." for row in rows.itertuples())
    return calibration_markdown(targets, kinds=(kind,)) + "\n\nWhy each range (or why an input):\n\n" + why


def _fit_section() -> str:
    """How the calibration targets can be fitted, and what a fit from the current values finds."""
    spec, base, targets = load_fit_spec(scenario_dir() / FIT_SPEC)
    result = fit(spec, base, targets)
    outside = result.residuals.figure[result.residuals.z_start.abs() > 1].tolist()
    inside = "inside every range" if not outside else "outside the range of: " + "; ".join(outside)
    lines = [
        "### The fit",
        "",
        f"`aisim calibrate --fit scenarios/{FIT_SPEC}` fits the free parameters below to the calibration "
        f"targets above ({spec.seeds} seeds per candidate, common to all candidates; SciPy's bounded "
        "Nelder-Mead; objective: the sum over targets of the squared distance from the middle of the "
        f"accepted range, in half-widths, so a candidate inside every range scores under {len(targets)}). "
        "Only calibration targets can enter the objective: naming a validation target or an input is "
        "refused, so the validation targets below are out of sample whatever the fit does. The baseline "
        f"keeps its hand-set values, {inside}; a fit from them finds (not written; `--write` would write "
        f"it; medians of {spec.seeds} seeds, so they differ slightly from the 100-seed table above):",
        "",
        "| parameter | bounds | baseline | fitted |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{row.name}` | {row.low:g} to {row.high:g} | {row.start:.6g} | {row.fitted:.6g} |"
        for row in result.parameters.itertuples()
    ]
    lines += ["", "| target | accepted range | baseline (standardised) | fitted (standardised) |", "|---|---|---|---|"]
    lines += [
        f"| {row.figure} | {row.range} | {row.start:.3g} ({row.z_start:+.2f}) | "
        f"{row.fitted:.3g} ({row.z_fitted:+.2f}) |"
        for row in result.residuals.itertuples()
    ]
    stopped = "converged" if result.converged else "the limit"
    lines += [
        "",
        f"Objective {result.objective_start:.3g} at the baseline's values, {result.objective_fitted:.3g} fitted, "
        f"after {result.evaluations} candidates ({stopped}). Figures from 2025 alone cannot pin down where "
        "demand saturates (market_potential): early on a logistic curve is exponential, and a larger "
        "potential with a later or slower take-up gives the same 2025. The fit shows a better point, not "
        "the only one, which is why the baseline keeps its hand-set values.",
    ]
    return "\n".join(lines)


def _claims_section(claims: list[ClaimResult]) -> str:
    lines = [
        f"A claim passes when it holds on at least its required share of seeds (never under 80%) and, "
        f"with its mechanism switched off, on under {PLACEBO_MAX_SHARE:.0%}. The interval is a 95% "
        "Clopper-Pearson interval for the share of seeds on which it holds.",
        "",
        "| scenario | claim | held | 95% interval | placebo (mechanism off) | held under placebo | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in claims:
        low, high = r.interval
        placebo = ", ".join(f"`{k} = {v}`" for k, v in r.claim.placebo.items())
        verdict = "pass" if r.passed else "**FAIL**"
        lines.append(
            f"| {r.scenario} | {r.claim.text} | {r.share:.0%} | {low:.0%}-{high:.0%} | {placebo} | "
            f"{r.placebo_note} | {verdict} |"
        )
    return "\n".join(lines)


def _facts_section(facts: pd.DataFrame) -> str:
    lines = [f"- **{fact.name}**: {fact.fact}." for fact in STYLISED_FACTS]
    lines += ["", "| scenario | fact | held | extremes |", "|---|---|---|---|"]
    lines += [
        f"| {row.scenario} | {row.fact} | {'yes' if row.held else '**no**'} | {row.detail} |"
        for row in facts.itertuples()
    ]
    return "\n".join(lines)


def _trust_section(targets: pd.DataFrame) -> str:
    counted = targets[targets.kind != "input"]
    met = ", ".join(f"{row.figure.lower()} ({row.kind})" for row in counted[counted.met.astype(bool)].itertuples())
    missed = counted[~counted.met.astype(bool)]
    lines = [
        "## 6. What this says about trusting each scenario",
        "",
        f"Reproduced: {met or 'nothing'}. Missed: "
        + (
            ", ".join(
                f"{row.figure.lower()} (model {row.model:.3g}, accepted {row.range})" for row in missed.itertuples()
            )
            or "nothing"
        )
        + ".",
    ]
    if missed.figure.str.contains("training").any():
        lines += [
            "",
            textwrap.dedent(
                """\
            The frontier training run is where the model is weakest. Budgets follow income, and a
            firm's final runs are a fixed share of its R&D compute, so no firm concentrates a growing
            share of its spend in one run, as the published trends show labs doing."""
            ).replace("\n", " "),
        ]
    lines += [
        "",
        textwrap.dedent(
            """\
        So: lessons about how firms split their budgets, how beliefs about the LLM ceiling move,
        and how market shares respond to a breakthrough rest on the market patterns above and on
        claims that fail when their mechanism is switched off (some only weakly: see the summary).
        Absolute figures for training compute, power and energy (the frontier chart,
        `compute_shock`'s compute, the energy outputs) are comparisons between scenarios, not
        forecasts, wherever a training target is missed. Scenarios whose point is a world-model
        breakthrough rest on parameters (difficulty, development time, imitation lag) that no
        published figure pins down: they show what follows *if* a breakthrough comes, not whether it will."""
        ).replace("\n", " "),
    ]
    return "\n".join(lines)
