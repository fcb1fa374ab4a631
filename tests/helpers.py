"""Helpers shared by the tests: checking a finished run's invariants; finding child processes."""

import os

import numpy as np

from sim.arrays import ArrayBag
from sim.mechanisms import sigmoid
from sim.outputs import stack_history
from sim.variables import FIRM_VARIABLES, MARKET_VARIABLES


def check_invariants(model) -> ArrayBag:
    """Assert the accounting identities and bounds every quarter; returns the stacked history."""
    h = stack_history(model.history)
    for name in list(FIRM_VARIABLES) + list(MARKET_VARIABLES):
        assert np.all(np.isfinite(h[name])), f"{name} is not finite"
    env = model.config.environment
    cash_before = np.concatenate([model.params.firm.initial_cash[None], h.cash[:-1]])
    flows = cash_before + h.income - h.operating_cost - h.budget - h.payout
    # to rounding relative to the size of the flows (a budget that spends all the cash leaves ~0)
    scale = np.abs(cash_before) + np.abs(h.income) + h.operating_cost + h.budget + h.payout
    assert np.all(np.abs(np.where(h.alive, h.cash, flows) - flows) <= 1e-12 * scale + 1e-9), "cash does not add up"
    assert np.all(h.cash[~h.alive] == 0), "a firm that exited was not wound up"
    assert np.all(h.cash >= -1e-9), "negative cash"
    assert np.all(h.payout >= 0)
    assert np.all(h.funding <= env.max_funding_per_quarter), "funding above what investors supply"
    assert np.all(h.valuation <= env.max_valuation), "valuation above its declared bound"
    assert np.all((h.confidence >= 0) & (h.confidence <= 1))

    # valuation <= confidence x (base + multiple x max(annual revenue, prospect)), confidence <= 1 and
    # prospect = prospect_weight x share (<= 1) x demand at mid-horizon, which is at most
    # potential x adoption ahead x capability x the largest demand shock (normals here are < 8.6 sd)
    year = h.year[..., 0][..., None]
    adoption_ahead = sigmoid(env.adoption_rate * (year + env.planning_horizon_years / 2 - env.adoption_midpoint_year))
    ahead = env.market_potential * adoption_ahead * h.capability_index * np.exp(8.6 * env.demand_noise)
    prospect = np.where(h.wm_breakthrough, env.prospect_weight * ahead, 0.0)  # only after a breakthrough
    multiples = model.params.firm.base_valuation + env.revenue_multiple * np.maximum(4.0 * h.ai_revenue, prospect)
    assert np.all(h.valuation <= multiples * (1 + 1e-9) + 1e-9), (
        "valuation above its multiples of revenue and prospects"
    )
    assert np.all((h.investment_share >= 0) & (h.investment_share <= 1))
    shares_before = np.concatenate([model.initial_state.market_share[None], h.market_share[:-1]])
    exited = np.concatenate([~h.alive[:1], h.alive[:-1] & ~h.alive[1:]]).any(axis=-1)  # a firm left in quarter t
    no_exit = ~np.concatenate([np.zeros_like(exited[:1]), exited[:-1]])  # its customers re-choose in t + 1
    moved = np.abs(h.market_share - shares_before).max(axis=-1)
    choosing = env.switching_rate + (1.0 - env.switching_rate) * h.new_customer_share[..., 0]
    assert np.all((h.new_customer_share >= 0) & (h.new_customer_share <= 1))  # 1: demand from nothing
    assert np.all(moved[no_exit] <= choosing[no_exit] + 1e-12), "market share moved faster than switching allows"
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


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux: read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
