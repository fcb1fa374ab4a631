"""Turning a run's recorded quarters into tables and per-run summary measures.

A history is a list of states (one per quarter). `stack_history` (or, lazily,
`StackedHistory`) turns it into arrays with time as the leading axis and firms last:
``(T,) + batch + (F,)`` for firms and ``(T,) + batch + (1,)`` for the market (a state holds
firms first, see `sim.mechanisms`). The summary measures (`FirmMeasures`,
`RunMeasures`) work on those arrays, so one run and a batch of runs share them; each is
computed only when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd

from sim.arrays import ArrayBag
from sim.mechanisms import firm_any, firm_sum
from sim.variables import FIRM_MEASURES, FIRM_VARIABLES, MARKET_VARIABLES, RUN_MEASURES

PIVOT_THRESHOLD = 0.5
"""A firm pivots when it first puts more than half of its budget into world models (x < 0.5)."""
AFTERMATH_QUARTERS = 8
"""Quarters after the first world-model product ships over which share moves are measured."""
SHIPPER_WINDOW = 12
"""Quarters after the first world-model product ships in which its maker's lead is counted."""
GROWTH_QUARTERS = 16
"""Quarters over which `revenue_growth_4y` measures the growth of total AI revenue."""


FIRM_MEASURE_INPUTS: dict[str, tuple[str, ...]] = {
    "pivot_step": ("active", "x"),
    "breakthrough_step": ("breakthrough_step",),
    "big_muddy_spend": ("active", "llm_payback", "llm_spend"),
    "llm_spend": ("llm_spend",),
    "wm_spend": ("wm_spend",),
    "mean_x": ("x", "active"),
    "share_change": ("market_share",),
    "final_share": ("market_share",),
    "final_cash": ("cash",),
    "final_llm_quality": ("llm_quality",),
    "final_wm_quality": ("wm_quality",),
    "final_wm_knowledge": ("wm_knowledge",),
    "alive": ("alive", "active"),
    "ai_profit": ("ai_gross_profit", "budget"),
}
"""The history variables each per-firm measure reads (tested: a measure given only these works)."""

_FIRM = FIRM_MEASURE_INPUTS
RUN_MEASURE_INPUTS: dict[str, tuple[str, ...]] = {
    "first_breakthrough_step": _FIRM["breakthrough_step"],
    "first_pivot_step": _FIRM["pivot_step"],
    "mean_pivot_step": _FIRM["pivot_step"],
    "big_muddy_spend": _FIRM["big_muddy_spend"],
    "total_llm_spend": _FIRM["llm_spend"],
    "total_wm_spend": _FIRM["wm_spend"],
    "llm_spend_share": _FIRM["llm_spend"] + _FIRM["wm_spend"],
    "big_muddy_share": _FIRM["big_muddy_spend"] + _FIRM["llm_spend"],
    "llm_focused_share_change": ("best_wm_quality", "best_llm_quality", "active", "x", "wm_quality", "market_share"),
    "first_shipper_top_quarters": ("best_wm_quality", "best_llm_quality", "wm_quality", "market_share"),
    "first_shipper_gains_most": ("best_wm_quality", "best_llm_quality", "wm_quality", "market_share"),
    "max_llm_drift": ("x", "llm_quality", "wm_quality"),
    "revenue_growth_4y": ("ai_revenue",),
    "compute_bought": ("total_compute_bought",),
    "final_hhi": ("hhi",),
    "final_best_quality": ("best_llm_quality", "best_wm_quality"),
    "firms_alive": ("firms_alive",),
    "total_energy": ("energy_use",),
}
"""The history variables each per-run measure reads: those of the firm measures it builds on, or its own
(tested like `FIRM_MEASURE_INPUTS`)."""


def measure_inputs(measures: Sequence[str] = (), firm_measures: Sequence[str] = ()) -> list[str]:
    """The history variables the given measures read, in a stable order."""
    needed = {v for m in measures for v in RUN_MEASURE_INPUTS[m]}
    needed |= {v for m in firm_measures for v in FIRM_MEASURE_INPUTS[m]}
    return sorted(needed)


def stack_history(history: Sequence[ArrayBag]) -> ArrayBag:
    """Recorded quarters, every variable stacked along a new leading time axis."""
    return ArrayBag({name: _stacked(history, name) for name in [*FIRM_VARIABLES, *MARKET_VARIABLES]})


def _stacked(history: Sequence[ArrayBag], name: str) -> np.ndarray:
    """One variable over time: ``(T,) + batch + (F,)``; states hold it firms first (``(F,) + batch``)."""
    stacked = np.stack([state[name] for state in history])
    if stacked.ndim > 2:  # a batch: (T, F, R) -> (T, R, F)
        stacked = np.ascontiguousarray(np.moveaxis(stacked, 1, -1))
    return stacked


class StackedHistory(ArrayBag):
    """Recorded quarters whose variables are stacked (as by `stack_history`) when first read.

    A batch keeps ~50 variables per quarter; a sweep that reports a few final values reads
    a handful of them, and stacking only those is a large part of its speed.
    """

    def __init__(self, history: Sequence[ArrayBag]):
        super().__init__()
        object.__setattr__(self, "_history", list(history))

    def __missing__(self, name: str) -> np.ndarray:
        if not self._history or name not in self._history[0]:
            raise KeyError(name)
        values = self[name] = _stacked(self._history, name)
        return values


def sum_over_firms(values: np.ndarray) -> np.ndarray:
    """`sim.mechanisms.firm_sum` for arrays with firms last (histories and measures)."""
    return np.moveaxis(firm_sum(np.moveaxis(values, -1, 0)), 0, -1)


def any_firm(values: np.ndarray) -> np.ndarray:
    """`sim.mechanisms.firm_any` for arrays with firms last."""
    return np.moveaxis(firm_any(np.moveaxis(values, -1, 0)), 0, -1)


def quarter_label(year: float) -> str:
    """'2025Q1' for the quarter starting at the given fractional year."""
    year = float(year)
    whole = int(np.floor(year + 1e-9))
    return f"{whole}Q{round((year - whole) * 4) + 1}"


def firm_table(stacked: ArrayBag, firm_names: Sequence[str]) -> pd.DataFrame:
    """One row per quarter and firm with every firm variable (a single run)."""
    steps, n_firms = stacked.x.shape
    year = np.repeat(stacked.year[:, 0], n_firms)
    columns = {
        "step": np.repeat(np.arange(steps), n_firms),
        "quarter": [quarter_label(y) for y in year],
        "firm": np.tile(np.asarray(firm_names, dtype=object), steps),
    }
    columns.update({name: stacked[name].reshape(-1) for name in FIRM_VARIABLES})
    return pd.DataFrame(columns)  # built at once: adding ~60 columns one by one costs more than the data


def market_table(stacked: ArrayBag) -> pd.DataFrame:
    """One row per quarter with the market-wide outputs (a single run)."""
    steps = stacked.year.shape[0]
    columns = {"step": np.arange(steps), "quarter": [quarter_label(y) for y in stacked.year[:, 0]]}
    columns.update({name: stacked[name][:, 0] for name in MARKET_VARIABLES})
    return pd.DataFrame(columns)


def frontier_training_table(table: pd.DataFrame, env) -> pd.DataFrame:
    """The frontier training run of each calendar year, from a run's firm table (`firm_table`: one
    row per quarter and firm, in that order): the firm whose final training runs used the most
    compute that year, that compute (FLOP), its cost ($B, hardware and energy at the year's
    prices), its energy (GWh) and the power it draws over ``training_run_days`` (MW).

    The model has no single training runs: a firm's final-run compute over a year stands for its
    frontier run, so a firm that makes two frontier runs a year counts as one of twice the size.
    ``env`` is the scenario's Environment (``start_year``, ``final_run_share``, ``training_run_days``).
    """
    columns = ["year", "quarters", "frontier_firm", "training_compute_flop", "training_cost"]
    columns += ["training_energy_gwh", "training_power_mw"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    steps = table.step.to_numpy()
    n_firms = int(np.sum(steps == steps[0]))
    firms = table.firm.to_numpy()[:n_firms]
    year_of_step = env.start_year + steps[::n_firms] // 4  # step 0 is the first quarter of start_year
    years, first = np.unique(year_of_step, return_index=True)

    def per_year(column: str) -> np.ndarray:  # (years, firms): sums over each year's quarters
        return np.add.reduceat(table[column].to_numpy().reshape(-1, n_firms), first, axis=0)

    compute, cost = per_year("final_run_compute"), per_year("final_run_cost")
    energy = env.final_run_share * per_year("energy")
    leader = np.argmax(compute, axis=1)
    rows = np.arange(len(years))
    return pd.DataFrame(
        {
            "year": years.astype(int),
            "quarters": np.diff(np.append(first, len(year_of_step))),
            "frontier_firm": firms[leader],
            "training_compute_flop": compute[rows, leader] * 1e24,
            "training_cost": cost[rows, leader],
            "training_energy_gwh": energy[rows, leader],
            "training_power_mw": energy[rows, leader] * 1000.0 / (24.0 * env.training_run_days),
        },
        columns=columns,
    )


def time_sum(values: np.ndarray) -> np.ndarray:
    """Sum over the time axis (axis 0), computed the same way whatever the batch shape.

    numpy sums a contiguous axis pairwise but a strided one sequentially, which rounds
    differently; summing a contiguous time-last copy makes a run's measures bit-identical
    whether it ran alone or as one row of a batch.
    """
    return np.ascontiguousarray(np.moveaxis(values, 0, -1)).sum(axis=-1)


def never_as_end(values: np.ndarray, steps: int) -> np.ndarray:
    """A step measure with 'never' (NaN) counted as the end of the run, for averages and differences."""
    return np.where(np.isnan(values), steps, values)


def first_step_where(condition: np.ndarray) -> np.ndarray:
    """Index of the first True along the time axis (axis 0), NaN where there is none."""
    hit = condition.any(axis=0)
    return np.where(hit, np.argmax(condition, axis=0).astype(float), np.nan)


class FirmMeasures:
    """Per-firm summary measures of a stacked history (arrays of shape ``batch + (F,)``),
    each computed when first read; see `sim.variables.FIRM_MEASURES`."""

    def __init__(self, stacked: ArrayBag):
        self.stacked = stacked

    def arrays(self, names: Sequence[str] | None = None) -> ArrayBag:
        """The named measures (all by default)."""
        return ArrayBag({name: getattr(self, name) for name in (FIRM_MEASURES if names is None else names)})

    @cached_property
    def pivot_step(self) -> np.ndarray:
        h = self.stacked
        return first_step_where(h.active & (h.x < PIVOT_THRESHOLD))

    @cached_property
    def breakthrough_step(self) -> np.ndarray:
        last = self.stacked.breakthrough_step[-1]
        return np.where(last >= 0, last, np.nan)

    @cached_property
    def big_muddy_spend(self) -> np.ndarray:
        h = self.stacked
        not_paying = h.active & (h.llm_payback < 1.0)
        return time_sum(np.where(not_paying, h.llm_spend, 0.0))

    @cached_property
    def llm_spend(self) -> np.ndarray:
        return time_sum(self.stacked.llm_spend)

    @cached_property
    def wm_spend(self) -> np.ndarray:
        return time_sum(self.stacked.wm_spend)

    @cached_property
    def mean_x(self) -> np.ndarray:
        return _mean_where(self.stacked.x, self.stacked.active)

    @cached_property
    def share_change(self) -> np.ndarray:
        return self.stacked.market_share[-1] - self.stacked.market_share[0]

    @cached_property
    def final_share(self) -> np.ndarray:
        return self.stacked.market_share[-1]

    @cached_property
    def final_cash(self) -> np.ndarray:
        return self.stacked.cash[-1]

    @cached_property
    def final_llm_quality(self) -> np.ndarray:
        return self.stacked.llm_quality[-1]

    @cached_property
    def final_wm_quality(self) -> np.ndarray:
        return self.stacked.wm_quality[-1]

    @cached_property
    def final_wm_knowledge(self) -> np.ndarray:
        return self.stacked.wm_knowledge[-1]

    @cached_property
    def ai_profit(self) -> np.ndarray:
        """What the AI bet earned: AI gross profit minus AI R&D spend, summed over the run."""
        return time_sum(self.stacked.ai_gross_profit - self.stacked.budget)

    @cached_property
    def alive(self) -> np.ndarray:
        """1 in business, 0 exited, NaN not entered yet (a firm that exited had entered)."""
        alive, active = self.stacked.alive[-1], self.stacked.active[-1]
        return np.where(active | ~alive, alive.astype(float), np.nan)


class RunMeasures:
    """Per-run summary measures of a stacked history (arrays of shape ``batch + (1,)``), each
    computed when first read; see `sim.variables.RUN_MEASURES`.

    Step measures are NaN where the event never happens, except ``mean_pivot_step``,
    which counts a firm that never pivots as pivoting at the end (the number of steps).
    """

    def __init__(self, stacked: ArrayBag, firms: FirmMeasures | None = None):
        self.stacked = stacked
        self.firms = FirmMeasures(stacked) if firms is None else firms

    def arrays(self, names: Sequence[str] | None = None) -> ArrayBag:
        """The named measures (all by default)."""
        return ArrayBag({name: getattr(self, name) for name in (RUN_MEASURES if names is None else names)})

    @cached_property
    def first_breakthrough_step(self) -> np.ndarray:
        return _earliest(self.firms.breakthrough_step)

    @cached_property
    def first_pivot_step(self) -> np.ndarray:
        return _earliest(self.firms.pivot_step)

    @cached_property
    def mean_pivot_step(self) -> np.ndarray:
        steps = self.stacked.x.shape[0]
        return np.mean(never_as_end(self.firms.pivot_step, steps), axis=-1, keepdims=True)

    @cached_property
    def big_muddy_spend(self) -> np.ndarray:
        return sum_over_firms(self.firms.big_muddy_spend)

    @cached_property
    def total_llm_spend(self) -> np.ndarray:
        return sum_over_firms(self.firms.llm_spend)

    @cached_property
    def total_wm_spend(self) -> np.ndarray:
        return sum_over_firms(self.firms.wm_spend)

    @cached_property
    def llm_spend_share(self) -> np.ndarray:
        llm = self.total_llm_spend
        return llm / np.maximum(llm + self.total_wm_spend, 1e-12)

    @cached_property
    def big_muddy_share(self) -> np.ndarray:
        return self.big_muddy_spend / np.maximum(self.total_llm_spend, 1e-12)

    @cached_property
    def llm_focused_share_change(self) -> np.ndarray:
        return _llm_focused_share_change(self.stacked, self._first_product)

    @cached_property
    def _first_product(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """When the first world-model product better than every LLM ships, and who made it (shared by
        the measures below)."""
        return _first_world_model_product(self.stacked)

    @cached_property
    def first_shipper_top_quarters(self) -> np.ndarray:
        h = self.stacked
        steps = h.market_share.shape[0]
        launch, start, shipper = self._first_product
        on_top = np.argmax(h.market_share, axis=-1)[..., None] == shipper  # (T,) + batch + (1,)
        after = np.arange(steps).reshape((steps,) + (1,) * (on_top.ndim - 1))
        window = (after >= start) & (after < start + SHIPPER_WINDOW)
        return np.where(np.isnan(launch), np.nan, np.sum(on_top & window, axis=0).astype(float))

    @cached_property
    def first_shipper_gains_most(self) -> np.ndarray:
        h = self.stacked
        launch, start, shipper = self._first_product
        end = np.minimum(start + AFTERMATH_QUARTERS, h.market_share.shape[0] - 1)
        gained = _at_step(h.market_share, end) - _at_step(h.market_share, start)
        gains_most = np.argmax(gained, axis=-1)[..., None] == shipper
        return np.where(np.isnan(launch) | (end <= start), np.nan, gains_most.astype(float))

    @cached_property
    def max_llm_drift(self) -> np.ndarray:
        h = self.stacked
        overtaken = np.logical_or.accumulate(h.wm_quality > h.llm_quality, axis=0)
        lowest = np.minimum.accumulate(np.where(overtaken, h.x, np.inf), axis=0)
        drift = np.where(overtaken, h.x - lowest, 0.0).max(axis=0)  # batch + (F,)
        has_product = overtaken[-1]
        largest = np.max(np.where(has_product, drift, -np.inf), axis=-1, keepdims=True)
        return np.where(np.isfinite(largest), largest, np.nan)

    @cached_property
    def revenue_growth_4y(self) -> np.ndarray:
        revenue = sum_over_firms(self.stacked.ai_revenue)
        if revenue.shape[0] <= GROWTH_QUARTERS:
            return np.full(revenue.shape[1:], np.nan)
        return revenue[GROWTH_QUARTERS] / np.maximum(revenue[0], 1e-12)

    @cached_property
    def compute_bought(self) -> np.ndarray:
        return time_sum(self.stacked.total_compute_bought)

    @cached_property
    def final_hhi(self) -> np.ndarray:
        return self.stacked.hhi[-1]

    @cached_property
    def final_best_quality(self) -> np.ndarray:
        return np.maximum(self.stacked.best_llm_quality[-1], self.stacked.best_wm_quality[-1])

    @cached_property
    def firms_alive(self) -> np.ndarray:
        return self.stacked.firms_alive[-1]

    @cached_property
    def total_energy(self) -> np.ndarray:
        return time_sum(self.stacked.energy_use)


def firm_summary_arrays(stacked: ArrayBag) -> ArrayBag:
    """Every per-firm summary measure, arrays of shape ``batch + (F,)``."""
    return FirmMeasures(stacked).arrays()


def run_summary_arrays(stacked: ArrayBag) -> ArrayBag:
    """Every per-run summary measure, arrays of shape ``batch + (1,)``."""
    return RunMeasures(stacked).arrays()


def _llm_focused_share_change(stacked: ArrayBag, first_product: tuple) -> np.ndarray:
    """Market share gained (+) or lost (-) after the first world-model product that beats the best
    LLM ships, by the firms that were then still LLM-focused (x >= 0.5, active, no world-model
    product of their own).

    The change of their combined share from the quarter that product ships,
    averaged over the `AFTERMATH_QUARTERS` quarters that follow (fewer if the run ends sooner);
    NaN where no product shipped, no firm was LLM-focused then, or no quarter follows.
    """
    steps = stacked.x.shape[0]
    launch, start, _ = first_product  # see `_first_world_model_product`

    focused = (
        _at_step(stacked.active, start)
        & (_at_step(stacked.x, start) >= PIVOT_THRESHOLD)
        & (_at_step(stacked.wm_quality, start) <= 0.0)
    )
    focused_share = sum_over_firms(np.where(focused, stacked.market_share, 0.0))  # (T,) + batch + (1,)
    after = np.arange(steps).reshape((steps,) + (1,) * (focused_share.ndim - 1))
    window = (after > start) & (after <= start + AFTERMATH_QUARTERS)
    quarters = window.sum(axis=0)
    moved = time_sum(np.where(window, focused_share - _at_step(focused_share, start), 0.0)) / np.maximum(quarters, 1)
    undefined = np.isnan(launch) | ~any_firm(focused) | (quarters == 0)
    return np.where(undefined, np.nan, moved)


def _first_world_model_product(stacked: ArrayBag) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The quarter the first world-model product better than every LLM ships (NaN: never), the
    same as an integer index (0 where never), and the firm that shipped it (the best world model
    that quarter), each of shape ``batch + (1,)``."""
    shipped = stacked.best_wm_quality > stacked.best_llm_quality  # (T,) + batch + (1,)
    launch = np.where(shipped.any(axis=0), np.argmax(shipped, axis=0), np.nan)
    start = np.where(np.isnan(launch), 0, launch).astype(int)
    shipper = np.argmax(_at_step(stacked.wm_quality, start), axis=-1)[..., None]
    return launch, start, shipper


def _at_step(values: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``values`` (time first) at each run's ``step`` (shape ``batch + (1,)``)."""
    return np.take_along_axis(values, np.broadcast_to(step, values.shape[1:])[None], axis=0)[0]


def _earliest(steps: np.ndarray) -> np.ndarray:
    """The earliest step over firms, NaN where no firm has one."""
    earliest = np.min(np.where(np.isnan(steps), np.inf, steps), axis=-1, keepdims=True)
    return np.where(np.isfinite(earliest), earliest, np.nan)


def _mean_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = mask.sum(axis=0)
    return np.where(count > 0, time_sum(np.where(mask, values, 0.0)) / np.maximum(count, 1), np.nan)


def firm_summary(stacked: ArrayBag, firm_names: Sequence[str]) -> pd.DataFrame:
    """One row per firm with its summary measures (a single run)."""
    measures = firm_summary_arrays(stacked)
    table = pd.DataFrame({"firm": list(firm_names)})
    for name, values in measures.items():
        table[name] = values
    return table


def run_summary(stacked: ArrayBag, names: Sequence[str] | None = None) -> dict[str, float]:
    """The run's summary measures (all, or the named ones) as plain numbers (NaN in a step measure
    means 'never')."""
    return {name: float(values[0]) for name, values in RunMeasures(stacked).arrays(names).items()}
