"""Synthetic scenarios with many labs ("an open field of labs"), for scale tests and benchmarks."""

from __future__ import annotations

import numpy as np

from sim.params import FirmTraits, Scenario


def open_field(n_firms: int, seed: int = 0) -> Scenario:
    """A scenario with ``n_firms`` labs whose traits are drawn from broad, plausible ranges.

    The draw uses its own seed, so the same ``(n_firms, seed)`` always gives the same labs.
    """
    rng = np.random.default_rng(seed)
    firms = [
        FirmTraits(
            name=f"lab-{i}",
            initial_cash=float(rng.uniform(1, 50)),
            core_profit=float(rng.choice([0.0, rng.uniform(0, 20)])),
            reinvestment_rate=float(rng.uniform(0.3, 1.2)),
            operating_costs=float(rng.uniform(0, 2)),
            funding_rate=float(rng.uniform(0, 0.2)),
            base_valuation=float(rng.uniform(0, 20)),
            distribution=float(rng.normal(0, 0.5)),
            openness=float(rng.uniform()),
            initial_allocation=float(rng.uniform()),
            initial_compute=float(rng.uniform(1, 100)),
        )
        for i in range(n_firms)
    ]
    return Scenario(name=f"open-field-{n_firms}", title=f"An open field of {n_firms} labs", firms=firms)
