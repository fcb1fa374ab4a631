"""Regression against tests/baseline.json: key outputs of every scenario for a few seeds.

A failure names each value that moved. If the change was meant to move results, run
`make baseline` and review the diff of tests/baseline.json before committing it.
"""

import json
import math

from tests.regenerate_baseline import BASELINE_FILE, key_outputs

RTOL = 1e-9


def test_key_outputs_match_the_saved_baseline():
    saved = json.loads(BASELINE_FILE.read_text())
    current = key_outputs()
    assert sorted(current) == sorted(saved), "scenarios added or removed: run `make baseline`"
    moved = []
    for scenario, seeds in saved.items():
        for seed, values in seeds.items():
            now = current[scenario][seed]
            for key in sorted(set(values) | set(now)):
                old, new = values.get(key), now.get(key)
                if old is None or new is None:
                    if old != new:
                        moved.append(f"{scenario} seed {seed} {key}: {old} -> {new}")
                elif not math.isclose(old, new, rel_tol=RTOL, abs_tol=1e-12):
                    moved.append(f"{scenario} seed {seed} {key}: {old:.6g} -> {new:.6g}")
    assert not moved, f"{len(moved)} values moved (run `make baseline` if intended):\n" + "\n".join(moved[:40])
