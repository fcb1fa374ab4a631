"""Shared fixtures: the baseline scenario and a finished baseline run.

Property-based tests explore new random examples on every local run; in CI (CI=true) they
are derandomized, so that a landing never depends on the luck of the draw. A failure found
locally is a real bug: fix the model, and keep the case (hypothesis stores it in .hypothesis/).
"""

import os

import pytest
from hypothesis import settings

from sim import AIRaceModel, load_scenario

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def baseline():
    return load_scenario("baseline")


@pytest.fixture(scope="session")
def baseline_run():
    return AIRaceModel("baseline", rng=11).run()
