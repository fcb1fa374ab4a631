"""Property-based tests over the whole declared parameter space (hypothesis)."""

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim import AIRaceModel
from sim.params import Drivers, Environment, Firm, Scenario, field_bounds
from tests.helpers import check_invariants


def fields_strategy(model, skip=()):
    """A dict strategy drawing every bounded field of a parameter model from its declared range."""
    parts = {}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        lo, hi = field_bounds(model, name)
        if info.annotation is int:
            parts[name] = st.integers(int(lo), int(hi))
        else:
            parts[name] = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return st.fixed_dictionaries(parts)


@st.composite
def scenarios(draw):
    environment = draw(fields_strategy(Environment, skip=("steps",)))
    assume(environment["llm_anchor_quality"] <= 0.95 * environment["llm_ceiling"])
    energy = environment["compute_per_dollar"] * environment["energy_per_compute"] * environment["energy_price"]
    assume(energy / 1000.0 < 1.0)
    environment["steps"] = draw(st.integers(1, 200))
    traits = draw(st.lists(fields_strategy(Firm, skip=("name",)), min_size=1, max_size=4))
    assume(max(t["initial_compute"] for t in traits) >= 1e-3)
    firms = [Firm(name=f"firm-{i}", **t) for i, t in enumerate(traits)]
    return Scenario(
        environment=Environment(**environment), drivers=Drivers(**draw(fields_strategy(Drivers))), firms=firms
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenario=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_any_valid_parameters_keep_the_invariants(scenario, seed):
    """No NaN or infinity, identities hold, allocations and shares bounded, quality never falls."""
    check_invariants(AIRaceModel(scenario, rng=seed).run())
