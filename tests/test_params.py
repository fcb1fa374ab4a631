"""Parameter validation: unknown keys, ranges, and messages that say what is allowed."""

import pytest

from sim import ParameterError, load_scenario
from sim.params import Environment, FirmTraits, describe_field, validate_scenario


def scenario_data(**changes):
    data = {"firms": [{"name": "A"}]}
    data.update(changes)
    return data


def test_defaults_validate():
    scenario = validate_scenario(scenario_data())
    assert scenario.environment.steps == 40
    assert scenario.firms[0].name == "A"


def test_unknown_environment_key_lists_valid_keys():
    with pytest.raises(ParameterError) as err:
        validate_scenario(scenario_data(environment={"llm_celing": 2}), "demo.toml")
    message = str(err.value)
    assert "demo.toml" in message
    assert "environment" in message and "unknown key 'llm_celing'" in message
    assert "llm_ceiling" in message  # the valid keys are listed


def test_out_of_range_names_field_value_and_bounds():
    with pytest.raises(ParameterError) as err:
        validate_scenario({"firms": [{"name": "A"}, {"name": "Meta", "openness": 1.5}]}, "x.toml")
    assert str(err.value) == "x.toml: firms[1] (Meta).openness: 1.5 is out of range; allowed 0 to 1 (share)"


def test_wrong_type_is_named():
    with pytest.raises(ParameterError, match=r"drivers\.sunk_cost"):
        validate_scenario(scenario_data(drivers={"sunk_cost": "lots"}))


def test_firm_without_name_and_duplicate_names():
    with pytest.raises(ParameterError, match=r"firms\[0\]\.name: required field is missing"):
        validate_scenario({"firms": [{"openness": 0.1}]})
    with pytest.raises(ParameterError, match="repeated: A"):
        validate_scenario({"firms": [{"name": "A"}, {"name": "A"}]})


def test_needs_at_least_one_firm():
    with pytest.raises(ParameterError, match="firms"):
        validate_scenario({"firms": []})


def test_ceiling_must_exceed_anchor():
    with pytest.raises(ParameterError, match="llm_ceiling"):
        validate_scenario(scenario_data(environment={"llm_ceiling": 1.02, "llm_anchor_quality": 1.0}))


def test_every_parameter_is_documented_with_bounds():
    for model in (Environment, FirmTraits):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            if name not in ("name", "policy"):  # text fields: checked by their validators
                assert "to" in describe_field(model, name), f"{model.__name__}.{name} has no bounds"


def test_baseline_loads_with_five_firms():
    assert len(load_scenario("baseline").firms) == 5
