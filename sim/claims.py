"""A scenario's claims: what it says happens, checked over many seeds.

A claim compares a summary measure of the scenario, seed by seed, with a fixed value,
with a counterfactual (the same scenario with some parameters changed) or with another
scenario, all on the same seeds (common random numbers make the comparison paired), by at
least its ``margin``. It holds when the comparison is true on at least ``required_share`` of the seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.ensemble import run_seeds
from sim.outputs import firm_summary_arrays, run_summary_arrays
from sim.params import Claim, Scenario, parse_metric
from sim.scenarios import load_scenario


def metric_values(run: dict, firm_measures: dict, firm_names: list[str], metric: str) -> np.ndarray:
    """One value per run of a batch, from its run and firm summary arrays.

    Step measures that never happened (NaN) count as +infinity, so "earlier" is well defined.
    """
    firm, measure = parse_metric(metric)
    if firm is None:
        values = run[measure][..., 0]
    else:
        if firm not in firm_names:
            raise ValueError(f"metric '{metric}': no firm '{firm}'; firms: {', '.join(firm_names)}")
        values = firm_measures[measure][..., firm_names.index(firm)]
    if measure.endswith("_step"):
        values = np.where(np.isnan(values), np.inf, values)
    return values


@dataclass
class ClaimResult:
    """The outcome of checking one claim."""

    scenario: str
    claim: Claim
    held: int
    seeds: int
    median_value: float
    median_reference: float

    @property
    def share(self) -> float:
        return self.held / self.seeds

    @property
    def passed(self) -> bool:
        return self.share >= self.claim.required_share


def claim_values(scenario: Scenario, claim: Claim) -> np.ndarray:
    """The claim's metric for each of its seeds."""
    history = run_seeds(scenario, claim.seed_list())
    names = [f.name for f in scenario.firms]
    return metric_values(run_summary_arrays(history), firm_summary_arrays(history), names, claim.metric)


def check_claim(scenario: Scenario, claim: Claim) -> ClaimResult:
    """Run the scenario (and its comparison) over the claim's seeds and count where it holds."""
    values = claim_values(scenario, claim)
    if claim.value is not None:
        reference = np.full_like(values, claim.value)
    elif claim.counterfactual is not None:
        reference = claim_values(load_scenario(scenario, claim.counterfactual), claim)
    else:
        reference = claim_values(load_scenario(claim.reference), claim)
    holds = values > reference + claim.margin if claim.compare == "greater" else values < reference - claim.margin
    return ClaimResult(
        scenario=scenario.name,
        claim=claim,
        held=int(np.sum(holds)),
        seeds=len(values),
        median_value=float(np.median(values)),
        median_reference=float(np.median(reference)),
    )
