"""Property-based tests over the whole declared parameter space (hypothesis)."""

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

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
    """Any scenario the validators accept. Draws that they refuse are rejected by the validators
    themselves (not by copies of their rules here), so that a validator dropped or loosened lets
    through parameters the model cannot handle and the invariants below catch it."""
    steps = draw(st.integers(1, 200))
    environment = {**draw(fields_strategy(Environment, skip=("steps",))), "steps": steps}
    traits = draw(st.lists(fields_strategy(Firm, skip=("name", "entry_step")), min_size=1, max_size=4))
    firms = [{**t, "name": f"firm-{i}", "entry_step": draw(st.integers(0, steps - 1))} for i, t in enumerate(traits)]
    try:
        return Scenario(environment=environment, drivers=draw(fields_strategy(Drivers)), firms=firms)
    except ValidationError:
        reject()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenario=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_any_valid_parameters_keep_the_invariants(scenario, seed):
    """No NaN or infinity, identities hold, allocations and shares bounded, quality never falls."""
    check_invariants(AIRaceModel(scenario, rng=seed).run())
