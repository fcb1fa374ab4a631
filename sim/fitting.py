"""Fitting a scenario's free parameters to its calibration targets: `aisim calibrate --fit SPEC`.

A fit spec (TOML) names the scenario, the free parameters with their bounds, the calibration
targets of `sim.calibration` to meet, and how many seeds each candidate runs. The objective is the
sum over targets of ((median over seeds - middle of the accepted range) / half its width)^2: a
candidate inside every range scores under the number of targets. Each candidate runs all its seeds
in lockstep through the ensemble engine (common random numbers, so candidates differ only by their
parameters); SciPy's bounded Nelder-Mead searches the unit box of the bounds. Only calibration
targets may enter the objective: validation targets and inputs are refused, so whatever the fit
does, the validation targets stay out of sample. The fitted values are written into the scenario
file only on request (`write_fitted`).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator
from scipy.optimize import minimize

from sim.calibration import TARGETS, Target
from sim.ensemble import run_seeds
from sim.files import write_atomically
from sim.params import ParameterError, Scenario, StrictModel, format_validation_error, validate_scenario
from sim.scenarios import apply_overrides, read_data, read_scenario_data, resolve


class FitSpec(StrictModel):
    """What to fit: free parameters with bounds, the calibration targets, seeds per candidate."""

    scenario: str = Field("baseline", description="Scenario name or file whose parameters are fitted")
    targets: list[str] = Field(..., min_length=1, description="Figures of calibration targets (sim.calibration)")
    parameters: dict[str, tuple[float, float]] = Field(
        ..., min_length=1, description="Free parameter (names as for --set) -> [low, high] bounds"
    )
    seeds: int = Field(20, ge=1, le=1000, description="Seeds each candidate runs (common to all candidates)")
    steps: int = Field(12, ge=1, le=400, description="Quarters each candidate runs (enough for every target)")
    max_evaluations: int = Field(300, ge=1, le=100_000, description="Most candidates the optimiser may try")

    @model_validator(mode="after")
    def _check(self) -> FitSpec:
        for name, (low, high) in self.parameters.items():
            if not low < high:
                raise ValueError(f"parameters.{name}: bounds [{low:g}, {high:g}] need low < high")
        return self


def target_by_figure(figure: str) -> Target:
    """The calibration target with this figure; validation targets and inputs are refused."""
    known = {t.figure: t for t in TARGETS}
    if figure not in known:
        raise ParameterError(f"fit target '{figure}': unknown; calibration targets: {_calibration_figures()}")
    target = known[figure]
    if target.kind != "calibration":
        raise ParameterError(
            f"fit target '{figure}' is a {target.kind} target: only calibration targets may enter the fit's "
            f"objective (a validation target fitted to is no longer a test); calibration targets: "
            f"{_calibration_figures()}"
        )
    return target


def _calibration_figures() -> str:
    return "; ".join(t.figure for t in TARGETS if t.kind == "calibration")


def load_fit_spec(path: str | Path) -> tuple[FitSpec, dict, list[Target]]:
    """A validated fit spec, its scenario's plain data and its targets (bounds checked on the scenario)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: no such fit spec file")
    data = read_data(path)
    try:
        spec = FitSpec.model_validate(data)
    except ValidationError as err:
        raise ParameterError(format_validation_error(err, data, str(path), root=FitSpec)) from None
    try:
        targets = [target_by_figure(figure) for figure in spec.targets]
        base = read_scenario_data(resolve(spec.scenario))
        scenario = validate_scenario(base, spec.scenario)
        for name, bounds in spec.parameters.items():
            _current(scenario, name)  # a name the fit can read and write back
            for value in bounds:
                validate_scenario(apply_overrides(base, {name: value}), f"parameters.{name} = {value!r}")
        try:
            target_values(scenario, targets, 1, spec.steps)
        except ValueError as err:
            raise ParameterError(f"steps = {spec.steps}: {err}") from None
    except ParameterError as err:
        raise ParameterError(f"{path}: {err}") from None
    return spec, base, targets


@dataclass
class FitResult:
    """Where the fit started and ended, the residual of each target at both, and how it searched."""

    parameters: pd.DataFrame  # name, low, high, start, fitted
    residuals: pd.DataFrame  # figure, range, start, fitted (model medians), z_start, z_fitted
    objective_start: float
    objective_fitted: float
    evaluations: int
    converged: bool

    @property
    def fitted(self) -> dict[str, float]:
        return dict(zip(self.parameters.name, self.parameters.fitted, strict=True))


def target_values(scenario: Scenario, targets: Sequence[Target], seeds: int, steps: int) -> np.ndarray:
    """Median over seeds 0 .. seeds-1 of each target's measure."""
    history = run_seeds(scenario, list(range(seeds)), steps)
    return np.array([float(np.median(t.measure(history, scenario))) for t in targets])


def standardised(values: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
    """(value - middle of the accepted range) / half its width: inside the range is within +-1."""
    middle = np.array([(t.low + t.high) / 2 for t in targets])
    half = np.array([(t.high - t.low) / 2 for t in targets])
    return (values - middle) / half


def fit(
    spec: FitSpec,
    base: dict,
    targets: Sequence[Target],
    progress: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Minimise the sum of squared standardised residuals over the spec's bounds."""
    names = list(spec.parameters)
    low = np.array([spec.parameters[n][0] for n in names])
    high = np.array([spec.parameters[n][1] for n in names])
    start_scenario = validate_scenario(base)
    start = np.clip([_current(start_scenario, n) for n in names], low, high)
    evaluations = 0

    def scenario_at(unit: np.ndarray) -> Scenario:
        values = low + np.clip(unit, 0.0, 1.0) * (high - low)
        return validate_scenario(apply_overrides(base, dict(zip(names, values.tolist(), strict=True))), "fit")

    def objective(unit: np.ndarray) -> float:
        nonlocal evaluations
        evaluations += 1
        z = standardised(target_values(scenario_at(unit), targets, spec.seeds, spec.steps), targets)
        score = float(np.sum(z * z))
        score = score if np.isfinite(score) else 1e12  # a candidate the measures cannot score
        if progress is not None:
            progress(evaluations, score)
        return score

    unit_start = (start - low) / (high - low)
    result = minimize(
        objective,
        unit_start,
        method="Nelder-Mead",
        bounds=[(0.0, 1.0)] * len(names),
        options={"maxfev": spec.max_evaluations, "xatol": 1e-4, "fatol": 1e-6, "initial_simplex": _simplex(unit_start)},
    )
    fitted = low + np.clip(result.x, 0.0, 1.0) * (high - low)
    before = target_values(scenario_at(unit_start), targets, spec.seeds, spec.steps)
    after = target_values(scenario_at(result.x), targets, spec.seeds, spec.steps)
    z_before, z_after = standardised(before, targets), standardised(after, targets)
    return FitResult(
        parameters=pd.DataFrame({"name": names, "low": low, "high": high, "start": start, "fitted": fitted}),
        residuals=pd.DataFrame(
            {
                "figure": [t.figure for t in targets],
                "range": [f"{t.low:g} to {t.high:g}" for t in targets],
                "start": before,
                "fitted": after,
                "z_start": z_before,
                "z_fitted": z_after,
            }
        ),
        objective_start=float(np.sum(z_before**2)),
        objective_fitted=float(np.sum(z_after**2)),
        evaluations=evaluations,
        converged=bool(result.success),
    )


def _simplex(unit_start: np.ndarray) -> np.ndarray:
    """A starting simplex a fifth of the box wide around the start, kept inside the box."""
    points = [unit_start]
    for i in range(len(unit_start)):
        point = unit_start.copy()
        point[i] = point[i] + 0.2 if point[i] <= 0.8 else point[i] - 0.2
        points.append(point)
    return np.array(points)


def _current(scenario: Scenario, name: str) -> float:
    """The scenario's value of a fit parameter, named environment.FIELD, drivers.FIELD or
    firms.NAME.TRAIT (the forms the fit can write back into a file)."""
    group, _, rest = name.partition(".")
    if group in ("environment", "drivers") and rest in type(getattr(scenario, group)).model_fields:
        return float(getattr(getattr(scenario, group), rest))
    if group == "firms":
        firm_name, _, trait = rest.rpartition(".")
        firm = next((f for f in scenario.firms if f.name == firm_name), None)
        if firm is not None and trait in type(firm).model_fields:
            return float(getattr(firm, trait))
    raise ParameterError(
        f"fit parameter '{name}': write environment.FIELD, drivers.FIELD or firms.NAME.TRAIT with a firm's "
        f"name (firms: {', '.join(f.name for f in scenario.firms)})"
    )


def write_fitted(path: Path, fitted: dict[str, float]) -> list[str]:
    """Write fitted values into a scenario file, changing only their lines; returns what changed.

    Environment and driver values go in their section (the line is added if the file inherits
    it); a firm's trait goes in that firm's ``[[firms]]`` block. The file is replaced atomically
    and only after the new text loads as a valid scenario.
    """
    lines = path.read_text().splitlines()
    changes = []
    for name, value in fitted.items():
        group, _, rest = name.partition(".")
        if group in ("environment", "drivers"):
            block = _block(lines, lambda line, g=group: line.strip() == f"[{g}]")
            key = rest
        elif group == "firms":
            firm_name, _, key = rest.rpartition(".")
            block = _firm_block(lines, firm_name)
        else:
            raise ParameterError(
                f"{path}: cannot write '{name}': write environment.FIELD, drivers.FIELD or firms.NAME.TRAIT"
            )
        if block is None:
            raise ParameterError(f"{path}: no section for '{name}' to write into")
        start, end = block
        text = f"{key} = {value:.6g}"
        for i in range(start + 1, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                changes.append(f"{name}: {lines[i].split('=', 1)[1].strip()} -> {value:.6g}")
                lines[i] = text
                break
        else:
            lines.insert(start + 1, text)
            changes.append(f"{name}: (inherited) -> {value:.6g}")
    new_text = "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / path.name
        probe.write_text(new_text)
        validate_scenario(read_scenario_data(probe), str(path))  # nothing is written unless it loads
    write_atomically(path, lambda temporary: Path(temporary).write_text(new_text))
    return changes


def _block(lines: list[str], is_header: Callable[[str], bool]) -> tuple[int, int] | None:
    """(header line, end line) of the first TOML table whose header matches."""
    for i, line in enumerate(lines):
        if is_header(line):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith("[")), len(lines))
            return i, end
    return None


def _firm_block(lines: list[str], firm_name: str) -> tuple[int, int] | None:
    for i, line in enumerate(lines):
        if line.strip() == "[[firms]]":
            end = next((j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith("[")), len(lines))
            if any(re.match(rf'\s*name\s*=\s*"{re.escape(firm_name)}"\s*$', lines[j]) for j in range(i + 1, end)):
                return i, end
    return None
