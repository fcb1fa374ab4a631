"""Batch sweeps: many runs in lockstep chunks, in parallel or on a Dask cluster, resumable.

A sweep's runs (`sim.sweep_spec.plan_runs`) are cut into chunks of ``outputs.chunk_size``
runs. Each chunk runs in lockstep with the same mechanisms as the Mesa model (so each run
is bit-identical to the Mesa model with its scenario and seed, whichever way it ran), and
its results are written as soon as it finishes, into a results folder (`sim.sweep_folder`
describes it: Parquet files per chunk, a manifest, and a ledger that resume verifies). A
killed sweep leaves only chunks that verify; ``resume=True`` runs the rest. Memory stays
bounded: only a few chunks are in flight at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import sweep_folder as folder
from sim import tables
from sim.arrays import ModelParams, plain
from sim.ensemble import run_batch
from sim.outputs import FirmMeasures, RunMeasures, measure_inputs
from sim.params import ParameterError, Scenario
from sim.policies import BIASED, allow_code_policies, code_policies_allowed
from sim.processes import die_with_parent
from sim.scenarios import apply_overrides
from sim.sweep_spec import SweepSpec, build_scenario, load_spec, plan_runs, policy_names, spec_from_data
from sim.variables import FIRM_VARIABLES

IN_FLIGHT_PER_WORKER = 2
HELPER_RESTARTS = 3  # lost helpers replaced per sweep before giving up
MAX_WORKERS = 256
WATCH_SECONDS = 5.0  # how often a Dask sweep waiting for results checks that workers are left
NO_WORKER_TIMEOUT = 120.0  # seconds without a Dask worker before a sweep gives up
FIRM_QUARTERS_PER_SECOND = 500_000  # one process's lockstep speed, measured on a 2-core VM (bench/)
STATE_ARRAYS = 60  # arrays of (runs, firms) a chunk holds besides its recorded history
CONNECT_TIMEOUT = "10s"
NONFINITE = "non-finite values (NaN or infinity) in the model state by quarter {}"


@dataclass
class ChunkTask:
    """One chunk of runs, self-contained so that a worker on another machine can run it."""

    index: int
    runs: pd.DataFrame  # run_id, set_id, seed and one column per varied parameter
    base: dict  # the base scenario's data
    steps: int | None
    measures: list[str]
    firm_measures: list[str]
    series: list[str]
    allow_code_policies: bool = False  # `sim.policies.allow_code_policies`, for the process that runs it


@dataclass
class ChunkResult:
    """What a chunk produced: its tables (`sim.tables`: runs; firms and series when asked) and its
    failed runs."""

    index: int
    runs: pd.DataFrame
    series: pd.DataFrame | None
    failed: int = 0
    firms: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The chunk's tables by name, those it has only."""
        found = {"runs": self.runs, "firms": self.firms, "series": self.series}
        return {name: table for name, table in found.items() if table is not None}


@dataclass
class SweepReport:
    """The outcome of a sweep: where it is, how many runs ran and failed, and how long it took."""

    out: Path | None
    runs: int
    runs_run: int
    failed: int
    chunks_run: int
    chunks_skipped: int
    seconds: float
    results: pd.DataFrame | None = field(default=None, repr=False)
    redone: list[str] = field(default_factory=list)  # chunks resume found damaged, and why


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Run one chunk in lockstep; a run that fails is recorded with its error, the rest go on."""
    if task.allow_code_policies:  # a helper or a cluster worker learns what the sweep was allowed
        allow_code_policies()
    runs = task.runs
    set_ids = runs.set_id.to_numpy()
    scenarios: dict[int, Scenario] = {}
    errors: dict[int, str] = {}
    policies: dict[int, list[str]] = {}  # each firm's policy, by parameter set
    values = {name: runs[name].to_numpy() for name in runs.columns if name not in ("run_id", "set_id", "seed")}
    for set_id, first in zip(*np.unique(set_ids, return_index=True), strict=True):
        overrides = {name: plain(column[first]) for name, column in values.items()}
        policies[int(set_id)] = [str(firm.get("policy", BIASED)) for firm in task.base["firms"]]
        try:
            data = apply_overrides(task.base, overrides) if overrides else task.base
            policies[int(set_id)] = [str(firm.get("policy", BIASED)) for firm in data["firms"]]
            scenarios[int(set_id)] = build_scenario(task.base, overrides)
        except ParameterError as err:
            errors[int(set_id)] = str(err)
    tables: list[pd.DataFrame] = []
    series: list[pd.DataFrame] = []
    steps_of = {s: task.steps or scenario.environment.steps for s, scenario in scenarios.items()}
    for steps in dict.fromkeys(steps_of.values()):  # runs of one length run together
        group = runs[np.isin(set_ids, [s for s, n in steps_of.items() if n == steps])]
        tables.append(_run_group(task, group, scenarios, int(steps), series))
    if errors:
        failed_runs = runs[np.isin(set_ids, list(errors))]
        tables.append(_failed(failed_runs, failed_runs.set_id.map(errors)))
    table = tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)
    if not table.run_id.is_monotonic_increasing:
        table = table.sort_values("run_id", kind="stable").reset_index(drop=True)
    failed = int((table.status.to_numpy() != "ok").sum())
    runs_table, firms = _output_tables(task, table, [policies[int(s)] for s in table.set_id])
    return ChunkResult(task.index, runs_table, pd.concat(series, ignore_index=True) if series else None, failed, firms)


def _output_tables(
    task: ChunkTask, table: pd.DataFrame, policies: list[list[str]]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A chunk's runs table with its columns named and ordered as written (`sim.tables`: the same
    columns whether runs failed or not), and the firm measures in long form with each firm's policy
    (``policies``: one list per run; None if no firm measure was asked for)."""
    parameters = [name for name in task.runs.columns if name not in ("run_id", "set_id", "seed")]
    firms = _firm_names(task.base)
    table = table.rename(
        columns={
            **{name: tables.column_name(name) for name in parameters},
            **{f"{f}.{m}": tables.firm_column(f, m) for m in task.firm_measures for f in firms},
        }
    )
    columns = tables.table_columns(parameters, task.measures, task.firm_measures, task.series, firms)
    table = table.reindex(columns=columns["runs"])
    table["error"] = table.error.astype(object).where(table.status != "ok", None)
    if not task.firm_measures:
        return table, None
    return table, tables.firms_table(table, firms, task.firm_measures, policies)


def _run_group(task: ChunkTask, group: pd.DataFrame, scenarios: dict, steps: int, series: list) -> pd.DataFrame:
    """Runs of one length: in lockstep, or one by one when the lockstep batch raises."""
    try:
        return _run_lockstep(task, group, scenarios, steps, series)
    except Exception:
        tables = []
        for i in range(len(group)):
            run = group.iloc[[i]]
            try:
                tables.append(_run_lockstep(task, run, scenarios, steps, series))
            except Exception as err:
                tables.append(_failed(run, f"{type(err).__name__}: {err}"))
        return pd.concat(tables, ignore_index=True)


def _run_lockstep(task: ChunkTask, group: pd.DataFrame, scenarios: dict, steps: int, series: list) -> pd.DataFrame:
    singles = {s: ModelParams.from_scenario(scenarios[s]) for s in group.set_id.unique()}
    params = ModelParams.stack([singles[s] for s in group.set_id])
    keep = [*measure_inputs(task.measures, task.firm_measures), *task.series]
    history = run_batch(params, group.seed.tolist(), steps, keep=keep)
    firm_measures = FirmMeasures(history)
    run_measures = RunMeasures(history, firm_measures)
    bad = history.first_nonfinite_step
    columns = {
        "status": np.where(bad >= 0, "failed", "ok"),
        "error": [None if q < 0 else NONFINITE.format(q) for q in bad],
    }
    columns.update({name: getattr(run_measures, name)[:, 0] for name in task.measures})
    for measure in task.firm_measures:
        values = getattr(firm_measures, measure)
        columns.update({f"{firm}.{measure}": values[:, i] for i, firm in enumerate(params.firm_names)})
    table = pd.concat([group.reset_index(drop=True), pd.DataFrame(columns, index=range(len(group)))], axis=1)
    if task.series:
        series.append(_series_table(history, table.run_id.to_numpy(), params.firm_names, task.series))
    return table


def _series_table(history: dict, run_ids: np.ndarray, firms: list[str], variables: list[str]) -> pd.DataFrame:
    """Per-step values: one row per run, step and firm (market variables repeat on each firm's row)."""
    steps, runs, n_firms = history["x"].shape
    table = pd.DataFrame(
        {
            "run_id": np.repeat(run_ids, steps * n_firms),
            "step": np.tile(np.repeat(np.arange(steps), n_firms), runs),
            "firm": np.tile(np.asarray(firms, dtype=object), steps * runs),
        }
    )
    for name in variables:
        values = history[name]
        if name not in FIRM_VARIABLES:
            values = np.broadcast_to(values, (steps, runs, n_firms))
        table[name] = np.transpose(values, (1, 0, 2)).reshape(-1)
    return table


def _failed(runs: pd.DataFrame, errors: pd.Series | str) -> pd.DataFrame:
    """Rows for runs that could not run: their parameters, status 'failed' and the error."""
    table = runs.reset_index(drop=True).copy()
    table["status"] = "failed"
    table["error"] = errors if isinstance(errors, str) else errors.to_numpy()
    return table


# --- running a whole sweep --------------------------------------------------------------


def sweep(
    spec: str | Path | SweepSpec | dict,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Run a sweep and return one row per run (parameters, seed, status, measures).

    ``spec`` is a spec file, its data, or a SweepSpec (whose base scenario is then looked up
    by name). With ``out`` the results are also written there as Parquet (see the module
    docstring) and can be resumed; without it they are kept in memory only.
    """
    report = run_sweep(spec, out, workers=workers, scheduler=scheduler, resume=resume, progress=progress, keep=True)
    return report.results


def run_sweep(
    spec: str | Path | SweepSpec | dict,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = False,
    keep: bool = False,
) -> SweepReport:
    """Run a sweep; see `sweep`. ``keep`` returns the results table in the report."""
    started = time.perf_counter()
    spec, base = load_sweep(spec)
    plan = plan_runs(spec)
    client = connect(scheduler) if scheduler is not None else None  # before anything is written
    job = _Job(spec, base, plan, _chunk_count(plan, spec), workers, client, progress, keep, started)
    try:
        return _run_in_memory(job) if out is None else _run_into_folder(job, Path(out), resume)
    finally:
        if client is not None:
            client.close()


@dataclass
class _Job:
    """A sweep ready to run: its spec, base scenario data, plan and where it runs."""

    spec: SweepSpec
    base: dict
    plan: pd.DataFrame
    chunk_count: int
    workers: int
    client: Any | None
    progress: bool
    keep: bool
    started: float

    def chunks(self, todo: Iterable[int], already: int = 0) -> Iterator[ChunkResult]:
        return _run_chunks(self.plan, self.base, self.spec, todo, self.workers, self.client, self.progress, already)


def _run_into_folder(job: _Job, out: Path, resume: bool) -> SweepReport:
    identity = folder.model_identity(job.spec.digest(), job.base, policy_names(job.spec, job.base))
    if out.is_dir():
        folder.check(out, identity, resume)  # refuse before the lock file is made
    folder.open_folder(out)
    with folder.locked(out):
        size, runs = job.spec.outputs.chunk_size, len(job.plan)
        chunk_runs = [range(i * size, min((i + 1) * size, runs)) for i in range(job.chunk_count)]

        def plan_hash(index: int) -> str:
            return folder.plan_hash(job.plan.iloc[chunk_runs[index].start : chunk_runs[index].stop])

        layout = _layout(job, identity)
        columns = _table_columns(job)
        expected = folder.Expected(chunk_runs, plan_hash, tuple(columns))
        manifest = _manifest(job, identity, layout, columns)
        state = folder.prepare(out, manifest, identity, expected, resume)
        for line in [*state.notes, *state.redo]:
            print(f"aisim: {out}: {line}", file=sys.stderr)
        todo = [i for i in range(job.chunk_count) if i not in state.done]
        already = sum(len(chunk_runs[i]) for i in state.done)
        kept: list[pd.DataFrame] = []
        for result in job.chunks(todo, already):
            plan = plan_hash(result.index)
            folder.record_chunk(out, result.index, result.tables(), result.failed, identity, plan, layout)
            if job.keep:
                kept.append(result.runs)
        failed = folder.finish(out, job.chunk_count)
    results = None
    if job.keep:  # chunks done by an earlier call are read back; this call's are still in memory
        results = load_results(out) if state.done else _by_run(kept)
    seconds = time.perf_counter() - job.started
    return SweepReport(out, runs, runs - already, failed, len(todo), len(state.done), seconds, results, state.redo)


def _run_in_memory(job: _Job) -> SweepReport:
    tables = [result.runs for result in job.chunks(range(job.chunk_count))]
    failed = sum(int((t.status.to_numpy() != "ok").sum()) for t in tables)
    seconds = time.perf_counter() - job.started
    runs = len(job.plan)
    return SweepReport(None, runs, runs, failed, job.chunk_count, 0, seconds, _by_run(tables) if job.keep else None)


@dataclass
class PlanEstimate:
    """What a sweep will take, worked out before it starts (sizes from the spec; time and memory rough)."""

    runs: int
    sets: int
    seeds: int
    chunks: int
    workers: int
    memory_bytes: float
    disk_bytes: float
    seconds: float

    def describe(self) -> str:
        return (
            f"plan: {self.runs:,} runs ({self.sets:,} parameter sets x {self.seeds:,} seeds) in {self.chunks:,} "
            f"chunks on {self.workers} process(es); about {_size(self.memory_bytes)} of memory, up to "
            f"{_size(self.disk_bytes)} of results, about {_duration(self.seconds)}"
        )


def estimate(spec: str | Path | SweepSpec | dict, workers: int = 1) -> PlanEstimate:
    """Sizes and a rough time and memory estimate for a sweep, without building its plan."""
    spec, base = load_sweep(spec)
    scenario = build_scenario(base, {})
    steps, firms = spec.steps or scenario.environment.steps, len(scenario.firms)
    varied = spec.parameters.get("environment.steps") or spec.parameters.get("steps")
    if spec.steps is None and varied is not None:  # the longest runs bound the estimate
        steps = int(varied.high if varied.distribution else max(varied.grid_values()))
    runs, size = spec.run_count(), spec.outputs.chunk_size
    chunks = -(-runs // size)
    workers = _usable_workers(workers, chunks)
    kept = len(measure_inputs(spec.outputs.measures, spec.outputs.firm_measures)) + len(spec.outputs.series)
    chunk_bytes = min(size, runs) * firms * 8 * (steps * kept + STATE_ARRAYS)
    columns = 3 + len(spec.parameters)
    plan_bytes = runs * columns * 8
    result_columns = columns + 2 + len(spec.outputs.measures) + firms * len(spec.outputs.firm_measures)
    disk = runs * 8 * (result_columns + steps * firms * (3 + len(spec.outputs.series)) * bool(spec.outputs.series))
    memory = plan_bytes + (2 * workers + 1) * chunk_bytes
    seconds = runs * steps * firms / (FIRM_QUARTERS_PER_SECOND * workers)
    return PlanEstimate(runs, spec.set_count(), spec.seed_count(), chunks, workers, memory, disk, seconds)


def _usable_workers(workers: int, chunks: int) -> int:
    """Processes worth starting: at most one per chunk; refuses counts below 1 or above MAX_WORKERS."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ParameterError(f"workers: {workers!r} is not allowed; a whole number from 1 to {MAX_WORKERS}")
    return max(1, min(workers, chunks))


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}"
        count /= 1000
    return f"{count:,.1f} TB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h"


def run_plan(
    plan: pd.DataFrame,
    base: dict,
    spec: SweepSpec,
    workers: int = 1,
    progress: bool = False,
    client: Any | None = None,
) -> pd.DataFrame:
    """Run an explicit plan (run_id, set_id, seed, parameter columns) with a spec's steps and
    outputs, in memory; one row per run. Used by analyses that make their own designs. With a Dask
    ``client`` (`connect`), the chunks run on its cluster."""
    chunks = range(_chunk_count(plan, spec))
    workers = 1 if client is not None else workers
    return _by_run([result.runs for result in _run_chunks(plan, base, spec, chunks, workers, client, progress)])


def _run_chunks(
    plan: pd.DataFrame,
    base: dict,
    spec: SweepSpec,
    chunks: Iterable[int],
    workers: int,
    client: Any | None,
    progress: bool,
    already: int = 0,
) -> Iterator[ChunkResult]:
    """Run the given chunks of a plan, with a progress bar counting runs; yield results as they finish."""
    chunks = list(chunks)
    workers = _usable_workers(workers, len(chunks))
    bar = _progress_bar(len(plan), already, progress)
    try:
        for result in _execute(_chunk_tasks(plan, base, spec, chunks), workers, client):
            bar.update(len(result.runs))
            yield result
    finally:
        bar.close()


def _chunk_count(plan: pd.DataFrame, spec: SweepSpec) -> int:
    return -(-len(plan) // spec.outputs.chunk_size)


def _by_run(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Chunk tables (each sorted by run) as one table sorted by run."""
    table = pd.concat(sorted(tables, key=lambda t: t.run_id.iloc[0]), ignore_index=True)
    if not table.run_id.is_monotonic_increasing:
        table = table.sort_values("run_id").reset_index(drop=True)
    return table


def _chunk_tasks(plan: pd.DataFrame, base: dict, spec: SweepSpec, chunks) -> Iterator[ChunkTask]:
    size = spec.outputs.chunk_size
    for i in chunks:
        yield ChunkTask(
            index=i,
            runs=plan.iloc[i * size : (i + 1) * size].reset_index(drop=True),
            base=base,
            steps=spec.steps,
            measures=spec.outputs.measures,
            firm_measures=spec.outputs.firm_measures,
            series=spec.outputs.series,
            allow_code_policies=code_policies_allowed(),
        )


def load_sweep(spec: str | Path | SweepSpec | dict) -> tuple[SweepSpec, dict]:
    """A validated sweep spec and its base scenario's data, from a spec file, a bundled spec's name, the
    spec's data, or a SweepSpec (whose base scenario is then looked up by name)."""
    if isinstance(spec, SweepSpec):
        return spec_from_data(spec.model_dump(exclude_none=True))
    if isinstance(spec, dict):
        return spec_from_data(spec)
    return load_spec(spec)


def _execute(tasks: Iterator[ChunkTask], workers: int, client: Any | None) -> Iterator[ChunkResult]:
    """Run chunk tasks in this process, in local worker processes, or on a Dask cluster."""
    if client is not None:
        yield from _on_cluster(tasks, client)
    elif workers <= 1:
        for task in tasks:
            yield run_chunk(task)
    else:
        yield from _on_local_helpers(iter(tasks), workers)


def _on_cluster(tasks: Iterator[ChunkTask], client: Any) -> Iterator[ChunkResult]:
    """Run tasks on a Dask cluster; a lost scheduler, or no worker for NO_WORKER_TIMEOUT seconds,
    ends the sweep with a clear error (finished chunks are kept)."""
    from distributed.scheduler import KilledWorker

    address = client.scheduler.address
    idle_since: list[float] = []

    def check_workers() -> None:
        if client.scheduler_info()["workers"]:
            idle_since.clear()
        elif not idle_since:
            idle_since.append(time.monotonic())
        elif time.monotonic() - idle_since[0] > NO_WORKER_TIMEOUT:
            raise ParameterError(
                f"--scheduler {address}: no Dask worker for {NO_WORKER_TIMEOUT:.0f} s; finished chunks are saved: "
                "start workers, then --resume"
            )

    try:
        with client:
            limit = 2 * max(1, len(client.scheduler_info()["workers"]))
            yield from _bounded(client.get_executor(), tasks, limit, watch=check_workers)
    except KilledWorker as err:
        raise ParameterError(
            f"--scheduler {address}: Dask gave up on a chunk after it killed workers ({err}); out of memory? "
            "finished chunks are saved: --resume with a smaller chunk_size"
        ) from None
    except (CancelledError, OSError, TimeoutError) as err:
        raise ParameterError(
            f"--scheduler {address}: lost the Dask scheduler ({type(err).__name__}{f': {err}' if str(err) else ''}); "
            "finished chunks are saved: --resume when it is back"
        ) from None


def _on_local_helpers(tasks: Iterator[ChunkTask], workers: int) -> Iterator[ChunkResult]:
    """Run tasks here and on ``workers - 1`` helper processes; a helper that dies is replaced.

    The chunks in flight when a helper dies (the pool stops every helper then) run again on
    new helpers, at most ``HELPER_RESTARTS`` times in one sweep.
    """
    requeued: deque[ChunkTask] = deque()

    def source() -> Iterator[ChunkTask]:  # a plain loop: closing this must not close ``tasks``
        while requeued:
            yield requeued.popleft()
        for task in tasks:  # noqa: UP028 (yield from would close ``tasks`` with this generator)
            yield task

    for restart in range(HELPER_RESTARTS + 1):
        pool = _local_pool(workers - 1)
        stopped_early = True
        try:  # this process runs a share of the chunks too, instead of only waiting
            yield from _bounded(pool, source(), (workers - 1) * IN_FLIGHT_PER_WORKER, here_every=workers)
            stopped_early = False
            return
        except _LostHelper as lost:
            requeued.extend(lost.tasks)
            if restart == HELPER_RESTARTS:
                break
            print(
                f"aisim: a helper process stopped unexpectedly; running its {len(lost.tasks)} chunk(s) in flight "
                f"again on new helpers (restart {restart + 1} of at most {HELPER_RESTARTS})",
                file=sys.stderr,
            )
        finally:
            _stop_helpers(pool, kill=stopped_early)
    raise ParameterError(
        f"helper processes died {HELPER_RESTARTS + 1} times (out of memory?); finished chunks are saved: "
        "--resume with fewer --workers or a smaller chunk_size"
    )


class _LostHelper(Exception):
    """A helper process died; ``tasks`` are the chunks that were in flight and must run again."""

    def __init__(self, tasks: list[ChunkTask]):
        super().__init__(f"{len(tasks)} chunks lost")
        self.tasks = tasks


def _stop_helpers(pool: ProcessPoolExecutor, kill: bool) -> None:
    """Let helpers exit once their work is done, or (when the sweep stops early) end them now."""
    processes = list((pool._processes or {}).values())  # no public API lists a pool's processes
    pool.shutdown(wait=False, cancel_futures=True)
    if kill:
        for process in processes:
            if process.is_alive():
                process.kill()


def _local_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes, started at once, that die with this process.

    On Linux they are forked: a worker is ready in milliseconds with everything imported,
    where a spawned one needs about a second to import numpy, pandas and pydantic. The pool
    starts before this module starts any thread of its own (progress bars have no monitor
    thread), so the only other threads are the BLAS library's, which are fork-safe; Python
    3.12 still warns about forking a multi-threaded process, and that warning is silenced here.
    """
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_helper, initargs=(os.getpid(),)
    )
    if context.get_start_method() == "fork":
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*use of fork\\(\\) may lead to deadlocks", category=DeprecationWarning
            )
            pool.submit(int)  # with fork, the first task starts every worker, here and now
    return pool


def _start_helper(parent: int) -> None:
    """In each helper: die with the parent, leave Ctrl-C and SIGTERM to it, and hold no lock of its."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    folder.close_inherited_locks()  # the results folder's lock goes when the sweep lets it go
    die_with_parent(parent)


def _bounded(
    executor: Executor,
    tasks: Iterator[ChunkTask],
    limit: int,
    here_every: int = 0,
    watch: Callable[[], None] | None = None,
) -> Iterator[ChunkResult]:
    """Submit tasks with at most ``limit`` in flight; yield results as they finish.

    With ``here_every`` = n, every n-th task runs in this process instead, so that n
    processes share the work (this one and the executor's n - 1). When a local helper dies,
    raises `_LostHelper` with every task still in flight. ``watch`` is called every
    WATCH_SECONDS while waiting, to raise when the executor can no longer finish anything.
    """
    pending: dict[Future, ChunkTask] = {}

    def collect(finished: set[Future]) -> Iterator[ChunkResult]:
        lost = [pending[f] for f in finished if isinstance(f.exception(), BrokenProcessPool)]
        results = [f.result() for f in finished if not isinstance(f.exception(), BrokenProcessPool)]
        for future in finished:
            del pending[future]
        if lost:
            lost.extend(pending.values())
            pending.clear()
        yield from results
        if lost:
            raise _LostHelper(sorted(lost, key=lambda task: task.index))

    try:
        for i, task in enumerate(tasks):
            if here_every and i % here_every == here_every - 1:
                _let_dispatch(set(pending), helpers=here_every - 1)
                yield run_chunk(task)
                finished = {future for future in pending if future.done()}
            else:
                try:
                    pending[executor.submit(run_chunk, task)] = task
                except BrokenProcessPool:
                    raise _LostHelper(sorted([*pending.values(), task], key=lambda t: t.index)) from None
                finished = set()
                if len(pending) >= limit:
                    finished = _wait_for_one(pending, watch)
            yield from collect(finished)
        while pending:
            yield from collect(_wait_for_one(pending, watch))
    finally:
        for future in pending:
            future.cancel()


def _wait_for_one(pending: dict[Future, ChunkTask], watch: Callable[[], None] | None) -> set[Future]:
    """The futures done once at least one is, calling ``watch`` every WATCH_SECONDS meanwhile."""
    while True:
        finished, _ = wait(pending, timeout=None if watch is None else WATCH_SECONDS, return_when=FIRST_COMPLETED)
        if finished:
            return finished
        watch()


def _let_dispatch(pending: set[Future], helpers: int) -> None:
    """Give the pool's threads the moment they need to send each helper a task.

    They pickle and send in threads of this process; a chunk running here holds the GIL
    and hands it over only every 5 ms (Python's switch interval), which delayed a helper's
    start by 10-15 ms. Waits until a task per helper is on its way, at most 20 ms.
    """
    deadline = time.monotonic() + 0.02
    wanted = min(len(pending), helpers)
    while sum(f.running() or f.done() for f in pending) < wanted and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(0.001)  # the queue's feeder thread pickles and writes the last task


def connect(address: str) -> Any:
    """A Dask client for the scheduler at ``address``, or a clear error."""
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs Dask: pip install 'ai-race-sim[cluster]'") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"--scheduler {address}: cannot connect ({err})") from None
    except (ValueError, TypeError) as err:
        raise ParameterError(
            f"--scheduler {address}: not a scheduler address like tcp://10.0.0.5:8786 ({err})"
        ) from None


def _firm_names(base: dict) -> list[str]:
    return [firm["name"] for firm in base["firms"]]


def _table_columns(job: _Job) -> dict[str, list[str]]:
    outputs = job.spec.outputs
    return tables.table_columns(
        list(job.spec.parameters), outputs.measures, outputs.firm_measures, outputs.series, _firm_names(job.base)
    )


def _layout(job: _Job, identity: dict[str, str]) -> tables.Layout:
    provenance = {"sweep": job.spec.name, "base_scenario": job.spec.scenario, **identity}
    return tables.Layout(list(job.spec.parameters), _firm_names(job.base), provenance)


def _manifest(job: _Job, identity: dict[str, str], layout: tables.Layout, columns: dict[str, list[str]]) -> dict:
    spec, plan = job.spec, job.plan
    seeds = spec.replicates.seed_list()
    return {
        "name": spec.name,
        "spec": spec.model_dump(mode="json"),
        **identity,
        "base_scenario": {"name": job.spec.scenario, "data": job.base},
        "design": spec.design,
        "parameter_sets": int(plan.set_id.nunique()),
        "seeds": seeds if len(seeds) <= 1000 else "see spec.replicates",
        "runs": len(plan),
        "chunks": job.chunk_count,
        "chunk_size": spec.outputs.chunk_size,
        "tables": {
            table: {"glob": tables.GLOBS[table], "columns": layout.columns_info(table, names)}
            for table, names in columns.items()
        },
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def load_results(out: str | Path, table: str = "runs") -> pd.DataFrame:
    """A sweep folder's table (`sim.tables.TABLES`: runs, firms or series) from every finished chunk,
    sorted by run (then step; firms keep the scenario's order)."""
    if table not in tables.TABLES:
        raise ParameterError(f"table {table!r}: not a results table; valid: {', '.join(tables.TABLES)}")
    files = folder.chunk_files(Path(out), table)
    if not files:
        raise ParameterError(f"{out}: no {table} results")
    frame = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    if table == "runs":  # None, as in memory (pandas 3 reads Parquet's nulls in a text column as NaN)
        frame["error"] = frame.error.astype(object).where(frame.error.notna(), None)
    order = ["run_id", "step"] if table == "series" else ["run_id"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm  # a widget in notebooks, text in a terminal

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: worker processes may still be forked

    return Bar(
        total=total,
        initial=initial,
        unit="run",
        disable=not enabled,
        dynamic_ncols=True,
        desc="sweep",
        file=sys.stderr,
    )
