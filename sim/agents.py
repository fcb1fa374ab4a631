"""The firm agent: the face of one firm in the Mesa model.

A firm's state lives in the model's numpy arrays (one entry per firm), so that every mechanism
runs once over all firms. After each quarter, each `Firm` agent copies its own entry into its
attributes: ``firm.cash``, ``firm.x``, ``firm.llm_quality`` and every other variable of
`sim.variables.FIRM_VARIABLES`. It carries its decision policy (`sim.policies`): firms on the
built-in rule are decided together over arrays; a firm on another policy is asked by its
`Firm.step` in the middle of each quarter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.params import FirmTraits
from sim.policies import BIASED, Policy, decide_firm, make_policy
from sim.variables import FIRM_VARIABLES

if TYPE_CHECKING:
    from sim.arrays import ArrayBag
    from sim.model import AIRaceModel


class Firm(mesa.Agent):
    """One firm: its traits, its policy, and its state as of the last quarter run."""

    model: AIRaceModel

    def __init__(self, model: AIRaceModel, index: int, traits: FirmTraits):
        super().__init__(model)
        self.index = index
        self.name = traits.name
        self.traits = traits
        self.policy_name = traits.policy
        self.policy: Policy = make_policy(traits.policy, model.seed, index)
        self.observe(model.state)

    @property
    def on_builtin_rule(self) -> bool:
        """Whether the model's vectorised built-in rule decides for this firm (its policy is ``biased``)."""
        return self.policy_name == BIASED

    def step(self) -> None:
        """Decide this quarter's allocation and investment with the firm's policy (called by the model in
        the middle of the quarter, after the built-in rule has decided for every firm)."""
        q, numbers = self.model.deciding
        decide_firm(q, numbers, self.model.params.firm_names, self.index, (), self.policy, self.policy_name)

    def observe(self, state: ArrayBag) -> None:
        """Copy this firm's entry of the model's state into its attributes."""
        for name in FIRM_VARIABLES:
            setattr(self, name, state[name][self.index].item())

    def __repr__(self) -> str:
        return f"Firm({self.name!r}, x={self.x:.3f}, cash={self.cash:.1f})"

    def drivers(self) -> dict[str, float]:
        """This quarter's decision terms (the contribution of each driver to the choice)."""
        return {name: getattr(self, name) for name in FIRM_VARIABLES if name.startswith("term_")}
