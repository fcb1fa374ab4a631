"""Shared fixtures: the baseline scenario and a finished baseline run."""

import pytest

from sim import AIRaceModel, load_scenario


@pytest.fixture(scope="session")
def baseline():
    return load_scenario("baseline")


@pytest.fixture(scope="session")
def baseline_run():
    return AIRaceModel("baseline", rng=11).run()
