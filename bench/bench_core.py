"""Benchmark of the interactive model: time per step by number of firms, and a whole run.

Prints medians over repeated measurements, taken side by side in one process:
  - median time per step for 5, 100 and 1,000 firms (model.step, data collection included)
  - median time of a whole 40-step baseline run (building the model included)
  - the 1,000/100 per-step ratio (linear scaling gives about 10)

Targets (issue 2): a 5-firm 40-step run under 50 ms; per-step cost growing no faster than
linearly with the number of firms. Run: `make bench` or `python bench/bench_core.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import AIRaceModel
from sim.open_field import open_field

RUN_TARGET_MS = 50.0


def median_step_ms(n_firms: int, steps: int = 40, repeats: int = 7) -> float:
    """Median over repeats of the mean time per step of a 40-step run with n firms."""
    scenario = open_field(n_firms)
    samples = []
    for repeat in range(repeats):
        model = AIRaceModel(scenario, rng=repeat, steps=steps)
        start = time.perf_counter()
        model.run()
        samples.append((time.perf_counter() - start) / steps * 1e3)
    return statistics.median(samples)


def median_run_ms(repeats: int = 31) -> float:
    """Median time to build and run the 40-step, 5-firm baseline."""
    AIRaceModel("baseline", rng=0).run()  # warm-up: imports, scenario file cache
    samples = []
    for repeat in range(repeats):
        start = time.perf_counter()
        AIRaceModel("baseline", rng=repeat).run()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def main() -> None:
    per_step = {n: median_step_ms(n) for n in (5, 100, 1000)}
    for n, ms in per_step.items():
        print(f"step_ms_median[{n} firms]: {ms:.3f}")
    ratio = per_step[1000] / per_step[100]
    print(f"ratio_1000_vs_100_firms: {ratio:.2f}  (linear scaling: 10, below 10: sub-linear)")
    run_ms = median_run_ms()
    print(f"baseline_run_ms_median[5 firms, 40 steps]: {run_ms:.2f}  (target < {RUN_TARGET_MS:.0f})")
    print(f"baseline_run_vs_target: {run_ms / RUN_TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
