"""Sweep spec files: what to vary, how to sample it, how many replicates, what to keep.

A spec is TOML validated by the pydantic models below, in the spirit of NetLogo's
BehaviorSpace and the EMA Workbench: parameters with values, ranges or distributions, a
design (full grid, Latin hypercube or Sobol), replicates, and the outputs to keep.
`plan_runs` turns a spec into its runs: one row per (parameter set, seed).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, StrictInt, ValidationError, model_validator

from sim.params import MAX_SEED, ParameterError, Scenario, StrictModel, format_validation_error, validate_scenario
from sim.policies import check_loadable
from sim.scenarios import (
    apply_overrides,
    overlapping_overrides,
    read_data,
    read_scenario_data,
    resolve,
    scenario_dir,
)
from sim.tables import KEY_COLUMNS_OF_RUNS, check_unique, column_name, firm_column
from sim.variables import FIRM_MEASURES, FIRM_VARIABLES, MARKET_VARIABLES, RUN_MEASURES

Value = float | int | bool | str
MAX_GRID_VALUES = 100_000  # values one range may give
MAX_RUNS = 100_000_000  # runs one sweep may plan (its plan table alone is ~3 GB at that size)
FINITE = ConfigDict(allow_inf_nan=False)


class Range(StrictModel):
    """Evenly spaced values from start to stop (inclusive), ``step`` apart."""

    model_config = FINITE
    start: float
    stop: float
    step: float = Field(..., gt=0, description="Distance between values (> 0)")

    @model_validator(mode="after")
    def _not_too_many(self) -> Range:
        if self.start <= self.stop and self.count() > MAX_GRID_VALUES:
            raise ValueError(
                f"range from {self.start:g} to {self.stop:g} in steps of {self.step:g} gives {self.count():,} values; "
                f"at most {MAX_GRID_VALUES:,} (use a larger step, or an lhs or sobol design)"
            )
        return self

    def count(self) -> int:
        """How many values the range gives."""
        return int(np.floor((self.stop - self.start) / self.step + 1e-9)) + 1

    def values(self) -> list[float]:
        return [float(self.start + i * self.step) for i in range(self.count())]


class ParameterSpec(StrictModel):
    """How one parameter varies: a list of values, a range, or a distribution to sample."""

    model_config = FINITE
    values: list[Value] | None = Field(None, min_length=1, description="Explicit values (grid design)")
    range: Range | None = Field(None, description="start, stop, step (grid design)")
    distribution: Literal["uniform", "loguniform", "integer"] | None = Field(
        None, description="Distribution to sample (lhs and sobol designs)"
    )
    low: float | None = Field(None, description="Lower bound of the distribution")
    high: float | None = Field(None, description="Upper bound of the distribution")

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        kinds = [k for k in ("values", "range", "distribution") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of values, range or distribution (got {', '.join(kinds) or 'none'})")
        if self.range is not None and self.range.start > self.range.stop:
            raise ValueError(f"empty range: start {self.range.start:g} is above stop {self.range.stop:g}")
        if self.distribution is not None:
            if self.low is None or self.high is None:
                raise ValueError(f"a {self.distribution} distribution needs both low and high bounds")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
            if self.distribution == "integer" and not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise ValueError(
                    f"an integer distribution needs whole-number bounds (got low {self.low:g}, high {self.high:g})"
                )
            if self.distribution == "loguniform" and self.low <= 0:
                raise ValueError(f"a loguniform distribution needs low > 0 (got {self.low:g})")
        elif self.low is not None or self.high is not None:
            raise ValueError("low and high go with a distribution")
        return self

    def grid_count(self) -> int:
        """How many values this parameter takes in a grid."""
        return len(self.values) if self.values is not None else self.range.count()

    def grid_values(self) -> list[Value]:
        """The values this parameter takes in a grid."""
        return list(self.values) if self.values is not None else self.range.values()

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of [0, 1) onto the distribution."""
        if self.distribution == "loguniform":
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        if self.distribution == "integer":
            return np.minimum(np.floor(self.low + u * (self.high - self.low + 1)), self.high).astype(int)
        return self.low + u * (self.high - self.low)


class Replicates(StrictModel):
    """Seeds to run every parameter set with: a list, or a count from a base seed."""

    count: StrictInt | None = Field(
        None, ge=1, le=10_000_000, description="Number of seeds: base_seed, base_seed + 1, ..."
    )
    base_seed: StrictInt = Field(0, ge=0, le=MAX_SEED, description="First seed when count is given")
    seeds: list[StrictInt] | None = Field(None, min_length=1, description="Explicit seeds (whole numbers)")

    @model_validator(mode="after")
    def _one_kind(self) -> Replicates:
        if (self.count is None) == (self.seeds is None):
            raise ValueError("give either count (with an optional base_seed) or seeds")
        if self.seeds is not None and not all(0 <= seed <= MAX_SEED for seed in self.seeds):
            wrong = next(seed for seed in self.seeds if not 0 <= seed <= MAX_SEED)
            raise ValueError(f"seed {wrong} is not allowed; seeds are whole numbers from 0 to {MAX_SEED} (2^63 - 1)")
        if self.count is not None and self.base_seed + self.count - 1 > MAX_SEED:
            raise ValueError(f"base_seed + count - 1 must be at most {MAX_SEED} (2^63 - 1)")
        return self

    def seed_list(self) -> list[int]:
        return list(self.seeds) if self.seeds is not None else list(range(self.base_seed, self.base_seed + self.count))


class Outputs(StrictModel):
    """What a sweep keeps: per-run measures always; per-step series only when asked."""

    measures: list[str] = Field(default_factory=lambda: list(RUN_MEASURES), description="Per-run measures")
    firm_measures: list[str] = Field(
        default_factory=lambda: ["final_share", "mean_x", "pivot_step"], description="Per-firm measures, per run"
    )
    series: list[str] = Field(default_factory=list, description="Per-step variables to keep (firm or market)")
    chunk_size: int = Field(500, ge=1, le=100_000, description="Runs per chunk (the unit of work and of resuming)")

    @model_validator(mode="after")
    def _known(self) -> Outputs:
        for label, names, valid in (
            ("measures", self.measures, RUN_MEASURES),
            ("firm_measures", self.firm_measures, FIRM_MEASURES),
            ("series", self.series, {**FIRM_VARIABLES, **MARKET_VARIABLES}),
        ):
            unknown = [n for n in names if n not in valid]
            if unknown:
                raise ValueError(f"{label}: unknown {', '.join(unknown)}; valid: {', '.join(valid)}")
        return self


class SweepSpec(StrictModel):
    """A whole sweep: base scenario, parameters, design, replicates and outputs."""

    name: str = Field("sweep", min_length=1, description="Name of the sweep")
    description: str = Field("", description="What the sweep asks")
    scenario: str = Field("baseline", description="Base scenario: a library name or a .toml path")
    steps: int | None = Field(None, ge=1, le=200, description="Quarters per run (default: the scenario's)")
    design: Literal["grid", "lhs", "sobol"] = Field("grid", description="Full grid, Latin hypercube or Sobol")
    samples: int | None = Field(None, ge=1, le=10_000_000, description="Parameter sets to sample (lhs, sobol)")
    sampler_seed: int = Field(0, ge=0, description="Seed of the sampler (lhs, sobol)")
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict, description="Parameters to vary")
    replicates: Replicates = Field(default_factory=lambda: Replicates(count=1), description="Seeds per set")
    outputs: Outputs = Field(default_factory=Outputs, description="What to keep")

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        kinds = {name: "distribution" if p.distribution else "grid" for name, p in self.parameters.items()}
        if self.design == "grid":
            sampled = [n for n, k in kinds.items() if k == "distribution"]
            if sampled:
                raise ValueError(f"design 'grid' needs values or a range for: {', '.join(sampled)}")
            if self.samples is not None:
                raise ValueError("samples goes with the lhs and sobol designs, not grid")
        else:
            unbounded = [n for n, k in kinds.items() if k != "distribution"]
            if unbounded:
                raise ValueError(
                    f"design '{self.design}' samples every parameter: give a distribution with low and high "
                    f"for: {', '.join(unbounded)}"
                )
            if not self.parameters:
                raise ValueError(f"design '{self.design}' needs at least one parameter to sample")
            if self.samples is None:
                raise ValueError(f"design '{self.design}' needs samples (the number of parameter sets)")
            if self.design == "sobol" and self.samples & (self.samples - 1):
                raise ValueError(f"design 'sobol' needs samples to be a power of 2 (got {self.samples})")
        if self.run_count() > MAX_RUNS:
            raise ValueError(
                f"the sweep plans {self.set_count():,} parameter sets x {self.seed_count():,} seeds = "
                f"{self.run_count():,} runs; at most {MAX_RUNS:,} per sweep (split it into several sweeps)"
            )
        return self

    def set_count(self) -> int:
        """How many parameter sets the design gives (without building them)."""
        if self.design != "grid":
            return self.samples
        return math.prod(p.grid_count() for p in self.parameters.values())

    def seed_count(self) -> int:
        return self.replicates.count if self.replicates.seeds is None else len(self.replicates.seeds)

    def run_count(self) -> int:
        """How many runs the sweep plans: parameter sets x seeds."""
        return self.set_count() * self.seed_count()

    def digest(self) -> str:
        """A hash of the spec's content: resuming is refused when it changed."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_spec(path: str | Path) -> tuple[SweepSpec, dict]:
    """A validated spec (a file, or the name of a bundled one: `spec_names`) and the plain data of its
    base scenario (checked with every parameter's extremes)."""
    path = spec_path(path)
    return spec_from_data(read_data(path), str(path), base_dir=path.parent)


def spec_names() -> list[str]:
    """The sweep specs that come with aisim (``scenarios/sweeps``; in a wheel, with its scenarios)."""
    return sorted(p.stem for p in (scenario_dir() / "sweeps").glob("*.toml"))


def spec_path(name_or_path: str | Path) -> Path:
    """The file behind a sweep spec path or bundled name; ParameterError listing the names if neither."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = scenario_dir() / "sweeps" / f"{name_or_path}.toml"
    if path.suffix != ".toml" and len(path.parts) == 1 and bundled.is_file():
        return bundled
    if path.is_dir():
        raise ParameterError(f"{path}: is a folder, not a sweep spec file")
    raise ParameterError(f"{path}: no such sweep spec file, nor a bundled spec ({', '.join(spec_names())})")


def spec_from_data(data: dict, source: str = "sweep spec", base_dir: Path | None = None) -> tuple[SweepSpec, dict]:
    """Validate spec data; resolve and check its base scenario and every parameter's values."""
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        raise ParameterError(format_validation_error(err, data, source, root=SweepSpec)) from None
    try:
        scenario_path = _scenario_path(spec.scenario, base_dir)
        base = read_scenario_data(scenario_path)
        validate_scenario(base, str(scenario_path))
    except ParameterError as err:
        raise ParameterError(f"{source}: scenario = {spec.scenario!r}: {err}") from None
    for first, second in overlapping_overrides(base, list(spec.parameters))[:1]:
        raise ParameterError(
            f"{source}: parameters '{first}' and '{second}' set the same field; vary it under one name"
        )
    _check_columns(spec, base, source)
    for name in policy_names(spec, base):  # before anything runs, not in every run
        try:
            check_loadable(name)
        except ParameterError as err:
            raise ParameterError(f"{source}: {err}") from None
    for name, parameter in spec.parameters.items():
        if parameter.values is not None:
            probes = parameter.values
        elif parameter.range is not None:  # evenly spaced: its two ends bound every value
            probes = [parameter.range.start, parameter.range.values()[-1]]
        else:
            probes = [parameter.low, parameter.high]
            if parameter.distribution == "integer":
                probes = [int(parameter.low), int(parameter.high)]
        for value in probes:
            try:
                validate_scenario(apply_overrides(base, {name: value}), f"parameters.{name} = {value!r}")
            except ParameterError as err:
                raise ParameterError(f"{source}: {err}") from None
    return spec, base


def policy_names(spec: SweepSpec, base: dict) -> list[str]:
    """Every policy a sweep's runs may use: the base scenario's firms' and the values of ``*.policy``
    parameters."""
    names = [str(firm.get("policy", "biased")) for firm in base.get("firms", [])]
    for name, parameter in spec.parameters.items():
        if name.endswith(".policy") and parameter.values is not None:
            names += [str(value) for value in parameter.values]
    return sorted(set(names))


def _check_columns(spec: SweepSpec, base: dict, source: str) -> None:
    """Refuse names that would share a column of the results (`sim.tables.column_name`)."""
    firms = [firm["name"] for firm in base.get("firms", [])]
    names = {name: name for name in (*KEY_COLUMNS_OF_RUNS, *spec.outputs.measures)}
    names.update({name: column_name(name) for name in spec.parameters})
    names.update({f"{f}.{m}": firm_column(f, m) for m in spec.outputs.firm_measures for f in firms})
    check_unique(names, source)


def _scenario_path(name: str, base_dir: Path | None) -> Path:
    """A spec file's scenario: a library name, or a path relative to the spec's own folder (never
    to the current folder); a spec given as data resolves paths as the command line does."""
    if base_dir is not None and (name.endswith(".toml") or "/" in name or "\\" in name):
        return resolve(base_dir / name)
    return resolve(name)


def parameter_sets(spec: SweepSpec) -> pd.DataFrame:
    """One row per parameter set, one column per varied parameter."""
    names = list(spec.parameters)
    if not names:
        return pd.DataFrame(index=pd.RangeIndex(1))
    if spec.design == "grid":
        grids = [spec.parameters[n].grid_values() for n in names]
        mesh = np.array(np.meshgrid(*[np.arange(len(g)) for g in grids], indexing="ij")).reshape(len(names), -1).T
        return pd.DataFrame({n: [grids[j][i] for i in mesh[:, j]] for j, n in enumerate(names)})
    unit = _unit_sample(spec.design, len(names), spec.samples, spec.sampler_seed)
    return pd.DataFrame({n: spec.parameters[n].from_unit(unit[:, j]) for j, n in enumerate(names)})


def _unit_sample(design: str, dimensions: int, samples: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    if design == "lhs":
        return qmc.LatinHypercube(d=dimensions, seed=seed).random(samples)
    return qmc.Sobol(d=dimensions, scramble=True, seed=seed).random(samples)


def plan_runs(spec: SweepSpec) -> pd.DataFrame:
    """Every run of the sweep: run_id, set_id, seed and the varied parameters' values."""
    return runs_for_sets(parameter_sets(spec), spec.replicates.seed_list())


def runs_for_sets(sets: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    """Every parameter set (a row of ``sets``) with every seed: run_id, set_id, seed, parameters."""
    repeats = len(seeds)
    columns = {
        "run_id": np.arange(len(sets) * repeats, dtype=np.int64),
        "set_id": np.repeat(np.arange(len(sets), dtype=np.int64), repeats),
        "seed": np.tile(np.asarray(seeds, dtype=np.int64), len(sets)),
    }
    columns.update({name: np.repeat(sets[name].to_numpy(), repeats) for name in sets.columns})
    return pd.DataFrame(columns)


def build_scenario(base: dict, overrides: dict[str, Any]) -> Scenario:
    """The scenario of one parameter set."""
    return validate_scenario(apply_overrides(base, overrides) if overrides else base, "sweep run")
