"""Tournaments of firm policies: which strategy does best across the essay's worlds?

A tournament spec lists policies (`sim.policies`), firm slots (firms of the scenarios whose policy is
assigned; the others keep theirs), scenarios and seeds. Every assignment of the policies to the slots
runs in every scenario with every seed, through the batch engine (`sim.sweeps`: one sweep per
scenario, whose parameters are the slots' policies), with common random numbers: every policy meets
the same shocks. Each policy is then scored, in its slot, by outcomes of the slot's firm:

- ``final_share``: its market share at the end;
- ``ai_profit``: AI gross profit minus AI R&D spend over the run ($B);
- ``survival``: the share of runs it is still in business at the end;
- ``big_muddy_spend``: LLM money spent after the next LLM dollar stopped paying back ($B; less is better).

`rank` averages each outcome over scenarios, seeds and the other slots' policies, with a 95% confidence
interval, and the paired difference to the first policy listed (the same seeds and scenarios: the
pairing removes the luck the two share).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.params import ParameterError, StrictModel, format_validation_error
from sim.policies import check_loadable, check_policy_name
from sim.scenarios import load_scenario, read_data, scenario_dir
from sim.sweep_spec import Replicates
from sim.tables import column_name, firm_column

OUTCOMES: dict[str, tuple[str, bool, str]] = {
    "final_share": ("final_share", True, "market share at the end"),
    "ai_profit": ("ai_profit", True, "AI gross profit minus AI R&D spend over the run ($B)"),
    "survival": ("alive", True, "share of runs still in business at the end"),
    "big_muddy_spend": ("big_muddy_spend", False, "LLM spend after the next LLM dollar stopped paying back ($B)"),
}
"""Outcome -> (the firm measure behind it, whether more is better, what it is)."""
Z95 = 1.959963984540054  # the normal distribution's 97.5% point


class TournamentSpec(StrictModel):
    """A tournament: policies, the firm slots they take turns in, scenarios and seeds."""

    name: str = Field("tournament", description="A short name")
    description: str = Field("", description="What the tournament asks")
    policies: list[str] = Field(..., min_length=2, max_length=20, description="Policy names (sim/policies.py)")
    slots: list[str] = Field(..., min_length=1, max_length=3, description="Firms whose policy is assigned")
    scenarios: list[str] = Field(..., min_length=1, max_length=50, description="Scenario names or .toml paths")
    replicates: Replicates = Field(..., description="Seeds: count (and base_seed), or a list")
    steps: int | None = Field(None, ge=1, le=200, description="Quarters per run (default: each scenario's)")

    @field_validator("policies")
    @classmethod
    def _known_policies(cls, names: list[str]) -> list[str]:
        for name in names:
            check_policy_name(name)
        return _each_once(names, "each policy once")

    @field_validator("scenarios")
    @classmethod
    def _each_scenario_once(cls, scenarios: list[str]) -> list[str]:
        return _each_once(scenarios, "each scenario once")

    @field_validator("slots")
    @classmethod
    def _named_firms(cls, slots: list[str]) -> list[str]:
        for slot in slots:
            if slot == "*" or slot.strip().isdigit():
                raise ValueError(f"slot {slot!r}: name a firm (not * nor a position)")
        return _each_once(slots, "each slot once")

    @model_validator(mode="after")
    def _seeds_once_and_not_too_big(self) -> TournamentSpec:
        message = "replicates: each seed once (a repeated seed repeats a run and narrows the intervals)"
        _each_once(self.replicates.seed_list(), message)
        if self.run_count() > 10_000_000:
            raise ValueError(f"{self.run_count():,} runs; at most 10,000,000 (fewer seeds, policies or slots)")
        return self

    def run_count(self) -> int:
        """Runs: every assignment of the policies to the slots, in every scenario, with every seed."""
        return len(self.policies) ** len(self.slots) * len(self.scenarios) * len(self.replicates.seed_list())


def _each_once(values: list, message: str) -> list:
    if len(set(values)) != len(values):
        raise ValueError(message)
    return values


def tournament_names() -> list[str]:
    """The tournament specs that come with aisim (``scenarios/tournaments``)."""
    return sorted(p.stem for p in (scenario_dir() / "tournaments").glob("*.toml"))


def load_tournament(name_or_path: str | Path) -> tuple[TournamentSpec, Path]:
    """A validated tournament spec (a file, or the name of a bundled one) and its folder."""
    path = Path(name_or_path)
    if not path.is_file():
        bundled = scenario_dir() / "tournaments" / f"{name_or_path}.toml"
        if path.suffix != ".toml" and len(path.parts) == 1 and bundled.is_file():
            path = bundled
        else:
            raise ParameterError(
                f"{path}: no such tournament spec file, nor a bundled one ({', '.join(tournament_names())})"
            )
    data = read_data(path)
    try:
        return TournamentSpec.model_validate(data), path.parent
    except ValidationError as err:
        raise ParameterError(format_validation_error(err, data, str(path), root=TournamentSpec)) from None


def sweep_spec(spec: TournamentSpec, scenario: str, base_dir: Path | None = None) -> dict[str, Any]:
    """The sweep spec that runs one scenario of a tournament: every assignment, every seed."""
    if base_dir is not None and (scenario.endswith(".toml") or "/" in scenario):
        scenario = str(base_dir / scenario)
    data: dict[str, Any] = {
        "name": f"{spec.name}: {scenario}",
        "scenario": scenario,
        "parameters": {f"firms.{slot}.policy": {"values": list(spec.policies)} for slot in spec.slots},
        "replicates": spec.replicates.model_dump(exclude_none=True),
        "outputs": {
            "measures": ["big_muddy_spend"],
            "firm_measures": sorted({measure for measure, _, _ in OUTCOMES.values()}),
            "chunk_size": 500,
        },
    }
    if spec.steps is not None:
        data["steps"] = spec.steps
    return data


def run_tournament(
    spec: TournamentSpec, base_dir: Path | None = None, workers: int = 1, progress: bool = False
) -> pd.DataFrame:
    """Every run of the tournament: one row per scenario, run and slot, with the slot's policy and the
    slot firm's outcomes (`OUTCOMES`)."""
    from sim.sweeps import sweep

    check(spec, base_dir)
    rows = []
    for scenario in spec.scenarios:
        try:
            runs = sweep(sweep_spec(spec, scenario, base_dir), workers=workers, progress=progress)
        except ParameterError as err:
            raise ParameterError(f"tournament {spec.name!r}, scenario {scenario!r}: {err}") from None
        failed = runs[runs.status != "ok"]
        if len(failed):
            raise ParameterError(f"tournament {spec.name!r}, scenario {scenario!r}: {len(failed)} runs failed, e.g. "
                                 f"{failed.error.iloc[0]}")  # fmt: skip
        for slot in spec.slots:
            table = pd.DataFrame(
                {
                    "scenario": scenario,
                    "run_id": runs.run_id.to_numpy(),
                    "seed": runs.seed.to_numpy(),
                    "slot": slot,
                    "policy": runs[column_name(f"firms.{slot}.policy")].to_numpy(),
                    "others": _policies_of(runs, [s for s in spec.slots if s != slot]),
                }
            )
            for outcome, (measure, _, _) in OUTCOMES.items():
                table[outcome] = runs[firm_column(slot, measure)].to_numpy(dtype=float)
            rows.append(table)
    return pd.concat(rows, ignore_index=True)


def check(spec: TournamentSpec, base_dir: Path | None = None) -> None:
    """Refuse, before anything runs, a policy that cannot be made and a slot that is not a firm of every
    scenario."""
    for policy in spec.policies:
        try:
            check_loadable(policy)
        except ParameterError as err:
            raise ParameterError(f"tournament {spec.name!r}: {err}") from None
    for scenario in spec.scenarios:
        source = sweep_spec(spec, scenario, base_dir)["scenario"]
        try:
            firms = [firm.name for firm in load_scenario(source).firms]
        except ParameterError as err:
            raise ParameterError(f"tournament {spec.name!r}, scenario {scenario!r}: {err}") from None
        missing = [slot for slot in spec.slots if slot not in firms]
        if missing:
            raise ParameterError(
                f"tournament {spec.name!r}, scenario {scenario!r}: no firm {', '.join(map(repr, missing))}; "
                f"firms: {', '.join(firms)}"
            )


def _policies_of(runs: pd.DataFrame, slots: list[str]) -> np.ndarray:
    """The policies of the given slots in each run, as 'a / b' (empty with no other slot)."""
    columns = [runs[column_name(f"firms.{slot}.policy")].astype(str).to_numpy() for slot in slots]
    return np.array([" / ".join(parts) for parts in zip(*columns, strict=True)] or [""] * len(runs), dtype=object)


def rank(results: pd.DataFrame, spec: TournamentSpec) -> pd.DataFrame:
    """One row per slot (in the spec's order) and policy: each outcome's mean with the half-width of its
    95% confidence interval, its paired difference to the first policy with its interval, and the
    policy's rank by final share (1: best).

    Runs that share a scenario and seed share their luck (with several slots, one run per assignment of
    the other slots' policies), so they are one cluster: the mean is the mean of the clusters' means
    (every scenario weighs the same), and the interval is the normal approximation over clusters,
    ``1.96 sd / sqrt(clusters)``. Differences are paired on scenario, seed and the other slots'
    policies, then averaged per cluster the same way. ``clusters`` is n; ``dropped`` counts the
    outcome values that were not finite (a firm that never entered), left out."""
    reference = spec.policies[0]
    key = ["scenario", "seed", "others"]
    out = []
    for slot in spec.slots:
        mine = results[results.slot == slot]
        base = mine[mine.policy == reference].set_index(key_of(mine[mine.policy == reference], key))
        for policy in spec.policies:
            runs = mine[mine.policy == policy]
            clusters = [runs.scenario.to_numpy(), runs.seed.to_numpy()]
            row: dict[str, Any] = {"slot": slot, "policy": policy, "runs": len(runs)}
            row["clusters"] = int(runs.groupby(["scenario", "seed"]).ngroups)
            paired = base.reindex(key_of(runs, key))
            dropped = 0
            for outcome in OUTCOMES:
                values = runs[outcome].to_numpy(dtype=float)
                dropped += int((~np.isfinite(values)).sum())
                row[outcome], row[f"{outcome}_ci"] = _clustered_mean_ci(values, clusters)
                diff = values - paired[outcome].to_numpy(dtype=float)
                row[f"{outcome}_vs_{reference}"], row[f"{outcome}_vs_{reference}_ci"] = _clustered_mean_ci(
                    diff, clusters
                )
            row["dropped"] = dropped
            out.append(row)
    table = pd.DataFrame(out)
    ranks = table.groupby("slot").final_share.rank(ascending=False, method="min", na_option="bottom")
    table["rank"] = ranks.astype(int)  # a policy whose firm never entered ranks last
    order = {slot: i for i, slot in enumerate(spec.slots)}
    table = table.assign(_slot=table.slot.map(order))
    return table.sort_values(["_slot", "rank"], kind="stable").drop(columns="_slot").reset_index(drop=True)


def by_scenario(results: pd.DataFrame, spec: TournamentSpec, outcome: str = "final_share") -> pd.DataFrame:
    """An outcome's mean for each slot, policy and scenario (rows: slot and policy; columns: scenarios):
    which world a policy wins in."""
    table = results.groupby(["slot", "policy", "scenario"], sort=False)[outcome].mean().unstack("scenario")
    return table[list(spec.scenarios)]


def key_of(frame: pd.DataFrame, key: list[str]) -> pd.MultiIndex:
    """The pairing key of each row: the same scenario, seed and the other slots' policies."""
    return pd.MultiIndex.from_frame(frame[key].astype(str))


def _clustered_mean_ci(values: np.ndarray, clusters: list[np.ndarray]) -> tuple[float, float]:
    """The mean of the clusters' means (over their finite values) and the half-width of its 95% interval,
    normal approximation over clusters; NaN half-width with one cluster."""
    frame = pd.DataFrame({"value": values, "a": clusters[0], "b": clusters[1]})
    frame = frame[np.isfinite(frame.value)]
    means = frame.groupby(["a", "b"]).value.mean().to_numpy()
    if len(means) == 0:
        return float("nan"), float("nan")
    if len(means) == 1:
        return float(means[0]), float("nan")
    return float(means.mean()), float(Z95 * means.std(ddof=1) / np.sqrt(len(means)))


def tournament_table(ranked: pd.DataFrame, spec: TournamentSpec, digits: int = 3) -> str:
    """The ranking as a Markdown table: mean [95% interval], and each outcome's difference to the first
    policy (paired on scenario and seed)."""
    reference = spec.policies[0]
    header = ["slot", "rank", "policy", *OUTCOMES, *(f"{o} vs {reference}" for o in ("final_share", "ai_profit"))]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in ranked.itertuples(index=False):
        data = row._asdict()
        cells = [str(data["slot"]), str(data["rank"]), f"`{data['policy']}`"]
        for outcome in OUTCOMES:
            cells.append(interval_text(data[outcome], data[f"{outcome}_ci"], digits))
        for outcome in ("final_share", "ai_profit"):
            if data["policy"] == reference:
                cells.append("")
            else:
                cells.append(
                    interval_text(data[f"{outcome}_vs_{reference}"], data[f"{outcome}_vs_{reference}_ci"], digits, True)
                )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def interval_text(mean: float, half: float, digits: int = 3, signed: bool = False) -> str:
    """``mean ± half`` as the tables show it (the command line's and the Strategies tab's)."""
    text = _number(mean, digits, signed)
    if not np.isfinite(half):
        return text
    if half == 0:  # every cluster alike: no interval to give
        return f"{text} (every run)"
    return f"{text} ± {_number(half, 2)}"


def _number(value: float, digits: int, signed: bool = False) -> str:
    """Three significant digits, but whole thousands written out (-1,420 rather than -1.42e+03)."""
    sign = "+" if signed else ""
    if np.isfinite(value) and abs(value) >= 10 ** (digits - 1) - 0.5:  # whole numbers, never 1e+03
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.{digits}g}"


def scenario_table(results: pd.DataFrame, spec: TournamentSpec, outcome: str = "final_share") -> str:
    """`by_scenario` as a Markdown table."""
    table = by_scenario(results, spec, outcome)
    header = ["slot", "policy", *spec.scenarios]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (slot, policy), row in table.iterrows():
        cells = [slot, f"`{policy}`", *(_number(row[s], 3) for s in spec.scenarios)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
