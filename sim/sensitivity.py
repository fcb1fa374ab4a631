"""Global sensitivity analysis: which parameters do the outcomes really depend on?

Sobol indices (Saltelli sampling; first-order S1 and total ST with bootstrap confidence
intervals) and Morris elementary effects (mu*, sigma), computed by SALib. The pipeline
works on the unit cube: `analyse` takes any function of points in [0, 1)^D, which is how
it is checked against the Ishigami function's published indices. `model_sensitivity`
maps the unit cube onto the distributions a sweep spec declares, runs every point over the
spec's seeds through the lockstep engine, and analyses the mean outcome per point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sim.outputs import never_as_end
from sim.params import ParameterError, validate_scenario
from sim.sweep_spec import SweepSpec, load_spec, runs_for_sets, spec_from_data
from sim.sweeps import run_plan

Method = Literal["sobol", "morris"]
MORRIS_LEVELS = 4


def unit_problem(names: list[str]) -> dict:
    """A SALib problem over the unit cube, one dimension per parameter."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def salib_problem(spec: str | Path | SweepSpec | dict) -> dict:
    """A SALib problem for a sweep spec's parameters, over the ranges it declares: ``names`` as the
    spec names them, ``bounds`` and ``dists``. A ``uniform`` distribution is ``unif`` over low to high,
    ``loguniform`` is ``logunif``; an ``integer`` one is ``unif`` over low to high + 1, whose samples
    are floored to whole numbers (what the spec's own sampler does); a grid's numeric values or range
    is ``unif`` over their least to their greatest value."""
    from sim.sweeps import load_sweep

    spec, _ = load_sweep(spec)
    names, bounds, dists = [], [], []
    for name, parameter in spec.parameters.items():
        if parameter.distribution is not None:
            low, high = parameter.low, parameter.high + (1 if parameter.distribution == "integer" else 0)
            dist = "logunif" if parameter.distribution == "loguniform" else "unif"
        else:
            values = parameter.grid_values()
            if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values) or len(set(values)) < 2:
                raise ParameterError(
                    f"parameters.{name}: values {values!r} are not a numeric range; a SALib problem needs "
                    "at least two numbers (or a distribution) for every parameter"
                )
            low, high, dist = min(values), max(values), "unif"
        names.append(name)
        bounds.append([float(low), float(high)])
        dists.append(dist)
    if not names:
        raise ParameterError(f"sweep spec {spec.name!r}: varies no parameter, so there is no SALib problem")
    return {"num_vars": len(names), "names": names, "bounds": bounds, "dists": dists}


def sample(method: Method, names: list[str], samples: int, seed: int) -> np.ndarray:
    """Points in [0, 1]^D: Saltelli's scheme for Sobol (samples * (D + 2) points, no second
    order), or ``samples`` Morris trajectories (samples * (D + 1) points)."""
    problem = unit_problem(names)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)


def analyse(
    method: Method,
    names: list[str],
    points: np.ndarray,
    outcomes: dict[str, np.ndarray],
    seed: int = 0,
) -> pd.DataFrame:
    """Indices for every outcome: one row per outcome, parameter and index, with its CI half-width."""
    problem = unit_problem(names)
    rows = []
    for outcome, values in outcomes.items():
        values = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(values)):
            raise ParameterError(f"outcome {outcome} has missing values; sensitivity needs a value for every point")
        if method == "sobol":
            from SALib.analyze import sobol

            result = sobol.analyze(problem, values, calc_second_order=False, seed=seed)
            pairs = (("S1", "S1_conf"), ("ST", "ST_conf"))
        else:
            from SALib.analyze import morris

            result = morris.analyze(problem, points, values, num_levels=MORRIS_LEVELS, seed=seed)
            pairs = (("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None))
        for index, conf in pairs:
            for j, name in enumerate(names):
                rows.append(
                    {
                        "outcome": outcome,
                        "parameter": name,
                        "index": index,
                        "value": float(result[index][j]),
                        "conf": float(result[conf][j]) if conf else np.nan,
                    }
                )
    return pd.DataFrame(rows)


def analyse_function(
    method: Method, names: list[str], function: Callable[[np.ndarray], dict[str, np.ndarray]], samples: int, seed: int
) -> pd.DataFrame:
    """Sample the unit cube, evaluate ``function`` on the points, analyse: the whole pipeline."""
    points = sample(method, names, samples, seed)
    return analyse(method, names, points, function(points), seed)


def model_sensitivity(
    spec: str | Path | dict,
    method: Method = "sobol",
    samples: int | None = None,
    workers: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """Sensitivity of the spec's outcome measures to its parameters, over their declared ranges.

    Every parameter of the spec needs a distribution with low and high. Each sampled point
    runs with every seed of the spec's replicates (common random numbers across points) and
    its outcome is the mean over those seeds; a step measure that never happens counts as
    the end of the run.
    """
    spec_model, base = load_spec(spec) if not isinstance(spec, dict) else spec_from_data(spec)
    names = list(spec_model.parameters)
    missing = [n for n, p in spec_model.parameters.items() if p.distribution is None]
    if not names or missing:
        raise ParameterError(
            "sensitivity needs every parameter to have a distribution with low and high"
            + (f"; missing for: {', '.join(missing)}" if missing else "")
        )
    samples = samples or spec_model.samples or 64
    points = sample(method, names, samples, spec_model.sampler_seed)
    sets = pd.DataFrame({n: spec_model.parameters[n].from_unit(points[:, j]) for j, n in enumerate(names)})
    plan = runs_for_sets(sets, spec_model.replicates.seed_list())
    runs = run_plan(plan, base, spec_model, workers=workers, progress=progress)
    failed = runs[runs.status != "ok"]
    if len(failed):
        raise ParameterError(f"{len(failed)} runs failed, e.g.: {failed.error.iloc[0]}")
    steps = spec_model.steps or validate_scenario(base).environment.steps
    outcomes = {}
    for measure in spec_model.outputs.measures:
        values = runs[measure].to_numpy(dtype=float)
        if measure.endswith("_step"):
            values = never_as_end(values, steps)
        outcomes[measure] = pd.Series(values).groupby(runs.set_id.to_numpy()).mean().to_numpy()
    return analyse(method, names, points, outcomes, spec_model.sampler_seed)
