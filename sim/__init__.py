"""aisim: an agent-based simulation of Big Tech AI investment.

Quick use::

    from sim import AIRaceModel
    model = AIRaceModel("baseline", rng=42).run()
    model.firm_dataframe()   # every firm variable and driver term, per quarter
    model.summary()          # first breakthrough, spend in the big muddy, ...

    sim.sweep("scenarios/sweeps/quick.toml", workers=2)   # one row per run, as a DataFrame

The Mesa model and the sweep engine are imported lazily so that `import sim` stays fast for tools that only
need the parameters or the array mechanisms.
"""

from typing import TYPE_CHECKING

from sim.params import Drivers, Environment, FirmTraits, ParameterError, Scenario
from sim.scenarios import load_scenario, scenario_names

if TYPE_CHECKING:  # type checkers see the real types of the lazily imported names
    from sim.model import AIRaceModel
    from sim.sweeps import sweep

__version__ = "0.1.0"

__all__ = [
    "AIRaceModel",
    "Drivers",
    "Environment",
    "FirmTraits",
    "ParameterError",
    "Scenario",
    "load_scenario",
    "scenario_names",
    "sweep",
]


def __getattr__(name: str):
    if name == "AIRaceModel":
        from sim.model import AIRaceModel

        return AIRaceModel
    if name == "sweep":
        from sim.sweeps import sweep

        return sweep
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
