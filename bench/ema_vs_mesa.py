"""EMA Workbench experiments through the lockstep evaluator against EMA's plain Mesa path, side by side.

The same 600 experiments both ways: the baseline (40 quarters) over four uncertainties
(LLM ceiling, sunk-cost and competitive-pressure driver strengths, world-model difficulty),
one seed per experiment by default, four outcomes (two run measures, one that is NaN when no
firm broke through, one firm measure). `perform_experiments` with EMA's SequentialEvaluator
runs the model function, one `AIRaceModel` run per replication; with `sim.ema.LockstepEvaluator`
the experiments go through `sim.sweeps.run_plan` in lockstep chunks. Both run in this one
process (``--workers 1``, the default). The script checks that both give identical outcomes,
prints the median wall time of each over the repeats, and ends with
`speedup_vs_ema_mesa_path: X` (goal: X >= 30).

Both sides are timed in this Python process with everything imported, after one untimed
warm-up each; neither counts Python's start-up.

Run: `.venv/bin/python bench/ema_vs_mesa.py [--experiments 600] [--seeds 1] [--repeats 3] [--workers 1]`
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from ema_workbench import perform_experiments
from ema_workbench.em_framework.samplers import LHSSampler

from sim.ema import LockstepEvaluator, build_model

UNCERTAINTIES = {
    "environment.llm_ceiling": (1.3, 6.0),
    "drivers.sunk_cost": (0.0, 3.0),
    "drivers.competitive_pressure": (0.0, 3.0),
    "environment.wm_difficulty": (60.0, 400.0),
}
OUTCOMES = ["llm_spend_share", "big_muddy_spend", "first_breakthrough_step", "Meta_like__pivot_step"]


def timed(model, scenarios, evaluator=None) -> tuple[float, dict]:
    start = time.perf_counter()
    _, outcomes = perform_experiments(model, scenarios=scenarios, evaluator=evaluator, log_progress=True)
    return time.perf_counter() - start, outcomes


def check_same(first: dict, second: dict) -> None:
    """Identical outcomes: the same values bit for bit (NaN where no firm broke through), no failure."""
    for name in OUTCOMES:
        assert not np.ma.is_masked(first[name]) and not np.ma.is_masked(second[name]), f"{name}: failed experiments"
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=600, help="experiments (LHS over the uncertainties)")
    parser.add_argument("--seeds", type=int, default=1, help="replications (seeds 0..N-1) per experiment")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each (median reported)")
    parser.add_argument("--workers", type=int, default=1, help="processes of the lockstep evaluator")
    args = parser.parse_args()
    model = build_model("baseline", UNCERTAINTIES, OUTCOMES, seeds=range(args.seeds))
    scenarios = LHSSampler().generate_samples(model.uncertainties, args.experiments, rng=2026)
    evaluator = LockstepEvaluator(model, workers=args.workers)
    timed(model, scenarios[:5])  # warm-ups: first calls into pandas, pydantic, EMA
    timed(model, scenarios[:5], evaluator)
    mesa_times, lockstep_times = [], []
    for _ in range(args.repeats):
        seconds, mesa = timed(model, scenarios)
        mesa_times.append(seconds)
        seconds, lockstep = timed(model, scenarios, evaluator)
        lockstep_times.append(seconds)
        check_same(lockstep, mesa)
    mesa_median, lockstep_median = statistics.median(mesa_times), statistics.median(lockstep_times)
    runs = args.experiments * args.seeds
    print(f"experiments: {args.experiments} x {args.seeds} seed(s) = {runs} runs of 40 quarters, identical outcomes")
    print(f"ema_mesa_path_seconds_median: {mesa_median:.3f}  (SequentialEvaluator; all: {_list(mesa_times)})")
    print(
        f"ema_lockstep_seconds_median: {lockstep_median:.3f}  (LockstepEvaluator, {args.workers} process(es); "
        f"all: {_list(lockstep_times)})"
    )
    print(f"speedup_vs_ema_mesa_path: {mesa_median / lockstep_median:.1f}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
