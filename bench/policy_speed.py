"""What firm policies cost a sweep: 1,000 runs with every firm on the built-in rule, and with one firm
(or all) on another policy, side by side in one process.

Firms on the built-in rule are decided together over arrays; a firm on another policy is decided one by
one (a view built and a policy asked per firm, run and quarter), so its cost grows with the runs that
have one. With ``--against COMMIT`` the all-default sweep also runs, interleaved, on the code of an
earlier commit (a temporary git worktree, in fresh processes on both sides): the built-in path must be
as fast as before policies existed.

Run: `.venv/bin/python bench/policy_speed.py [--repeats 5] [--workers 1] [--against 771f4f6]`
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "every firm on the built-in rule": {},
    "Meta-like on expected_value": {"firms.Meta-like.policy": "expected_value"},
    "Meta-like on thompson": {"firms.Meta-like.policy": "thompson"},
    "every firm on thompson": {"firms.*.policy": "thompson"},
}


def spec(policies: dict) -> dict:
    """1,000 runs of the baseline: 10 LLM ceilings x 100 seeds, 40 quarters, the default measures."""
    parameters = {"environment.llm_ceiling": {"values": [1.2 + 0.5 * i for i in range(10)]}}
    parameters.update({name: {"values": [value]} for name, value in policies.items()})
    return {"name": "policy-speed", "scenario": "baseline", "parameters": parameters, "replicates": {"count": 100}}


def timed(policies: dict, workers: int) -> float:
    from sim.sweeps import run_sweep

    start = time.perf_counter()
    report = run_sweep(spec(policies), workers=workers)
    seconds = time.perf_counter() - start
    assert report.runs == 1000 and report.failed == 0
    return seconds


def in_fresh_process(path: Path, workers: int) -> float:
    """The all-default sweep timed in a new Python process whose ``sim`` comes from ``path``."""
    code = (
        "import json, time; from sim.sweeps import run_sweep; "
        f"spec = {json.dumps(spec({}))}; run_sweep(spec, workers={workers}); "  # warm-up: imports, first calls
        f"t = time.perf_counter(); run_sweep(spec, workers={workers}); print(time.perf_counter() - t)"
    )
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--against", metavar="COMMIT", help="also time the all-default sweep on this commit")
    args = parser.parse_args()

    timed({}, args.workers)  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):  # interleaved, so that drift in the machine's speed hits every variant
        for name, policies in VARIANTS.items():
            seconds[name].append(timed(policies, args.workers))
    default = statistics.median(seconds["every firm on the built-in rule"])
    print(f"1,000 runs x 40 quarters, 5 firms, {args.workers} worker(s); median of {args.repeats}:")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"  {name:34s} {median:6.2f} s  {1000 / median:8,.0f} runs/s  {median / default:5.1f}x the default")

    if args.against:
        with tempfile.TemporaryDirectory() as folder:
            tree = Path(folder) / "before"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), args.against], check=True
            )
            try:
                now, before = [], []
                for _ in range(args.repeats):
                    now.append(in_fresh_process(ROOT, args.workers))
                    before.append(in_fresh_process(tree, args.workers))
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
        print(
            f"every firm on the built-in rule, fresh processes, median of {args.repeats}: "
            f"{statistics.median(now):.3f} s now, {statistics.median(before):.3f} s at {args.against} "
            f"({statistics.median(now) / statistics.median(before):.2f}x)"
        )


if __name__ == "__main__":
    main()
