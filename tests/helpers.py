"""Helpers shared by the tests: checking a finished run's invariants."""

import numpy as np

from sim.arrays import ArrayBag
from sim.outputs import stack_history
from sim.variables import FIRM_VARIABLES, MARKET_VARIABLES


def check_invariants(model) -> ArrayBag:
    """Assert the accounting identities and bounds every quarter; returns the stacked history."""
    h = stack_history(model.history)
    for name in list(FIRM_VARIABLES) + list(MARKET_VARIABLES):
        assert np.all(np.isfinite(h[name])), f"{name} is not finite"
    cash_before = np.concatenate([model.params.firm.initial_cash[None], h.cash[:-1]])
    np.testing.assert_allclose(h.cash, cash_before + h.income - h.operating_cost - h.budget, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(h.llm_spend + h.wm_spend, h.budget, rtol=1e-12, atol=1e-12)
    assert np.all(h.budget >= 0) and np.all(h.llm_spend >= 0) and np.all(h.wm_spend >= 0)
    assert np.all((h.x >= 0) & (h.x <= 1)) and np.all((h.x_target >= 0) & (h.x_target <= 1))
    assert np.all(h.market_share >= 0)
    assert np.all(h.market_share.sum(axis=-1) <= 1 + 1e-12)
    np.testing.assert_allclose(h.market_share.sum(axis=-1) + h.outside_share[..., 0], 1.0, rtol=1e-12)
    assert np.all(np.diff(h.compute, axis=0) >= 0), "compute fell"
    assert np.all(np.diff(h.llm_quality, axis=0) >= 0), "LLM quality fell"
    assert np.all(h.llm_quality <= model.config.environment.llm_ceiling)
    assert np.all(np.diff(h.wm_knowledge, axis=0) >= 0), "knowledge fell"
    assert np.all(h.budget[~h.active] == 0), "a firm out of the market spent"
    return h
