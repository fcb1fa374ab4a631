"""Parameters and state as numpy arrays, for one run or a batch of runs.

One run of the interactive model uses arrays of shape ``(F,)`` for firm quantities and
``(1,)`` for market quantities. The batch engine stacks many runs along a trailing axis:
``(F, R)`` and ``(1, R)``. The mechanism functions in `sim.mechanisms` work unchanged on both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sim.params import Drivers, Environment, FirmTraits, Scenario


class ArrayBag(dict):
    """A dict of named arrays that also allows attribute access (``bag.cash``)."""

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: object) -> None:
        self[name] = value

    def copy(self) -> ArrayBag:
        """A deep copy: new arrays, same values."""
        return ArrayBag({k: v.copy() for k, v in self.items()})


def plain(value: Any) -> Any:
    """A numpy scalar as the Python number (or bool) it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


ENV_FIELDS = tuple(name for name in Environment.model_fields)
DRIVER_FIELDS = tuple(Drivers.model_fields)
FIRM_TRAITS = tuple(name for name in FirmTraits.model_fields if name not in ("name", "policy"))
"""The numeric traits of a firm (its name and its policy are not numbers)."""


class ModelParams:
    """Numeric parameters of one run or of a stacked batch of runs.

    ``env`` and ``drivers`` hold arrays of shape ``(1,) + batch``, ``firm`` holds arrays of
    shape ``(F,) + batch``; all float64. ``policies`` names each firm's policy, shape ``(F,) + batch``
    (`sim.policies`; None: every firm on the built-in rule).
    """

    def __init__(
        self,
        env: ArrayBag,
        drivers: ArrayBag,
        firm: ArrayBag,
        firm_names: list[str],
        policies: np.ndarray | None = None,
    ):
        self.env = env
        self.drivers = drivers
        self.firm = firm
        self.firm_names = firm_names
        self.policies = np.full(firm.adjustment_speed.shape, "biased", dtype=object) if policies is None else policies
        self.derived: dict[tuple, Any] = {}  # see `per_parameters`

    @property
    def custom_policies(self) -> bool:
        """Whether any firm of any run is on a policy other than the built-in rule."""
        return bool((self.policies != "biased").any())

    @property
    def n_firms(self) -> int:
        return len(self.firm_names)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.env.steps.shape[1:]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> ModelParams:
        """Arrays for one run of a validated scenario."""
        env = scenario.environment
        drivers = scenario.drivers
        return cls(
            env=ArrayBag({k: np.array([float(getattr(env, k))]) for k in ENV_FIELDS}),
            drivers=ArrayBag({k: np.array([float(getattr(drivers, k))]) for k in DRIVER_FIELDS}),
            firm=ArrayBag({k: np.array([float(getattr(f, k)) for f in scenario.firms]) for k in FIRM_TRAITS}),
            firm_names=[f.name for f in scenario.firms],
            policies=np.array([f.policy for f in scenario.firms], dtype=object),
        )

    @classmethod
    def stack(cls, runs: Sequence[ModelParams]) -> ModelParams:
        """Stack single runs with the same firms along a new trailing batch axis.

        A run object listed many times (replicates of one parameter set) is stacked once and
        repeated by indexing, which keeps large batches cheap to build.
        """
        names = runs[0].firm_names
        if any(r.firm_names != names for r in runs):
            raise ValueError("runs stacked into one batch must have the same firms")
        position: dict[int, int] = {}
        unique: list[ModelParams] = []
        for run in runs:
            if id(run) not in position:
                position[id(run)] = len(unique)
                unique.append(run)
        index = np.array([position[id(run)] for run in runs])

        def stacked(attr: str) -> ArrayBag:
            bags = [getattr(r, attr) for r in unique]
            return ArrayBag({k: np.stack([b[k] for b in bags], axis=-1)[..., index] for k in bags[0]})

        policies = np.stack([r.policies for r in unique], axis=-1)[..., index]
        return cls(stacked("env"), stacked("drivers"), stacked("firm"), list(names), policies)


def per_parameters(function: Callable[..., Any]) -> Callable[..., Any]:
    """Compute ``function(params, *args)`` once per parameter object and keep the result there:
    for values that depend on the parameters (and hashable ``args``) alone."""

    @functools.wraps(function)
    def once(params: ModelParams, *args: Any) -> Any:
        key = (function.__name__, *args)
        if key not in params.derived:
            params.derived[key] = function(params, *args)
        return params.derived[key]

    return once
