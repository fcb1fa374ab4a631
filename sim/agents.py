"""The firm agent: the face of one firm in the Mesa model.

A firm's state lives in the model's numpy arrays (one entry per firm), so that every
mechanism runs once over all firms. Each `Firm` reads its own entry: ``firm.cash``,
``firm.x``, ``firm.llm_quality`` and every other variable in `sim.variables.FIRM_VARIABLES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.params import Firm as FirmTraits
from sim.variables import FIRM_VARIABLES

if TYPE_CHECKING:
    from sim.model import AIRaceModel


class Firm(mesa.Agent):
    """One firm. Its traits are in ``traits``; its current state is read from the model."""

    model: AIRaceModel

    def __init__(self, model: AIRaceModel, index: int, traits: FirmTraits):
        super().__init__(model)
        self.index = index
        self.name = traits.name
        self.traits = traits

    def __repr__(self) -> str:
        return f"Firm({self.name!r}, x={self.x:.3f}, cash={self.cash:.1f})"

    def drivers(self) -> dict[str, float]:
        """This quarter's decision terms (the contribution of each driver to the choice)."""
        return {name: getattr(self, name) for name in FIRM_VARIABLES if name.startswith("term_")}


def _state_reader(name: str, doc: str) -> property:
    def read(self: Firm):
        return self.model.state[name][self.index].item()

    return property(read, doc=doc)


for _name, (_unit, _description) in FIRM_VARIABLES.items():
    setattr(Firm, _name, _state_reader(_name, f"{_description} [{_unit}]"))
