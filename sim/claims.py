"""A scenario's claims: what it says happens, checked over many seeds.

A claim compares a summary measure of the scenario, seed by seed, with a fixed value,
with a counterfactual (the same scenario with some parameters changed) or with another
scenario, all on the same seeds (common random numbers make the comparison paired), by at
least its ``margin``. It holds when the comparison is true on at least ``required_share`` of
the seeds (0.8 or more). Every claim declares its placebo: the overrides that switch its
mechanism off, applied to every scenario the claim compares. A claim passes only if it also
fails under its placebo on most seeds (holds on fewer than ``PLACEBO_MAX_SHARE``): a claim that
holds whatever its mechanism does tests nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from sim.ensemble import run_seeds
from sim.outputs import firm_summary_arrays, run_summary_arrays
from sim.params import Claim, ParameterError, Scenario, parse_metric
from sim.scenarios import load_scenario

PLACEBO_MAX_SHARE = 0.5
"""Under its placebo a claim may hold on fewer than this share of its seeds."""


class ClaimError(ValueError):
    """A claim that cannot be checked as written (its message names the scenario and the claim)."""


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
    """The outcome of checking one claim: where it held, and where it held under its placebo."""

    scenario: str
    claim: Claim
    held: int
    seeds: int
    median_value: float
    median_reference: float
    placebo_held: int
    placebo_undefined: int
    placebo_tied: int

    @property
    def share(self) -> float:
        return self.held / self.seeds

    @property
    def interval(self) -> tuple[float, float]:
        """95% confidence interval of the share of seeds on which the claim holds (Clopper-Pearson);
        for information: the verdict uses the share itself."""
        ci = binomtest(self.held, self.seeds).proportion_ci(confidence_level=0.95)
        return float(ci.low), float(ci.high)

    @property
    def placebo_share(self) -> float:
        return self.placebo_held / self.seeds

    @property
    def placebo_note(self) -> str:
        """The placebo's share, and how often it failed because the metric had no value
        ("undefined": a vacuous failure) or because both sides came out exactly equal ("tied")."""
        notes = [
            f"{count / self.seeds:.0%} {what}"
            for count, what in ((self.placebo_undefined, "undefined"), (self.placebo_tied, "tied"))
            if count
        ]
        return f"{self.placebo_share:.0%}" + (f" ({', '.join(notes)})" if notes else "")

    @property
    def passed(self) -> bool:
        return self.share >= self.claim.required_share and self.placebo_share < PLACEBO_MAX_SHARE


def claim_values(scenario: Scenario, claim: Claim) -> np.ndarray:
    """The claim's metric for each of its seeds."""
    history = run_seeds(scenario, claim.seed_list())
    names = [f.name for f in scenario.firms]
    return metric_values(run_summary_arrays(history), firm_summary_arrays(history), names, claim.metric)


def holds(scenario: Scenario, claim: Claim, placebo: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per seed: whether the claim holds, its metric and what it is compared with; with ``placebo``,
    in every scenario compared with the claim's placebo applied."""
    overrides = claim.placebo if placebo else None
    if placebo:
        _refuse_empty_placebo(scenario, claim)
    values = claim_values(load_scenario(scenario, overrides) if placebo else scenario, claim)
    if claim.value is not None:
        reference = np.full_like(values, claim.value)
    elif claim.counterfactual is not None:
        reference = claim_values(load_scenario(load_scenario(scenario, overrides), claim.counterfactual), claim)
    else:
        reference = claim_values(load_scenario(claim.reference, overrides), claim)
    if claim.compare == "greater":
        return values > reference + claim.margin, values, reference
    return values < reference - claim.margin, values, reference


def _refuse_empty_placebo(scenario: Scenario, claim: Claim) -> None:
    """Refuse a placebo that changes nothing, or that makes the two sides of the comparison the same
    scenario (it would fail by construction, testing nothing: a placebo must cut the mechanism's
    channel and keep the claim's contrast)."""
    where = f"scenario '{scenario.name}', claim '{claim.text}': placebo {claim.placebo}"
    compared = [scenario] + ([load_scenario(claim.reference)] if claim.reference is not None else [])
    try:
        placebo = [load_scenario(s, claim.placebo) for s in compared]
        if claim.counterfactual is not None:
            placebo.append(load_scenario(placebo[0], claim.counterfactual))
    except ParameterError as err:
        raise ClaimError(f"{where}: {err}") from None
    if all(_parameters(p) == _parameters(s) for p, s in zip(placebo[: len(compared)], compared, strict=True)):
        raise ClaimError(f"{where} changes no parameter; a placebo must switch the claim's mechanism off")
    if claim.value is None and _parameters(placebo[0]) == _parameters(placebo[1]):
        raise ClaimError(
            f"{where} makes both sides of the comparison the same scenario, so it fails by construction; "
            "cut the mechanism's channel instead and keep the claim's contrast"
        )


def check_claim(scenario: Scenario, claim: Claim) -> ClaimResult:
    """Run the scenario (and its comparison) over the claim's seeds, with and without its placebo."""
    held, values, reference = holds(scenario, claim)
    placebo_held, placebo_values, placebo_reference = holds(scenario, claim, placebo=True)
    return ClaimResult(
        scenario=scenario.name,
        claim=claim,
        held=int(np.sum(held)),
        seeds=len(values),
        median_value=float(np.median(values)),
        median_reference=float(np.median(reference)),
        placebo_held=int(np.sum(placebo_held)),
        placebo_undefined=int(np.sum(undefined(placebo_values, placebo_reference))),
        placebo_tied=int(np.sum(tied(placebo_values, placebo_reference))),
    )


def undefined(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Seeds where the comparison has nothing to compare: a metric without a value (NaN), or an
    event that never happened on either side (both +infinity, e.g. no breakthrough in either run)."""
    return np.isnan(values) | np.isnan(reference) | (np.isinf(values) & np.isinf(reference))


def tied(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Seeds where both sides have the same finite value (so a strict comparison cannot hold)."""
    return (values == reference) & np.isfinite(values)


def _parameters(scenario: Scenario) -> dict:
    return scenario.model_dump(include={"environment", "drivers", "firms"})
