"""The interactive Mesa model: one run of a scenario, quarter by quarter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from sim.agents import Firm
from sim.arrays import ArrayBag, ModelParams
from sim.mechanisms import advance, initial_state
from sim.noise import NoiseSource, check_seed, fresh_seed
from sim.outputs import (
    StackedHistory,
    firm_summary,
    firm_table,
    frontier_training_table,
    market_table,
    run_summary,
)
from sim.params import Environment, ParameterError, Scenario, field_bounds
from sim.policies import own_decisions, quarter_numbers
from sim.scenarios import load_scenario
from sim.variables import MARKET_VARIABLES

AGENT_REPORTERS = ("x", "market_share", "llm_quality", "wm_quality", "cash")
"""Firm variables Mesa's DataCollector records (the full table is `firm_dataframe`)."""


class AIRaceModel(mesa.Model):
    """Big Tech firms splitting their AI budgets between LLM scaling and world models.

    Args:
        scenario: a library name (``"baseline"``), a path to a TOML file, or a Scenario.
        rng: the seed; it alone decides every random draw. None picks a fresh one
            (kept in ``model.seed`` so the run can be repeated).
        steps: quarters to run (default: the scenario's ``environment.steps``).
        parameters: overrides, ``{"environment.llm_ceiling": 1.3, "firms.*.rivalry": 0}``
            (the names ``--set`` accepts).
        **overrides: more overrides by the same names, so that ``mesa.batch_run`` can vary
            them: ``batch_run(AIRaceModel, {"environment.llm_ceiling": [1.3, 2, 5]}, ...)``.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario = "baseline",
        rng: int | None = None,
        steps: int | None = None,
        parameters: dict | None = None,
        **overrides,
    ):
        seed = fresh_seed() if rng is None else check_seed(rng)
        super().__init__(rng=seed)
        self.seed = seed
        self.config = load_scenario(scenario, {**(parameters or {}), **overrides})
        self.max_steps = self.config.environment.steps if steps is None else _run_length(steps)
        self.params = ModelParams.from_scenario(self.config)
        self.initial_state: ArrayBag = initial_state(self.params)
        self.state: ArrayBag = self.initial_state
        self.history: list[ArrayBag] = []
        self._noise = NoiseSource(seed, self.params.n_firms)
        self.firms = [Firm(self, i, traits) for i, traits in enumerate(self.config.firms)]
        self.deciding_firms = self.agents.select(lambda firm: not firm.on_builtin_rule)
        """The firms whose own policy decides (each asked by its `Firm.step`); the rest follow the built-in rule."""
        self.deciding: tuple[ArrayBag, dict] | None = None  # this quarter's, while firms decide
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _market_reader(name) for name in MARKET_VARIABLES},
            agent_reporters={name: name for name in AGENT_REPORTERS},
        )
        self.running = self.max_steps > 0

    @property
    def quarter(self) -> int:
        """Quarters run so far."""
        return len(self.history)

    def step(self) -> None:
        """Advance one quarter: every mechanism runs once over all firms; in the middle of it, the firms
        on a policy of their own decide (`Firm.step`)."""
        t = len(self.history)
        decide = self._ask_policies if len(self.deciding_firms) else None
        self.state = advance(self.state, self.params, self._noise.at(t), t, decide)
        self.history.append(self.state)
        for firm in self.firms:
            firm.observe(self.state)
        self.datacollector.collect(self)
        self.running = len(self.history) < self.max_steps

    def _ask_policies(self, q: ArrayBag, state: ArrayBag, params: ModelParams) -> None:
        numbers = quarter_numbers(q, state, params)
        own_decisions(q)
        self.deciding = (q, numbers)
        try:
            self.deciding_firms.do("step")
        finally:
            self.deciding = None

    def run(self) -> AIRaceModel:
        """Run until ``max_steps`` quarters have been simulated; returns the model."""
        while self.running:
            self.step()
        return self

    def firm_dataframe(self) -> pd.DataFrame:
        """One row per quarter and firm with every state variable and driver term."""
        return firm_table(self._stacked(), self.params.firm_names)

    def market_dataframe(self) -> pd.DataFrame:
        """One row per quarter with the market-wide totals."""
        return market_table(self._stacked())

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The firm and market tables from one snapshot of the history (consistent while stepping)."""
        stacked = self._stacked()
        return firm_table(stacked, self.params.firm_names), market_table(stacked)

    def frontier_training(self) -> pd.DataFrame:
        """The frontier training run of each year: its firm, compute (FLOP), cost ($B), energy, power (MW)."""
        return frontier_training_table(self.firm_dataframe(), self.config.environment)

    def firm_summary(self) -> pd.DataFrame:
        """Per-firm summary measures: pivot step, breakthrough, spend in the big muddy, finals."""
        return firm_summary(self._stacked(), self.params.firm_names)

    def summary(self, names: Sequence[str] | None = None) -> dict[str, float]:
        """Per-run summary measures (all, or the named ones, which is quicker): first breakthrough,
        total big-muddy spend, LLM share, ..."""
        return run_summary(self._stacked(), names)

    def _stacked(self) -> StackedHistory:
        # One snapshot of the history (another thread, the UI's Play loop, may be stepping), whose
        # variables are stacked when first read: a summary of a few measures reads a few of them.
        return StackedHistory(self.history)


def _market_reader(name: str):
    def read(model: AIRaceModel) -> float:
        return float(model.state[name][0])

    return read


def _run_length(steps: object) -> int:
    """A run length within the bounds scenario files have (1 to 200 quarters)."""
    low, high = field_bounds(Environment, "steps")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or not low <= steps <= high:
        raise ParameterError(
            f"steps: {steps!r} is not allowed; a run is a whole number of quarters, {low:g} to {high:g}"
        )
    return int(steps)
