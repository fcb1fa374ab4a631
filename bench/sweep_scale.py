"""Throughput and peak memory of large sweeps of the baseline on 2 workers.

Runs sweeps of 10,000, 30,000 and 100,000 runs (one parameter at 10 values, the rest
seeds; 40 quarters; per-run summaries), each in a fresh process, and prints runs per
second and the peak resident memory of the main process and of its forked helper (with 2
workers the main process runs half the chunks itself). Memory should stay flat as the
sweep grows (chunks are written as they finish); goal: under 2 GB in all for 100,000 runs.

Run: `.venv/bin/python bench/sweep_scale.py [--sizes 10000 100000]`
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time

WORKERS = 2


def one_sweep(runs: int) -> dict:
    """Run in a fresh process: one sweep of ``runs`` runs; report time and peak memory."""
    from sim.sweeps import run_sweep

    spec = {
        "name": f"scale-{runs}",
        "scenario": "baseline",
        "parameters": {"environment.llm_ceiling": {"values": [1.2 + 0.5 * i for i in range(10)]}},
        "replicates": {"count": runs // 10},
        "outputs": {"chunk_size": 1000},
    }
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        report = run_sweep(spec, f"{folder}/out", workers=WORKERS)
        seconds = time.perf_counter() - start
    while multiprocessing.active_children():  # helpers exit on their own; reap them to read their peak
        time.sleep(0.01)
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "runs": report.runs,
        "failed": report.failed,
        "seconds": seconds,
        "main_mb": main_mb,
        "worker_mb": worker_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_sweep(args.child)))
        return
    print(f"{'runs':>8} {'seconds':>8} {'runs/s':>8} {'main MB':>8} {'helper MB':>9} {'total MB':>9}")
    for size in args.sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(size)], capture_output=True, text=True, check=True
        ).stdout
        r = json.loads(output.strip().splitlines()[-1])
        total = r["main_mb"] + (WORKERS - 1) * r["worker_mb"]
        print(
            f"{r['runs']:>8} {r['seconds']:>8.1f} {r['runs'] / r['seconds']:>8.0f} {r['main_mb']:>8.0f} "
            f"{r['worker_mb']:>9.0f} {total:>9.0f}"
        )
        assert r["failed"] == 0
    helpers = WORKERS - 1
    print(f"peak_memory_mb_at_{args.sizes[-1]}_runs (main + {helpers} helper): {total:.0f}  (goal < 2048)")
    print(f"runs_per_second_at_{args.sizes[-1]}_runs: {r['runs'] / r['seconds']:.0f}")


if __name__ == "__main__":
    main()
