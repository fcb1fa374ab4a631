"""An EMA Workbench adapter: aisim as an EMA model, and an evaluator that runs it in lockstep.

`build_model` makes an EMA ``ReplicatorModel`` of a scenario: its uncertainties and levers are
aisim parameters (named as ``aisim run --set`` takes them) with the bounds the parameter models
declare, its outcomes are run measures and firm measures, and its replications are seeds.
Its function runs the Mesa model (`sim.model.AIRaceModel`) once per replication, so EMA's own
evaluators run it as any Python model::

    from ema_workbench import perform_experiments
    from sim.ema import LockstepEvaluator, build_model

    model = build_model("baseline", {"environment.llm_ceiling": (1.3, 5.0), "drivers.sunk_cost": None},
                        ["llm_spend_share", "Meta_like__pivot_step"], seeds=range(5))
    with LockstepEvaluator(model, workers=2) as evaluator:          # ~100x faster than the Mesa path
        experiments, outcomes = evaluator.perform_experiments(scenarios=600)
    experiments, outcomes = perform_experiments(model, scenarios=600)  # the same numbers, one run at a time

`LockstepEvaluator` sends EMA's experiments through the sweep engine (`sim.sweeps.run_plan`):
each experiment is a parameter set run with every seed, many sets advance together in lockstep
chunks, in this process or on ``workers`` local processes. Every run equals the Mesa model with
the same parameters and seed bit for bit, and outcomes are processed by the model's own
`ScalarOutcome` functions over the replications in seed order, so both paths give identical
outcomes.

Names. EMA wants Python identifiers; aisim's parameter names have dots, ``*`` and firm names
with dashes. An EMA parameter is named by `sim.tables.column_name` (``firms.Meta-like.rivalry``
-> ``firms__Meta_like__rivalry``, the column name of sweep results) and carries the aisim name
as its ``variable_name``, which is what the model function receives; `parameter_name` maps an
identifier back for a scenario. A firm measure outcome is named as the results' wide column,
``FIRM__MEASURE`` (`sim.tables.firm_column`).

Seeds. An experiment is one parameter set; its replications are the seeds (``[{"seed": s}, ...]``,
the same seeds for every experiment: common random numbers, as in a sweep). An outcome is the
mean over the seeds (``function=np.mean``; a step measure that never happened is NaN, so its mean
is NaN too). A failed experiment (parameters that are valid alone but not together, or a run whose
state became NaN or infinity) is recorded as EMA records failures: a warning in EMA's log and
masked values in the outcome arrays; the other experiments complete.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

try:
    with warnings.catch_warnings():  # it warns, on import, that an evaluator aisim does not use is missing
        warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
        from ema_workbench import Constant, IntegerParameter, RealParameter, ReplicatorModel, ScalarOutcome
    from ema_workbench.em_framework.evaluators import BaseEvaluator
    from ema_workbench.em_framework.parameters import Parameter
    from ema_workbench.util import ExperimentError, get_module_logger
except ImportError as err:  # an optional extra
    raise ImportError("sim.ema needs the EMA Workbench: pip install 'ai-race-sim[ema]'") from err

from sim.arrays import FIRM_TRAITS
from sim.params import Drivers, Environment, FirmTraits, ParameterError, Scenario, field_bounds, validate_scenario
from sim.scenarios import SECTIONS, apply_overrides, overlapping_overrides, read_scenario_data, resolve
from sim.sweep_spec import Outputs, SweepSpec, runs_for_sets
from sim.tables import check_unique, column_name, firm_column
from sim.variables import FIRM_MEASURES, RUN_MEASURES

SEED = "seed"
"""The key of a replication that holds its seed."""
DEFAULT_BATCH = 20_000
"""Experiments `LockstepEvaluator` plans and runs at a time (bounds the memory of long designs)."""

_logger = get_module_logger(__name__)


# --- names -------------------------------------------------------------------------------


def identifier(name: str) -> str:
    """The EMA name (a Python identifier) of an aisim parameter name: `sim.tables.column_name`."""
    return column_name(name)


def parameter_names(scenario: str | Path | Scenario | dict = "baseline") -> list[str]:
    """Every parameter name `aisim run --set` takes for a scenario: ``environment.FIELD``,
    ``drivers.FIELD``, a bare FIELD, ``firms.*.TRAIT``, ``firms.NAME.TRAIT`` and ``firms.INDEX.TRAIT``."""
    base = scenario_data(scenario)
    traits = list(FIRM_TRAITS)  # the numeric ones
    fields = [field for model in SECTIONS.values() for field in model.model_fields]
    names = [f"{section}.{field}" for section, model in SECTIONS.items() for field in model.model_fields]
    names += [field for field in fields if fields.count(field) == 1]  # bare names, as --set takes them
    names += [f"firms.*.{trait}" for trait in traits]
    names += [f"firms.{firm['name']}.{trait}" for firm in base["firms"] for trait in traits]
    names += [f"firms.{i}.{trait}" for i in range(len(base["firms"])) for trait in traits]
    return names


def parameter_name(ema_name: str, scenario: str | Path | Scenario | dict = "baseline") -> str:
    """The aisim parameter name behind an EMA name (`identifier`), for a scenario's firms:
    ``firms__Meta_like__rivalry`` -> ``firms.Meta-like.rivalry``."""
    found: dict[str, list[str]] = {}
    for name in parameter_names(scenario):
        found.setdefault(identifier(name), []).append(name)
    names = found.get(ema_name, [])
    if len(names) == 1:
        return names[0]
    if names:
        raise ParameterError(f"EMA name {ema_name!r} stands for several parameters: {', '.join(names)}")
    raise ParameterError(
        f"EMA name {ema_name!r}: no parameter of this scenario is named so; parameters are named "
        "environment__FIELD, drivers__FIELD, firms__all__TRAIT or firms__FIRM__TRAIT (see `aisim params`)"
    )


def scenario_data(scenario: str | Path | Scenario | dict) -> dict:
    """The plain data of a scenario (a library name, a file, a Scenario or its data), validated."""
    if isinstance(scenario, dict):
        validate_scenario(scenario)
        return scenario
    if isinstance(scenario, Scenario):
        return scenario.model_dump()
    path = resolve(scenario)
    data = read_scenario_data(path)
    validate_scenario(data, str(path))
    return data


def _field(name: str) -> tuple[type, str]:
    """The parameter model and field a (valid) parameter name sets."""
    parts = name.split(".")
    if len(parts) == 3:
        return FirmTraits, parts[2]
    if len(parts) == 2:
        return SECTIONS[parts[0]], parts[1]
    return next(model for model in (Environment, Drivers) if parts[0] in model.model_fields), parts[0]


# --- uncertainties, levers and outcomes ----------------------------------------------------

Bounds = tuple[float, float] | None
ParameterList = Mapping[str, Bounds] | Iterable[str]


def parameters(
    names: ParameterList, scenario: str | Path | Scenario | dict = "baseline", what: str = "uncertainty"
) -> list:
    """EMA parameters for aisim parameter names: a list of names (each over the bounds its parameter
    model declares) or a mapping of names to ``(low, high)`` (within the declared bounds) or None.

    Whole-number fields become IntegerParameters, the others RealParameters; each is named by
    `identifier` and carries the aisim name as its ``variable_name``.
    """
    base = scenario_data(scenario)
    items = names.items() if isinstance(names, Mapping) else ((name, None) for name in names)
    made = []
    for name, bounds in items:
        if not isinstance(name, str):
            raise ParameterError(f"{what} {name!r}: a parameter name is text, like 'environment.llm_ceiling'")
        try:
            apply_overrides(base, {name: 0})  # checks the name against the scenario (its firms too)
        except ParameterError as err:
            raise ParameterError(f"{what} {name!r}: {err}") from None
        model, field = _field(name)
        low, high = _bounds(name, model, field, bounds, what)
        kind = IntegerParameter if model.model_fields[field].annotation is int else RealParameter
        if kind is IntegerParameter:
            low, high = int(low), int(high)
        made.append(kind(identifier(name), low, high, variable_name=name))
    _check_names([p.variable_name[0] for p in made], base, what)
    return made


def make_uncertainties(names: ParameterList, scenario: str | Path | Scenario | dict = "baseline") -> list:
    """EMA uncertainties for aisim parameters; see `parameters`."""
    return parameters(names, scenario, "uncertainty")


def make_levers(names: ParameterList, scenario: str | Path | Scenario | dict = "baseline") -> list:
    """EMA levers (policy parameters) for aisim parameters; see `parameters`."""
    return parameters(names, scenario, "lever")


def _bounds(name: str, model: type, field: str, bounds: Bounds, what: str) -> tuple[float, float]:
    lo, hi = field_bounds(model, field)
    if lo is None or hi is None:
        raise ParameterError(f"{what} {name!r}: not a numeric parameter with bounds")
    if bounds is None:
        return lo, hi
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ParameterError(f"{what} {name!r}: bounds {bounds!r} are not (low, high) numbers") from None
    if not (lo <= low < high <= hi):
        raise ParameterError(
            f"{what} {name!r}: bounds ({low:g}, {high:g}) are not allowed; low must be below high, "
            f"both within {lo:g} to {hi:g} (the bounds of {model.__name__}.{field})"
        )
    if model.model_fields[field].annotation is int and not (low.is_integer() and high.is_integer()):
        raise ParameterError(f"{what} {name!r}: a whole-number parameter needs whole-number bounds, got {bounds!r}")
    return low, high


def _check_names(names: list[str], base: dict, what: str) -> None:
    """Refuse two names of one field (``firms.*.openness`` and ``firms.Meta-like.openness``) or one
    identifier (``firms.A-b.x`` and ``firms.A_b.x``)."""
    for first, second in overlapping_overrides(base, names)[:1]:
        raise ParameterError(f"{what} names '{first}' and '{second}' set the same field; use one of them")
    check_unique({name: identifier(name) for name in names}, f"{what} names")


def outcome_names(scenario: str | Path | Scenario | dict = "baseline") -> list[str]:
    """Every outcome name for a scenario: the run measures, then each firm measure as FIRM__MEASURE."""
    firms = [firm["name"] for firm in scenario_data(scenario)["firms"]]
    return [*RUN_MEASURES, *(firm_column(f, m) for m in FIRM_MEASURES for f in firms)]


def measure_of(name: str, firms: Sequence[str]) -> tuple[str | None, str]:
    """(firm or None, measure) of an outcome name: a run measure, or a firm measure as FIRM__MEASURE."""
    if name in RUN_MEASURES:
        return None, name
    wide = {firm_column(f, m): (f, m) for m in FIRM_MEASURES for f in firms}
    if name in wide:
        return wide[name]
    raise ParameterError(
        f"outcome {name!r}: not a measure; run measures: {', '.join(RUN_MEASURES)}; firm measures as "
        f"FIRM__MEASURE, e.g. {firm_column(firms[0], 'pivot_step')} (measures: {', '.join(FIRM_MEASURES)})"
    )


def make_outcomes(names: Iterable[str], scenario: str | Path | Scenario | dict = "baseline", function=np.mean) -> list:
    """EMA ScalarOutcomes for run measures and firm measures (FIRM__MEASURE), each the ``function``
    (default: the mean) of its values over an experiment's replications (seeds)."""
    firms = [firm["name"] for firm in scenario_data(scenario)["firms"]]
    made = []
    for name in names:
        measure_of(name, firms)
        made.append(ScalarOutcome(name, function=function))
    return made


# --- the model --------------------------------------------------------------------------


@dataclasses.dataclass
class MesaRun:
    """The model function of the plain path: one Mesa run per call, returning the named measures.

    Called by EMA with the experiment's parameters (by their aisim names), constants and the
    replication's ``seed``. Invalid parameters, or a state that became NaN or infinity, raise
    EMA's ExperimentError, which EMA records as a failed experiment."""

    scenario: str | Path | Scenario
    steps: int | None
    outputs: tuple[str, ...]
    firms: tuple[str, ...]
    constants: dict[str, str] = dataclasses.field(default_factory=dict)  # EMA name -> aisim name

    def __call__(self, seed: int, **parameters: Any) -> dict[str, float]:
        from sim.ensemble import nonfinite_runs
        from sim.model import AIRaceModel
        from sim.sweeps import NONFINITE

        # EMA's ReplicatorModel hands constants over by their EMA name, not their variable_name
        parameters = {self.constants.get(key, key): value for key, value in parameters.items()}
        experiment = {**parameters, SEED: seed}
        try:
            model = AIRaceModel(self.scenario, rng=seed, steps=self.steps, parameters=parameters).run()
        except ParameterError as err:
            raise ExperimentError(str(err), experiment) from None
        bad = next((t for t, state in enumerate(model.history) if nonfinite_runs(state).any()), None)
        if bad is not None:
            raise ExperimentError(NONFINITE.format(bad), experiment)
        wanted = [measure_of(name, self.firms) for name in self.outputs]
        values = model.summary([m for f, m in wanted if f is None])
        if any(f is not None for f, _ in wanted):
            table = model.firm_summary().set_index("firm")
            values.update({firm_column(f, m): float(table.at[f, m]) for f, m in wanted if f is not None})
        return {name: values[m if f is None else name] for name, (f, m) in zip(self.outputs, wanted, strict=True)}


class AisimModel(ReplicatorModel):
    """An EMA model of an aisim scenario (see `build_model`): its function runs the Mesa model,
    and `LockstepEvaluator` runs it in lockstep instead, with identical outcomes."""

    def __init__(self, name: str, scenario: str | Path | Scenario, base: dict, steps: int | None, function: MesaRun):
        super().__init__(name, function=function)
        self.aisim_scenario = scenario
        self.aisim_base = base
        self.aisim_steps = steps

    @property
    def seeds(self) -> list[int]:
        """The seed of each replication, in order."""
        try:
            return [int(replication[SEED]) for replication in self.replications]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ParameterError(
                f"model {self.name}: replications must each give a seed, like [{{'seed': 0}}, {{'seed': 1}}]"
            ) from None

    @property
    def firms(self) -> list[str]:
        return [firm["name"] for firm in self.aisim_base["firms"]]

    def reset_model(self) -> None:
        """Forget the last experiment's outcomes (EMA 3.0's reset clears a misspelt attribute, so a
        failed experiment would otherwise be recorded with the outcomes of the one before it)."""
        super().reset_model()
        self._outcomes_output = {}

    def overrides(self, experiment: Any) -> dict[str, Any]:
        """An experiment's parameter values by aisim name: its scenario, policy and the constants,
        as EMA hands them to the model function (a parameter missing from a sample takes its
        default, if it has one)."""
        values = {}
        for group, sample in ((self.uncertainties, experiment.scenario), (self.levers, experiment.policy)):
            for parameter in group:
                value = sample.get(parameter.name, parameter.default)
                if value is not None:
                    values[parameter.variable_name[0]] = value
        values.update({c.variable_name[0]: c.value for c in self.constants})
        return values

    def process(self, outputs: dict[str, list[float]]) -> dict[str, Any]:
        """The outcomes of one experiment from each output variable's values over the replications,
        by the model's own outcome functions (as `ReplicatorModel` does)."""
        self.outcomes_output = outputs
        processed = dict(self.outcomes_output)
        self.reset_model()
        return processed

    def sweep_spec(self, chunk_size: int) -> SweepSpec:
        """The spec `run_plan` runs this model's experiments with: its steps and the measures its
        outcomes read."""
        wanted = [measure_of(name, self.firms) for name in self.output_variables]
        measures = list(dict.fromkeys(m for f, m in wanted if f is None))
        firm_measures = list(dict.fromkeys(m for f, m in wanted if f is not None))
        outputs = Outputs(measures=measures, firm_measures=firm_measures, series=[], chunk_size=chunk_size)
        name = self.aisim_scenario if isinstance(self.aisim_scenario, str) else "custom"
        return SweepSpec(name=self.name, scenario=name, steps=self.aisim_steps, outputs=outputs)


def build_model(
    scenario: str | Path | Scenario | dict = "baseline",
    uncertainties: ParameterList | None = None,
    outcomes: Iterable[str] = ("llm_spend_share",),
    seeds: Iterable[int] = (0,),
    levers: ParameterList | None = None,
    constants: Mapping[str, Any] | None = None,
    steps: int | None = None,
    name: str = "aisim",
    function: Callable[..., Any] = np.mean,
) -> AisimModel:
    """An EMA model of a scenario (a library name, a file, a Scenario or its data): uncertainties and
    levers by aisim parameter name (see `parameters`), outcomes by measure name (run measures, and
    firm measures as FIRM__MEASURE), each the ``function`` over the replications, one replication
    per seed, and constants (parameters set to one value). ``steps`` overrides the scenario's run
    length. Raises ParameterError for a name, bound, outcome or constant that is not allowed."""
    if isinstance(scenario, dict):  # the Mesa model takes a name, a file or a Scenario
        scenario = validate_scenario(scenario)
    base = scenario_data(scenario)
    seed_list = [int(s) for s in seeds]
    if not seed_list:
        raise ParameterError("seeds: give at least one seed")
    outcome_list = list(outcomes)
    firms = tuple(firm["name"] for firm in base["firms"])
    runner = MesaRun(scenario, steps, tuple(outcome_list), firms)
    model = AisimModel(name, scenario, base, steps, runner)
    model.uncertainties = make_uncertainties(uncertainties or {}, base)
    model.levers = make_levers(levers or {}, base)
    model.outcomes = make_outcomes(outcome_list, base, function)
    constants = dict(constants or {})
    _check_names([*constants, *(p.variable_name[0] for p in [*model.uncertainties, *model.levers])], base, "parameter")
    for key, value in constants.items():
        try:
            validate_scenario(apply_overrides(base, {key: value}), f"constant {key} = {value!r}")
        except ParameterError as err:
            raise ParameterError(f"constants: {err}") from None
    model.constants = [Constant(identifier(key), value, variable_name=key) for key, value in constants.items()]
    runner.constants = {identifier(key): key for key in constants}
    model.replications = [{SEED: seed} for seed in seed_list]
    return model


# --- the evaluator -------------------------------------------------------------------------


class LockstepEvaluator(BaseEvaluator):
    """Runs experiments on aisim models (`build_model`) through the lockstep engine
    (`sim.sweeps.run_plan`) instead of one Mesa run at a time: in this process, with
    ``workers`` > 1 on local processes (this one and forked helpers), or with ``scheduler`` (a
    Dask scheduler's address, ``tcp://HOST:8786``) on a cluster.

    Experiments are planned ``batch_size`` at a time; each runs with every seed of its model's
    replications. An experiment whose runs fail (invalid parameters together, non-finite state)
    is logged as EMA logs failed experiments and left out of the outcomes (masked values);
    ``failures`` maps its experiment id to the error.
    """

    def __init__(
        self,
        msis: AisimModel | list[AisimModel],
        workers: int = 1,
        batch_size: int = DEFAULT_BATCH,
        chunk_size: int = 500,
        progress: bool = False,
        scheduler: str | None = None,
    ):
        super().__init__(msis)
        for model in self._msis:
            if not isinstance(model, AisimModel):
                raise TypeError(f"{model.name}: LockstepEvaluator runs aisim models (sim.ema.build_model) only")
        if batch_size < 1 or chunk_size < 1 or workers < 1:
            raise ParameterError("workers, batch_size and chunk_size must be at least 1")
        self.workers = workers
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.progress = progress
        self.scheduler = scheduler
        self.client: Any | None = None
        self.failures: dict[int, str] = {}

    def initialize(self) -> None:
        """Connect to the Dask scheduler, if one was given (local helper processes live for one batch)."""
        if self.scheduler is not None and self.client is None:
            from sim.sweeps import connect

            self.client = connect(self.scheduler)

    def finalize(self) -> None:
        """Close the Dask connection, if any."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def evaluate_experiments(self, experiments: Iterable, callback: Callable, **kwargs: Any) -> None:
        """Run the experiments in batches and hand each one's outcomes to EMA's ``callback``."""
        models = {model.name: model for model in self._msis}
        iterator = iter(experiments)
        while batch := list(itertools.islice(iterator, self.batch_size)):
            groups: dict[tuple, list] = {}
            for experiment in batch:
                model = models[experiment.model_name]
                overrides = model.overrides(experiment)
                groups.setdefault((model.name, tuple(overrides)), []).append((experiment, overrides))
            for (model_name, _), members in groups.items():
                self._run_group(models[model_name], members, callback)

    def _run_group(self, model: AisimModel, members: list[tuple[Any, dict]], callback: Callable) -> None:
        """Experiments of one model that set the same parameters: one plan, one `run_plan`."""
        from sim.sweeps import run_plan

        seeds = model.seeds
        sets = pd.DataFrame([overrides for _, overrides in members], index=range(len(members)))
        runs = run_plan(
            runs_for_sets(sets, seeds),
            model.aisim_base,
            model.sweep_spec(self.chunk_size),
            workers=self.workers,
            progress=self.progress,
            client=self.client,
        )
        ok = (runs.status.to_numpy() == "ok").reshape(len(members), len(seeds))
        errors = runs.error.to_numpy().reshape(len(members), len(seeds))
        columns = {name: _column(runs, name, model.firms) for name in model.output_variables}
        values = {name: column.reshape(len(members), len(seeds)) for name, column in columns.items()}
        for i, (experiment, overrides) in enumerate(members):
            if not ok[i].all():
                error = errors[i][~ok[i]][0]
                self.failures[experiment.experiment_id] = error
                _logger.warning(str(ExperimentError(error, {**overrides, SEED: seeds[int(np.argmin(ok[i]))]})))
                callback(experiment, {})
                continue
            callback(experiment, model.process({name: list(v[i]) for name, v in values.items()}))


def _column(runs: pd.DataFrame, name: str, firms: Sequence[str]) -> np.ndarray:
    """An output variable's values, one per run, from `run_plan`'s table (a firm measure's wide
    column is named as the outcome: FIRM__MEASURE)."""
    firm, measure = measure_of(name, firms)
    return runs[measure if firm is None else firm_column(firm, measure)].to_numpy(dtype=float)


# --- a sweep spec's design, for EMA and SALib ----------------------------------------------


def uncertainties_from_spec(spec: str | Path | SweepSpec | dict) -> list:
    """EMA uncertainties for a sweep spec's parameters (a file, a bundled name, its data or a
    SweepSpec), over the values or ranges it declares: a ``uniform`` or ``integer`` distribution
    gives a Real- or IntegerParameter over low to high, ``loguniform`` a RealParameter with scipy's
    loguniform distribution (EMA's samplers go through its quantiles, so they sample it
    log-uniformly); a grid's ``values`` or ``range`` gives a parameter over their least and greatest
    with the grid as its ``resolution`` (what EMA's full-factorial sampler takes), and a list of
    texts or booleans, or a single value, a CategoricalParameter. Each is named and carries its
    aisim name as `make_uncertainties` does."""
    from ema_workbench import CategoricalParameter
    from scipy.stats import loguniform

    from sim.sweeps import load_sweep

    spec, _ = load_sweep(spec)
    made: list[Parameter] = []
    for name, parameter in spec.parameters.items():
        ema = identifier(name)
        if parameter.distribution is not None:
            if parameter.distribution == "integer":
                made.append(IntegerParameter(ema, int(parameter.low), int(parameter.high), variable_name=name))
            elif parameter.distribution == "loguniform":
                dist = loguniform(parameter.low, parameter.high)
                made.append(RealParameter.from_dist(ema, dist, variable_name=name))
            else:
                made.append(RealParameter(ema, parameter.low, parameter.high, variable_name=name))
            continue
        grid = parameter.grid_values()
        if len(grid) == 1 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in grid):
            made.append(CategoricalParameter(ema, grid, variable_name=name))
        elif all(isinstance(v, int) for v in grid):
            made.append(IntegerParameter(ema, min(grid), max(grid), resolution=grid, variable_name=name))
        else:
            made.append(RealParameter(ema, min(grid), max(grid), resolution=grid, variable_name=name))
    return made
