"""Regenerate tests/baseline.json on purpose, after a change meant to move the results.

    make baseline        (or: python tests/regenerate_baseline.py)

The regression test (tests/test_regression.py) compares every scenario's key outputs for a
few seeds against this file and names what moved. Review the diff of baseline.json before
committing it: every moved number should be explained by the change.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sim import load_scenario, scenario_names
from sim.ensemble import run_seeds
from sim.outputs import firm_summary_arrays, run_summary_arrays

BASELINE_FILE = Path(__file__).resolve().parent / "baseline.json"
SEEDS = (0, 1, 2)
FIRM_KEYS = ("mean_x", "final_share", "final_cash", "big_muddy_spend", "pivot_step", "breakthrough_step")


def key_outputs() -> dict:
    """Per scenario and seed: every run measure and a few firm measures."""
    outputs = {}
    for name in scenario_names():
        scenario = load_scenario(name)
        history = run_seeds(scenario, SEEDS)
        runs, firms = run_summary_arrays(history), firm_summary_arrays(history)
        names = [f.name for f in scenario.firms]
        outputs[name] = {
            str(seed): {
                **{k: _plain(v[r, 0]) for k, v in runs.items()},
                **{f"{firm}.{k}": _plain(firms[k][r, i]) for k in FIRM_KEYS for i, firm in enumerate(names)},
            }
            for r, seed in enumerate(SEEDS)
        }
    return outputs


def _plain(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def main() -> None:
    BASELINE_FILE.write_text(json.dumps(key_outputs(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE_FILE}")


if __name__ == "__main__":
    main()
