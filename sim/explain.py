"""Why do firms keep betting on LLMs? Driver attribution, two ways.

1. **Decision terms** (`decision_terms`, `term_summary`): each quarter a firm's target
   allocation is ``x* = logistic(sum of terms / temperature)``. The terms are recorded, so
   each driver's contribution is exact and additive in logit units; its effect on the
   target share is ``x*(all terms) - x*(all terms but this one)``.
2. **Counterfactuals** (`counterfactual_attribution`): the same scenario and seeds with
   each driver switched off in turn, and with all of them off (the plain expected-value
   maximiser). The change in each outcome is paired seed by seed (common random numbers)
   and reported as a median with its 5-95% spread over seeds.

`quarter_explanation` puts one firm's decision in one quarter together in share points: what
each term adds to the target, and what stands between the target and the share chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.arrays import ModelParams
from sim.ensemble import run_seeds
from sim.mechanisms import initial_state, llm_carries_product, sigmoid
from sim.outputs import firm_summary_arrays, never_as_end, run_summary_arrays
from sim.params import Scenario
from sim.scenarios import load_scenario
from sim.variables import DRIVER_TERMS

DRIVER_LABELS = {name: name.replace("_", " ") for name in DRIVER_TERMS}
"""Driver parameter -> its name in plain words ("sunk_cost" -> "sunk cost")."""
TERMS = {"expected value": "term_value", **{DRIVER_LABELS[name]: term for name, term in DRIVER_TERMS.items()}}
"""Label (plain words) -> recorded decision term; the first is the expected-value core, the rest the drivers."""
ALL_OFF = "all drivers off"
OUTCOMES = ("llm_spend_share", "mean_pivot_step", "big_muddy_spend", "first_breakthrough_step")
"""Run outcomes the counterfactual attribution reports (plus each firm's final share)."""


def decision_terms(table: pd.DataFrame, temperature: float) -> pd.DataFrame:
    """Per firm, quarter and term: the term (logit units) and its effect on the target share.

    ``table`` is a run's firm table (`AIRaceModel.firm_dataframe`). Rows where the firm is
    not in the market are left out. ``logit_total`` is the sum of all terms: the decision's
    input, so the terms of one decision add up to it exactly.
    """
    active = table[table.active.astype(bool)]
    total = active[list(TERMS.values())].sum(axis=1).to_numpy()
    target = sigmoid(total / temperature)
    terms = [active[column].to_numpy() for column in TERMS.values()]
    count = len(TERMS)

    def repeated(values) -> np.ndarray:  # term by term, as the rows are laid out
        return np.tile(np.asarray(values), count)

    logit = np.concatenate(terms)
    return pd.DataFrame(  # built at once: one frame per term and a concat cost the UI a redraw's time
        {
            "step": repeated(active.step),
            "quarter": repeated(active.quarter),
            "firm": repeated(active.firm),
            "term": np.repeat(list(TERMS), len(active)),
            "logit": logit,
            "logit_total": repeated(total),
            "effect_on_target": repeated(target) - sigmoid((repeated(total) - logit) / temperature),
            "x_target": repeated(active.x_target),
        }
    )


def term_summary(scenario: Scenario, seeds: Sequence[int]) -> pd.DataFrame:
    """Each firm's mean decision terms over the run and the seeds, with their mean effect on x*.

    One row per firm and term: mean logit contribution, mean effect on the target share
    (share points), and the share of quarters in which the term pushed toward LLMs.
    """
    history = run_seeds(scenario, list(seeds))
    temperature = scenario.environment.decision_temperature
    active = history.active
    total = sum(history[column] for column in TERMS.values())
    target = sigmoid(total / temperature)
    rows = []
    for i, firm in enumerate(f.name for f in scenario.firms):
        mask = active[..., i]
        for label, column in TERMS.items():
            term = history[column][..., i]
            effect = target[..., i] - sigmoid((total[..., i] - term) / temperature)
            rows.append(
                {
                    "firm": firm,
                    "term": label,
                    "mean_logit": float(term[mask].mean()) if mask.any() else np.nan,
                    "mean_effect_on_target": float(effect[mask].mean()) if mask.any() else np.nan,
                    "share_pushing_to_llm": float((term[mask] > 0).mean()) if mask.any() else np.nan,
                }
            )
    return pd.DataFrame(rows)


def _outcomes(scenario: Scenario, seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """The attributed outcomes for each seed; a step that never comes counts as the run's end."""
    history = run_seeds(scenario, list(seeds))
    runs, firms = run_summary_arrays(history), firm_summary_arrays(history)
    steps = history.x.shape[0]
    values = {name: runs[name][:, 0] for name in OUTCOMES}
    values["first_breakthrough_step"] = never_as_end(values["first_breakthrough_step"], steps)
    for i, firm in enumerate(f.name for f in scenario.firms):
        values[f"final_share[{firm}]"] = firms.final_share[:, i]
    return values


def counterfactual_attribution(scenario: Scenario | str, seeds: Sequence[int]) -> pd.DataFrame:
    """Change in each outcome when each driver (and then all of them) is switched off.

    One row per counterfactual and outcome: the outcome with all drivers on (median), with
    the driver off (median), and the paired change off minus on: median, 5th and 95th
    percentiles over seeds. A negative change in the LLM spend share means the driver was
    holding firms on LLMs.
    """
    scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
    seeds = list(seeds)
    actual = _outcomes(scenario, seeds)
    counterfactuals = {DRIVER_LABELS[name]: {f"drivers.{name}": 0.0} for name in DRIVER_TERMS}
    counterfactuals[ALL_OFF] = {f"drivers.{name}": 0.0 for name in DRIVER_TERMS}
    rows = []
    for label, overrides in counterfactuals.items():
        switched = _outcomes(load_scenario(scenario, overrides), seeds)
        for outcome, on in actual.items():
            change = switched[outcome] - on
            low, median, high = np.percentile(change, [5, 50, 95])
            rows.append(
                {
                    "switched_off": label,
                    "outcome": outcome,
                    "with_driver": float(np.median(on)),
                    "without": float(np.median(switched[outcome])),
                    "change_median": float(median),
                    "change_p5": float(low),
                    "change_p95": float(high),
                    "seeds": len(seeds),
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class QuarterExplanation:
    """One firm's LLM share in one quarter: what set its target and what held the choice away from it.

    The firm aims at its target x* (the terms decide it), scaled by how much of its product its
    LLM still carries, moves ``adjustment_speed`` of the way there from last quarter's share, and
    stops at its cap ``1 - wm_floor``: `recomputed_choice` does that sum and equals ``chosen``.
    Shares are fractions (0-1); ``effects`` are share points (0-100).
    """

    firm: str
    step: int
    quarter: str
    effects: dict[str, float]
    """Each term's effect on the target, share points: x*(all terms) - x*(all terms but this one)."""
    target: float
    """x*: the LLM share the terms call for."""
    previous: float
    """The LLM share the quarter before (at the first quarter, the start's)."""
    chosen: float
    """The LLM share chosen this quarter (x)."""
    adjustment_speed: float
    llm_carries_product: float
    """How much of its product the firm's LLM carried last quarter (1: all, 0: the world model does)."""
    cap: float
    """The most it can put on LLMs: 1 - wm_floor."""
    binding: list[str]
    """What stands between the target and the choice, in plain words and numbers."""

    @property
    def aimed(self) -> float:
        """The share it moves toward: the target scaled by how much the LLM carries its product."""
        return self.target * self.llm_carries_product

    def recomputed_choice(self) -> float:
        """previous + adjustment_speed x (aimed - previous), at most the cap: the choice, from its parts."""
        return min(self.previous + self.adjustment_speed * (self.aimed - self.previous), self.cap)


def quarter_explanation(table: pd.DataFrame, scenario: Scenario, firm: str, step: int) -> QuarterExplanation:
    """Why ``firm`` put the share it did on LLMs at ``step`` of a run of ``scenario`` whose firm
    table (`AIRaceModel.firm_dataframe`) is ``table``. ValueError if the firm or quarter is not in
    the table, or the firm was not in the market then (it made no decision)."""
    names = [f.name for f in scenario.firms]
    if firm not in names:
        raise ValueError(f"no firm '{firm}' in scenario '{scenario.name}'; firms: {', '.join(names)}")
    rows = table[table.firm == firm].set_index("step")
    if step not in rows.index:
        raise ValueError(f"no quarter {step} in the run: it has quarters {rows.index.min()} to {rows.index.max()}")
    row = rows.loc[step]
    if not row.alive:
        raise ValueError(f"{firm} had left the market by {row.quarter}")
    if not row.active:
        raise ValueError(f"{firm} had not entered the market in {row.quarter}")
    if step == 0:  # the decision looks back at the state before the first quarter
        before = initial_state(ModelParams.from_scenario(scenario))
        i = names.index(firm)
        previous, llm, wm = float(before.x[i]), float(before.llm_quality[i]), float(before.wm_quality[i])
    else:
        before = rows.loc[step - 1]
        previous, llm, wm = float(before.x), float(before.llm_quality), float(before.wm_quality)
    terms = decision_terms(
        table[(table.firm == firm) & (table.step == step)], scenario.environment.decision_temperature
    )
    traits = scenario.firms[names.index(firm)]
    parts = {
        "target": float(row.x_target),
        "previous": previous,
        "adjustment_speed": traits.adjustment_speed,
        "llm_carries_product": float(llm_carries_product(np.float64(llm), np.float64(wm))),
        "cap": 1.0 - traits.wm_floor,
    }
    binding = _binding(**parts, llm_quality=llm, wm_quality=wm)
    if traits.policy != "biased":  # the terms are the model's rule; another policy decided
        binding = [
            f"{firm} follows the {traits.policy} policy: it chose {float(row.x):.1%} itself. The bars show "
            "what the model's own rule weighs, not what decided."
        ]
    return QuarterExplanation(
        firm=firm,
        step=step,
        quarter=str(row.quarter),
        effects={label: 100.0 * float(e) for label, e in zip(terms.term, terms.effect_on_target, strict=True)},
        chosen=float(row.x),
        binding=binding,
        **parts,
    )


def _binding(
    target: float,
    previous: float,
    adjustment_speed: float,
    llm_carries_product: float,
    cap: float,
    llm_quality: float,
    wm_quality: float,
) -> list[str]:
    """Plain-word sentences for what holds the choice away from the target."""
    if cap == 0.0:
        return ["It does not choose: all of its AI budget is protected for world-model research."]
    lines = []
    aimed = target * llm_carries_product
    if llm_carries_product < 0.995:  # from here on it no longer rounds to 100%
        qualities = f"({wm_quality:.2f} against {llm_quality:.2f})"
        if wm_quality > llm_quality:
            where = f"Its world-model product is better than its LLM {qualities}"
        elif wm_quality < llm_quality:
            where = f"Its world-model product is close behind its LLM {qualities}"
        else:
            where = f"Its LLM and world-model products are as good as each other ({llm_quality:.2f})"
        lines.append(
            f"{where}, so LLMs carry only {llm_carries_product:.0%} of its product: it aims at "
            f"{target:.0%} x {llm_carries_product:.0%} = {aimed:.1%}."
        )
    if adjustment_speed < 1.0 and aimed != previous:
        lines.append(
            f"It moves only {adjustment_speed:.0%} of the way each quarter, from {previous:.1%} toward {aimed:.1%}."
        )
    if previous + adjustment_speed * (aimed - previous) > cap:
        lines.append(f"Its protected world-model budget caps LLMs at {cap:.0%}.")
    return lines
