"""Stylised facts every scenario must respect, over many seeds (sim.validation, docs/MODEL.md 1.1).

The bounds come from the facts, not from the model's output: an AI market that is concentrated
but never a monopoly, cash piles within a few times the largest any firm has held, incumbents whose
market share and revenue move over years rather than collapsing in a quarter.
"""

import numpy as np
import pytest

from sim import load_scenario, scenario_names
from sim.arrays import ArrayBag
from sim.ensemble import run_seeds
from sim.validation import FACT_SEEDS, STYLISED_FACTS


@pytest.fixture(scope="module", params=scenario_names())
def history(request):
    return request.param, run_seeds(load_scenario(request.param), list(FACT_SEEDS))


@pytest.mark.parametrize("fact", STYLISED_FACTS, ids=[f.name for f in STYLISED_FACTS])
def test_every_scenario_respects_the_fact(history, fact):
    name, h = history
    held, detail = fact.check(h)
    assert held, f"{name}: {fact.fact}: {detail}"


def test_the_checks_can_fail():
    """Each check rejects a history that breaks its fact."""
    quarters, runs, firms = 3, 1, 2
    ok = ArrayBag(
        hhi=np.full((quarters, runs, 1), 3000.0),
        cash=np.full((quarters, runs, firms), 100.0),
        funding=np.zeros((quarters, runs, firms)),
        market_share=np.full((quarters, runs, firms), 0.4),
        ai_revenue=np.full((quarters, runs, firms), 10.0),
        active=np.ones((quarters, runs, firms), dtype=bool),
    )
    assert all(fact.check(ok)[0] for fact in STYLISED_FACTS)
    broken = {
        "concentrated, never a monopoly": ("hhi", 9900.0),
        "money bounded": ("cash", 5000.0),
        "incumbents move over years": ("market_share", 0.9),
        "revenue does not collapse": ("ai_revenue", 1.5),
    }
    for fact in STYLISED_FACTS:
        name, value = broken[fact.name]
        bad = ArrayBag({key: array.copy() for key, array in ok.items()})
        bad[name][-1] = value
        assert not fact.check(bad)[0], fact.name
