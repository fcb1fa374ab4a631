"""Turning a run's recorded quarters into tables and per-run summary measures.

A history is a list of states (one per quarter). `stack_history` turns it into arrays with
time as the leading axis: ``(T,) + batch + (F,)`` for firms and ``(T,) + batch + (1,)`` for
the market. The summary measures work on those arrays, so one run and a batch of runs
share them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.arrays import ArrayBag
from sim.mechanisms import firm_any, firm_sum
from sim.variables import FIRM_VARIABLES, MARKET_VARIABLES

PIVOT_THRESHOLD = 0.5
"""A firm pivots when it first puts more than half of its budget into world models (x < 0.5)."""
AFTERMATH_QUARTERS = 8
"""Quarters after the first breakthrough over which share moves are measured."""


SUMMARY_INPUTS = (
    "x",
    "active",
    "alive",
    "cash",
    "llm_payback",
    "llm_spend",
    "wm_spend",
    "breakthrough_step",
    "wm_breakthrough",
    "market_share",
    "llm_quality",
    "wm_quality",
    "total_compute_bought",
    "hhi",
    "best_llm_quality",
    "best_wm_quality",
    "firms_alive",
    "energy_use",
)
"""The variables the summary measures read (all a sweep needs to keep when it keeps no series)."""


def stack_history(history: Sequence[ArrayBag], names: Sequence[str] | None = None) -> ArrayBag:
    """Recorded quarters stacked along a new leading time axis (all variables, or ``names``)."""
    names = list(FIRM_VARIABLES) + list(MARKET_VARIABLES) if names is None else names
    return ArrayBag({name: np.stack([s[name] for s in history]) for name in names})


def quarter_label(year: float) -> str:
    """'2025Q1' for the quarter starting at the given fractional year."""
    year = float(year)
    whole = int(np.floor(year + 1e-9))
    return f"{whole}Q{round((year - whole) * 4) + 1}"


def firm_table(stacked: ArrayBag, firm_names: Sequence[str]) -> pd.DataFrame:
    """One row per quarter and firm with every firm variable (a single run)."""
    steps, n_firms = stacked.x.shape
    year = np.repeat(stacked.year[:, 0], n_firms)
    table = pd.DataFrame(
        {
            "step": np.repeat(np.arange(steps), n_firms),
            "quarter": [quarter_label(y) for y in year],
            "firm": np.tile(np.asarray(firm_names, dtype=object), steps),
        }
    )
    for name in FIRM_VARIABLES:
        table[name] = stacked[name].reshape(-1)
    return table


def market_table(stacked: ArrayBag) -> pd.DataFrame:
    """One row per quarter with the market-wide outputs (a single run)."""
    steps = stacked.year.shape[0]
    table = pd.DataFrame({"step": np.arange(steps), "quarter": [quarter_label(y) for y in stacked.year[:, 0]]})
    for name in MARKET_VARIABLES:
        table[name] = stacked[name][:, 0]
    return table


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


def firm_summary_arrays(stacked: ArrayBag) -> ArrayBag:
    """Per-firm summary measures, arrays of shape ``batch + (F,)``."""
    pivot = first_step_where(stacked.active & (stacked.x < PIVOT_THRESHOLD))
    not_paying = stacked.active & (stacked.llm_payback < 1.0)
    return ArrayBag(
        pivot_step=pivot,
        breakthrough_step=np.where(stacked.breakthrough_step[-1] >= 0, stacked.breakthrough_step[-1], np.nan),
        big_muddy_spend=time_sum(np.where(not_paying, stacked.llm_spend, 0.0)),
        llm_spend=time_sum(stacked.llm_spend),
        wm_spend=time_sum(stacked.wm_spend),
        mean_x=_mean_where(stacked.x, stacked.active),
        share_change=stacked.market_share[-1] - stacked.market_share[0],
        final_share=stacked.market_share[-1],
        final_cash=stacked.cash[-1],
        final_llm_quality=stacked.llm_quality[-1],
        final_wm_quality=stacked.wm_quality[-1],
        alive=stacked.alive[-1].astype(float),
    )


def run_summary_arrays(stacked: ArrayBag) -> ArrayBag:
    """Per-run summary measures, arrays of shape ``batch + (1,)``.

    Step measures are NaN where the event never happens, except ``mean_pivot_step``,
    which counts a firm that never pivots as pivoting at the end (the number of steps).
    """
    firms = firm_summary_arrays(stacked)
    steps = stacked.x.shape[0]
    llm, wm = firm_sum(firms.llm_spend), firm_sum(firms.wm_spend)
    big_muddy = firm_sum(firms.big_muddy_spend)
    first_breakthrough = _earliest(firms.breakthrough_step)
    return ArrayBag(
        first_breakthrough_step=first_breakthrough,
        first_pivot_step=_earliest(firms.pivot_step),
        mean_pivot_step=np.mean(never_as_end(firms.pivot_step, steps), axis=-1, keepdims=True),
        big_muddy_spend=big_muddy,
        total_llm_spend=llm,
        total_wm_spend=wm,
        llm_spend_share=llm / np.maximum(llm + wm, 1e-12),
        big_muddy_share=big_muddy / np.maximum(llm, 1e-12),
        llm_focused_share_change=_llm_focused_share_change(stacked, first_breakthrough),
        compute_bought=time_sum(stacked.total_compute_bought),
        final_hhi=stacked.hhi[-1],
        final_best_quality=np.maximum(stacked.best_llm_quality[-1], stacked.best_wm_quality[-1]),
        firms_alive=stacked.firms_alive[-1],
        total_energy=time_sum(stacked.energy_use),
    )


def _llm_focused_share_change(stacked: ArrayBag, first_breakthrough: np.ndarray) -> np.ndarray:
    """Market share gained (+) or lost (-) after the first world-model breakthrough by the
    firms that were then still LLM-focused (x >= 0.5, active, no breakthrough of their own).

    The change of their combined share from the quarter of the first breakthrough, averaged
    over the `AFTERMATH_QUARTERS` quarters that follow (fewer if the run ends sooner); NaN
    where no firm broke through, no firm was LLM-focused then, or no quarter follows.
    """
    steps = stacked.x.shape[0]
    start = np.where(np.isnan(first_breakthrough), 0, first_breakthrough).astype(int)

    def when(values: np.ndarray, at: np.ndarray) -> np.ndarray:
        index = np.broadcast_to(at, values.shape[1:])[None]
        return np.take_along_axis(values, index, axis=0)[0]

    focused = (
        when(stacked.active, start)
        & (when(stacked.x, start) >= PIVOT_THRESHOLD)
        & ~when(stacked.wm_breakthrough, start)
    )
    focused_share = firm_sum(np.where(focused, stacked.market_share, 0.0))  # (T,) + batch + (1,)
    after = np.arange(steps).reshape((steps,) + (1,) * (focused_share.ndim - 1))
    window = (after > start) & (after <= start + AFTERMATH_QUARTERS)
    quarters = window.sum(axis=0)
    moved = time_sum(np.where(window, focused_share - when(focused_share, start), 0.0)) / np.maximum(quarters, 1)
    undefined = np.isnan(first_breakthrough) | ~firm_any(focused) | (quarters == 0)
    return np.where(undefined, np.nan, moved)


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


def run_summary(stacked: ArrayBag) -> dict[str, float]:
    """The run's summary measures as plain numbers (NaN in a step measure means 'never')."""
    return {name: float(values[0]) for name, values in run_summary_arrays(stacked).items()}
