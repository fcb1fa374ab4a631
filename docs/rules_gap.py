"""When do the drivers matter? For each scenario, how far apart the model's biased firms and its
expected-value firms (every driver off) put their money, early and later: the mean gap between their
shares of the AI budget on LLMs, over 30 seeds, every firm on one rule at a time. Quoted in
docs/TEACHING.md (lesson 11: when a class should take over).

Run: `.venv/bin/python docs/rules_gap.py`
"""

from __future__ import annotations

import numpy as np

from sim.ensemble import run_seeds
from sim.scenarios import load_scenario, scenario_names

SEEDS = list(range(30))
QUARTERS = 20


def main() -> None:
    print(f"{'scenario':22s}  gap 2025-2027  gap 2028-2029   (share points of the AI budget on LLMs)")
    for name in scenario_names():
        x = {}
        for rule in ("biased", "expected_value"):
            history = run_seeds(load_scenario(name, {"firms.*.policy": rule}), SEEDS, QUARTERS)
            x[rule] = np.asarray(history["x"])  # quarter x run x firm
        gap = 100 * np.abs(x["biased"] - x["expected_value"])
        print(f"{name:22s}  {gap[:12].mean():13.1f}  {gap[12:].mean():13.1f}")


if __name__ == "__main__":
    main()
