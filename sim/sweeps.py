"""Batch sweeps: many runs in lockstep chunks, in parallel or on a Dask cluster, resumable.

A sweep's runs (`sim.sweep_spec.plan_runs`) are cut into chunks of ``outputs.chunk_size``
runs. Each chunk runs in lockstep with the same mechanisms as the Mesa model (so each run
is bit-identical to the Mesa model with its scenario and seed, whichever way it ran), and
its results are written as soon as it finishes:

    OUT/manifest.json                     spec, its hash, version, design, seeds, status
    OUT/runs/chunk-000000.parquet ...     one row per run: parameters, seed, measures
    OUT/series/chunk-000000.parquet ...   per-step variables, when the spec asks for them

Every file is written to a temporary name and renamed, so a killed sweep leaves only
whole chunks; ``resume=True`` runs the missing ones. Memory stays bounded: only a few
chunks are in flight at once.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.arrays import ModelParams
from sim.ensemble import run_batch
from sim.outputs import FirmMeasures, RunMeasures, measure_inputs
from sim.params import ParameterError, Scenario
from sim.sweep_spec import SweepSpec, build_scenario, load_spec, plan_runs, spec_from_data
from sim.variables import FIRM_VARIABLES

MANIFEST = "manifest.json"
IN_FLIGHT_PER_WORKER = 2
CONNECT_TIMEOUT = "10s"


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


@dataclass
class ChunkResult:
    """What a chunk produced: the runs table, the series table (or None) and its failures."""

    index: int
    runs: pd.DataFrame
    series: pd.DataFrame | None
    failed: int = 0


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


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Run one chunk in lockstep; a run that fails is recorded with its error, the rest go on."""
    runs = task.runs
    set_ids = runs.set_id.to_numpy()
    scenarios: dict[int, Scenario] = {}
    errors: dict[int, str] = {}
    values = {name: runs[name].to_numpy() for name in runs.columns if name not in ("run_id", "set_id", "seed")}
    for set_id, first in zip(*np.unique(set_ids, return_index=True), strict=True):
        overrides = {name: _plain(column[first]) for name, column in values.items()}
        try:
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
    return ChunkResult(task.index, table, pd.concat(series, ignore_index=True) if series else None, failed)


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
        "error": np.where(
            bad >= 0, [f"non-finite values (NaN or infinity) in the model state by quarter {q}" for q in bad], ""
        ),
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


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


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
    spec, base = _load(spec)
    plan = plan_runs(spec)
    chunk_count = _chunk_count(plan, spec)
    out = Path(out) if out is not None else None
    client = connect(scheduler) if scheduler is not None else None
    done = _prepare_folder(out, spec, base, plan, chunk_count, resume) if out is not None else set()
    todo = [i for i in range(chunk_count) if i not in done]
    kept: list[pd.DataFrame] = []
    failed = 0
    already = sum(_chunk_runs(i, spec.outputs.chunk_size, len(plan)) for i in done)
    for result in _run_chunks(plan, base, spec, todo, workers, client, progress, already):
        if out is not None:
            _write_chunk(out, result)
        if keep:
            kept.append(result.runs)
        failed += result.failed
    if out is not None:
        failed += _failed_runs(out, done)
        _finish_manifest(out, failed)
    results = None
    if keep:  # chunks done by an earlier call are read back; this call's are still in memory
        results = load_results(out) if done else _by_run(kept)
    runs_run = len(plan) - already
    seconds = time.perf_counter() - started
    return SweepReport(out, len(plan), runs_run, failed, len(todo), len(done), seconds, results)


def run_plan(plan: pd.DataFrame, base: dict, spec: SweepSpec, workers: int = 1, progress: bool = False) -> pd.DataFrame:
    """Run an explicit plan (run_id, set_id, seed, parameter columns) with a spec's steps and
    outputs, in memory; one row per run. Used by analyses that make their own designs."""
    chunks = range(_chunk_count(plan, spec))
    return _by_run([result.runs for result in _run_chunks(plan, base, spec, chunks, workers, None, progress)])


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
        )


def _load(spec: str | Path | SweepSpec | dict) -> tuple[SweepSpec, dict]:
    if isinstance(spec, SweepSpec):
        return spec_from_data(spec.model_dump(exclude_none=True))
    if isinstance(spec, dict):
        return spec_from_data(spec)
    return load_spec(spec)


def _chunk_runs(index: int, chunk_size: int, total: int) -> int:
    return min(chunk_size, total - index * chunk_size)


def _execute(tasks: Iterator[ChunkTask], workers: int, client: Any | None) -> Iterator[ChunkResult]:
    """Run chunk tasks in this process, in local worker processes, or on a Dask cluster."""
    if client is not None:
        with client:
            limit = 2 * max(1, len(client.scheduler_info()["workers"]))
            yield from _bounded(client.get_executor(), tasks, limit)
    elif workers <= 1:
        for task in tasks:
            yield run_chunk(task)
    else:  # this process runs a share of the chunks too, instead of only waiting
        pool = _local_pool(workers - 1)
        try:
            yield from _bounded(pool, tasks, (workers - 1) * IN_FLIGHT_PER_WORKER, here_every=workers)
        finally:  # every result is in (or the sweep was stopped): let the helpers exit on their own
            pool.shutdown(wait=False, cancel_futures=True)


def _local_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes, started at once.

    On Linux they are forked: a worker is ready in milliseconds with everything imported,
    where a spawned one needs about a second to import numpy, pandas and pydantic. The pool
    starts before this module starts any thread of its own (progress bars have no monitor
    thread), so the only other threads are the BLAS library's, which are fork-safe; Python
    3.12 still warns about forking a multi-threaded process, and that warning is silenced here.
    """
    if not sys.platform.startswith("linux"):
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*use of fork\\(\\) may lead to deadlocks", category=DeprecationWarning
        )
        pool.submit(int)  # with fork, the first task starts every worker, here and now
    return pool


def _bounded(executor: Executor, tasks: Iterator[ChunkTask], limit: int, here_every: int = 0) -> Iterator[ChunkResult]:
    """Submit tasks with at most ``limit`` in flight; yield results as they finish.

    With ``here_every`` = n, every n-th task runs in this process instead, so that n
    processes share the work (this one and the executor's n - 1).
    """
    pending: set[Future] = set()
    try:
        for i, task in enumerate(tasks):
            if here_every and i % here_every == here_every - 1:
                _let_dispatch(pending, helpers=here_every - 1)
                yield run_chunk(task)
                finished = {future for future in pending if future.done()}
            else:
                pending.add(executor.submit(run_chunk, task))
                finished = set()
                if len(pending) >= limit:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            pending -= finished
            yield from (future.result() for future in finished)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in finished)
    finally:
        for future in pending:
            future.cancel()


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
        raise ParameterError("--scheduler needs Dask: pip install 'aisim[cluster]'") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"--scheduler {address}: cannot connect ({err})") from None


# --- the results folder ---------------------------------------------------------------


def _prepare_folder(
    out: Path, spec: SweepSpec, base: dict, plan: pd.DataFrame, chunk_count: int, resume: bool
) -> set[int]:
    """Check the folder against the spec, its base scenario and the code's versions; return the
    chunks already done (when resuming)."""
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("spec_hash") != spec.digest():
            raise ParameterError(
                f"{out}: holds the results of a different sweep spec (hash {manifest.get('spec_hash')}, this spec "
                f"{spec.digest()}); resuming would mix them. Use another --out folder."
            )
        for key, now, what in _model_identity(base):
            if manifest.get(key) != now:
                raise ParameterError(
                    f"{out}: its runs were made with {what} {manifest.get(key, 'not recorded')}, this sweep has {now}; "
                    "resuming would mix results of two models. Restore it, or use another --out folder."
                )
        if not resume:
            state = "complete" if manifest.get("status") == "complete" else "unfinished"
            raise ParameterError(f"{out}: already holds this sweep ({state}); add --resume to finish or reuse it")
    elif out.exists() and any(out.iterdir()):
        raise ParameterError(f"{out}: folder is not empty and holds no sweep manifest; choose a new --out folder")
    for sub in ("runs", "series"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for leftover in (out / sub).glob(".*.tmp"):
            leftover.unlink()  # a chunk a killed sweep was writing
    if not manifest_path.is_file():
        _write_json(manifest_path, _manifest(spec, base, plan, chunk_count))
    return {int(p.stem.split("-")[1]) for p in (out / "runs").glob("chunk-*.parquet")}


def _model_identity(base: dict) -> list[tuple[str, str, str]]:
    """What must not change between a sweep's start and its resume: (manifest key, value now, name)."""
    import sim

    scenario = hashlib.sha256(json.dumps(base, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return [
        ("base_scenario_hash", scenario, "a base scenario (parameters, parents included) of hash"),
        ("aisim_version", sim.__version__, "aisim"),
        ("numpy_version", np.__version__, "numpy"),
    ]


def _manifest(spec: SweepSpec, base: dict, plan: pd.DataFrame, chunk_count: int) -> dict:
    return {
        "name": spec.name,
        "spec": spec.model_dump(mode="json"),
        "spec_hash": spec.digest(),
        **{key: now for key, now, _ in _model_identity(base)},
        "design": spec.design,
        "parameter_sets": int(plan.set_id.nunique()),
        "seeds": spec.replicates.seed_list() if len(spec.replicates.seed_list()) <= 1000 else "see spec.replicates",
        "runs": len(plan),
        "chunks": chunk_count,
        "chunk_size": spec.outputs.chunk_size,
        "status": "running",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _write_chunk(out: Path, result: ChunkResult) -> None:
    """Series first, runs last: a chunk counts as done once its runs file exists."""
    name = _chunk_name(result.index)
    if result.series is not None:
        _write_parquet(result.series, out / "series" / name)
    _write_parquet(result.runs, out / "runs" / name)


def _chunk_name(index: int) -> str:
    return f"chunk-{index:06d}.parquet"


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    table.to_parquet(temporary, index=False)
    os.replace(temporary, path)


def _write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(temporary, path)


def _failed_runs(out: Path, chunks: Iterable[int]) -> int:
    """How many runs failed in the given chunks, read from their files."""
    paths = (out / "runs" / _chunk_name(i) for i in chunks)
    return sum(int((pd.read_parquet(p, columns=["status"]).status != "ok").sum()) for p in paths)


def _finish_manifest(out: Path, failed: int) -> None:
    """Mark the sweep complete when every chunk is there, with its number of failed runs."""
    manifest = json.loads((out / MANIFEST).read_text())
    if len(list((out / "runs").glob("chunk-*.parquet"))) == manifest["chunks"]:
        manifest.update(status="complete", failed_runs=failed, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        _write_json(out / MANIFEST, manifest)


def load_results(out: str | Path, table: str = "runs") -> pd.DataFrame:
    """A sweep folder's runs (or series) table, all chunks, sorted by run."""
    files = sorted((Path(out) / table).glob("chunk-*.parquet"))
    if not files:
        raise ParameterError(f"{out}: no {table} results")
    columns = ["run_id", "step", "firm"] if table == "series" else ["run_id"]
    frame = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    return frame.sort_values(columns[: 1 if table == "runs" else 2], kind="stable").reset_index(drop=True)


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

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
