"""aisim's sweep engine against Mesa's own batch runner, side by side in one run.

The same sweep both ways: the baseline, environment.llm_ceiling at 10 values, 100 seeds
each (1,000 runs of 40 quarters), per-run summaries only. `mesa.batch_run` drives the Mesa
model with 2 processes; `aisim sweep` runs lockstep chunks on 2 processes (this one and a
forked helper) and writes Parquet. The script checks that both give the same final-quarter
values for every run, prints median wall times, and ends with
`speedup_vs_mesa_batch_run: X` (goal: X >= 100).

Both are timed in this Python process with everything imported; neither side counts
Python's start-up. The first sweep in a process also pays one-time costs (lazy imports,
the first calls into pandas and pyarrow: about 20-25 ms); it is timed and printed on its
own, and the repeats that make the medians come after it (and after a 2-run warm-up of
`batch_run` in this process), side by side.

Run: `.venv/bin/python bench/sweep_vs_batch_run.py [--repeats N]`
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import mesa
import numpy as np
import pandas as pd

from sim import AIRaceModel
from sim.sweeps import run_sweep

CEILINGS = [round(float(c), 2) for c in np.linspace(1.2, 6.0, 10)]
SEEDS = list(range(100))
SPEC = {
    "name": "bench",
    "scenario": "baseline",
    "parameters": {"environment.llm_ceiling": {"values": CEILINGS}},
    "replicates": {"count": len(SEEDS)},
    "outputs": {"measures": ["final_hhi", "firms_alive", "final_best_quality"], "firm_measures": ["final_share"]},
}


def with_batch_run() -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    rows = mesa.batch_run(
        AIRaceModel,
        parameters={"scenario": "baseline", "environment.llm_ceiling": CEILINGS},
        rng=SEEDS,
        number_processes=2,
        max_steps=100,
        data_collection_period=-1,
        display_progress=False,
    )
    seconds = time.perf_counter() - start
    table = pd.DataFrame(rows).drop_duplicates("RunId")
    table = table.rename(columns={"environment.llm_ceiling": "ceiling", "rng": "seed"})
    table["final_best_quality"] = np.maximum(table.best_llm_quality, table.best_wm_quality)
    return seconds, table[["ceiling", "seed", "Step", "hhi", "firms_alive", "final_best_quality"]]


def with_sweep() -> tuple[float, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        report = run_sweep(SPEC, f"{folder}/out", workers=2, keep=True)
        seconds = time.perf_counter() - start
    table = report.results.rename(columns={"environment.llm_ceiling": "ceiling"})
    return seconds, table[["ceiling", "seed", "final_hhi", "firms_alive", "final_best_quality"]]


def check_same(batch: pd.DataFrame, swept: pd.DataFrame) -> int:
    """Every run's final-quarter values agree exactly; returns the number of runs compared."""
    merged = batch.merge(swept, on=["ceiling", "seed"], suffixes=("_mesa", "_sweep"), validate="one_to_one")
    assert len(merged) == len(CEILINGS) * len(SEEDS), f"only {len(merged)} runs matched"
    assert (merged.Step == 40).all(), "batch_run did not stop after 40 quarters"
    assert (merged.hhi == merged.final_hhi).all(), "HHI differs"
    assert (merged.firms_alive_mesa == merged.firms_alive_sweep).all(), "firms alive differ"
    assert (merged.final_best_quality_mesa == merged.final_best_quality_sweep).all(), "best quality differs"
    return len(merged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each (median reported)")
    repeats = parser.parse_args().repeats
    first_sweep, _ = with_sweep()
    mesa.batch_run(
        AIRaceModel, parameters={"scenario": "baseline"}, rng=[0, 1], number_processes=1, display_progress=False
    )
    batch_times, sweep_times = [], []
    for _ in range(repeats):
        seconds, batch = with_batch_run()
        batch_times.append(seconds)
        seconds, swept = with_sweep()
        sweep_times.append(seconds)
    compared = check_same(batch, swept)
    batch_median, sweep_median = statistics.median(batch_times), statistics.median(sweep_times)
    print(f"runs: {compared} (10 values x 100 seeds x 40 quarters), identical final values: yes")
    print(f"mesa_batch_run_seconds_median: {batch_median:.3f}  (2 processes; all: {_list(batch_times)})")
    print(f"aisim_sweep_seconds_median: {sweep_median:.3f}  (2 workers, Parquet written; all: {_list(sweep_times)})")
    print(f"aisim_sweep_first_call_seconds: {first_sweep:.3f}  (the first sweep in this process, not in the median)")
    print(f"speedup_vs_mesa_batch_run: {batch_median / sweep_median:.1f}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
