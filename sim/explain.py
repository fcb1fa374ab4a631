"""Why do firms keep betting on LLMs? Driver attribution, two ways.

1. **Decision terms** (`decision_terms`, `term_summary`): each quarter a firm's target
   allocation is ``x* = logistic(sum of terms / temperature)``. The terms are recorded, so
   each driver's contribution is exact and additive in logit units; its effect on the
   target share is ``x*(all terms) - x*(all terms but this one)``.
2. **Counterfactuals** (`counterfactual_attribution`): the same scenario and seeds with
   each driver switched off in turn, and with all of them off (the plain expected-value
   maximiser). The change in each outcome is paired seed by seed (common random numbers)
   and reported as a median with its 5-95% spread over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.ensemble import run_seeds
from sim.mechanisms import sigmoid
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
    total = active[list(TERMS.values())].sum(axis=1)
    target = sigmoid(total.to_numpy() / temperature)
    frames = []
    for label, column in TERMS.items():
        term = active[column].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "step": active.step.to_numpy(),
                    "quarter": active.quarter.to_numpy(),
                    "firm": active.firm.to_numpy(),
                    "term": label,
                    "logit": term,
                    "logit_total": total.to_numpy(),
                    "effect_on_target": target - sigmoid((total.to_numpy() - term) / temperature),
                    "x_target": active.x_target.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


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
