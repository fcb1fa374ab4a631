"""What one browser session holds and does: the UI's state, with no UI code in it.

A `Session` holds the chosen scenario, the parameter values being edited (a draft), the
seed and the running model. The Solara app (`viz.app`) is a thin view over it, and the
component tests drive it directly. Every simulation goes through `sim`: the Mesa model for
the run being watched, the lockstep engine for uncertainty bands and comparisons.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim import AIRaceModel, ParameterError, Scenario, load_scenario, scenario_names
from sim.ensemble import run_seeds
from sim.explain import TERMS
from sim.noise import fresh_seed
from sim.outputs import never_as_end, run_summary_arrays
from sim.params import Drivers, Environment, Firm, format_validation_error, validate_scenario

GROUPS = {"environment": Environment, "drivers": Drivers}
BAND_SERIES = {
    "llm_spend_share": "LLM share of all AI R&D spend",
    "best_llm_quality": "Best LLM quality",
    "best_wm_quality": "Best world-model quality",
    "hhi": "Market concentration (HHI)",
    "total_llm_spend": "LLM spend, all firms ($B per quarter)",
    "firms_alive": "Firms in business",
}
"""Market series shown with uncertainty bands, and their titles."""
COMPARE_MEASURES = {
    "llm_spend_share": "LLM share of AI R&D spend",
    "big_muddy_spend": "Spend in the big muddy ($B)",
    "mean_pivot_step": "Mean pivot quarter",
    "first_breakthrough_step": "First breakthrough quarter",
    "final_hhi": "Final concentration (HHI)",
    "firms_alive": "Firms alive at the end",
}
UNCERTAINTY_SEEDS = 100
COMPARE_SEEDS = 50
EDITED = "(this scenario as edited)"


@dataclass
class Bands:
    """Median and 50%/90% bands of market series over many seeds."""

    table: pd.DataFrame  # year, series, p5, p25, p50, p75, p95
    seeds: int


class Session:
    """One user's simulation: scenario, edits, seed and the running model."""

    def __init__(self, scenario: str = "baseline", seed: int | None = 42):
        self.scenario_name = scenario
        self.base = load_scenario(scenario)
        self.draft: dict = self.base.model_dump()
        self.seed = fresh_seed() if seed is None else int(seed)
        self.errors: dict[str, str] = {}
        self.message = ""
        self.model = AIRaceModel(self.base, rng=self.seed)
        self.bands: Bands | None = None
        self.comparison: pd.DataFrame | None = None
        self.comparison_series: pd.DataFrame | None = None

    # --- choosing and editing ------------------------------------------------------------

    @staticmethod
    def scenarios() -> list[str]:
        return scenario_names()

    def choose(self, name: str) -> None:
        """Load a scenario from the library and restart with it. Only library names are accepted: a
        crafted widget message naming a file path is refused, and nothing is read."""
        if name not in scenario_names():
            self.message = "That scenario is not in the library."
            return
        self.scenario_name = name
        self.base = load_scenario(name)
        self.draft = self.base.model_dump()
        self.errors.clear()
        self.bands = self.comparison = self.comparison_series = None
        self.reset()

    def value(self, path: str):
        """A draft value by path: ``environment.llm_ceiling``, ``drivers.sunk_cost``, ``firms.2.openness``."""
        container, key = self._locate(path)
        return container[key]

    def set_value(self, path: str, value) -> str | None:
        """Change a draft value; returns an error message (and keeps the old value) if it is invalid."""
        container, key = self._locate(path)
        model = Firm if path.startswith("firms.") else GROUPS[path.split(".")[0]]
        candidate = {**container, key: value}
        try:
            model.model_validate(candidate)
        except ValidationError as err:
            lines = format_validation_error(err, candidate, path, root=model).splitlines()
            message = "; ".join(line.split(": ", 2)[-1] for line in lines)
            self.errors[path] = message
            return message
        container[key] = value
        self.errors.pop(path, None)
        return None

    def is_edited(self) -> bool:
        return self.draft != self.base.model_dump()

    def scenario(self) -> Scenario:
        """The draft as a validated scenario (ParameterError if the combination is invalid)."""
        return validate_scenario(copy.deepcopy(self.draft), f"scenario '{self.scenario_name}' as edited")

    def _locate(self, path: str) -> tuple[dict, str]:
        parts = path.split(".")
        if parts[0] == "firms" and len(parts) == 3:
            return self.draft["firms"][int(parts[1])], parts[2]
        if parts[0] in GROUPS and len(parts) == 2:
            return self.draft[parts[0]], parts[1]
        raise KeyError(f"unknown parameter path {path!r}")

    # --- running ----------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> bool:
        """Rebuild the model from the draft and the seed; False (with a message) if invalid."""
        if seed is not None:
            self.seed = int(seed)
        if self.errors:
            self.message = "Fix the highlighted values first: " + "; ".join(f"{k}: {v}" for k, v in self.errors.items())
            return False
        try:
            scenario = self.scenario()
        except ParameterError as err:
            self.message = str(err)
            return False
        self.model = AIRaceModel(scenario, rng=self.seed)
        self.message = ""
        return True

    def step(self) -> bool:
        """Advance one quarter; False once the run is over."""
        if not self.model.running:
            return False
        self.model.step()
        return True

    @property
    def quarter(self) -> int:
        return self.model.quarter

    @property
    def steps(self) -> int:
        return self.model.max_steps

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every firm variable and every market total per quarter run so far, from one snapshot
        (both empty before the first step); the firm table has a fractional ``year`` column."""
        if not self.model.history:
            return pd.DataFrame(), pd.DataFrame()
        firms, market = self.model.tables()
        return self._with_year(firms), market

    def firm_table(self) -> pd.DataFrame:
        """Every firm variable per quarter run so far (empty before the first step)."""
        return self._with_year(self.model.firm_dataframe()) if self.model.history else pd.DataFrame()

    def _with_year(self, firms: pd.DataFrame) -> pd.DataFrame:
        firms.insert(2, "year", self.draft["environment"]["start_year"] + firms.step / 4.0)
        return firms

    def csv(self) -> bytes:
        """The run's per-firm, per-quarter table as CSV."""
        return self.firm_table().to_csv(index=False).encode()

    def drivers_now(self, firm: str) -> dict[str, float]:
        """The chosen firm's decision terms in the latest quarter."""
        if not self.model.history:
            return {}
        index = self.model.params.firm_names.index(firm)
        state = self.model.state
        return {label: float(state[column][index]) for label, column in TERMS.items()}

    # --- many seeds -------------------------------------------------------------------

    def uncertainty(self, seeds: int = UNCERTAINTY_SEEDS) -> Bands:
        """The current settings over ``seeds`` seeds (0, 1, ...): median and 50%/90% bands."""
        scenario = self.scenario()
        history = run_seeds(scenario, range(seeds))
        years = scenario.environment.start_year + np.arange(history.x.shape[0]) / 4.0
        frames = []
        for series in BAND_SERIES:
            values = history[series][..., 0]
            quantiles = np.percentile(values, [5, 25, 50, 75, 95], axis=1)
            frames.append(
                pd.DataFrame(
                    {
                        "year": years,
                        "series": series,
                        **{f"p{q}": quantiles[i] for i, q in enumerate((5, 25, 50, 75, 95))},
                    }
                )
            )
        self.bands = Bands(pd.concat(frames, ignore_index=True), seeds)
        return self.bands

    def compare(self, other: str, seeds: int = COMPARE_SEEDS) -> pd.DataFrame:
        """This scenario as edited against ``other`` (a library name, or EDITED's unedited file), same seeds.

        Returns one row per measure: both medians, the median paired difference and the share
        of seeds on which this scenario is higher; ``comparison_series`` holds median series.
        """
        if other != EDITED and other not in scenario_names():
            raise ValueError("only scenarios of the library can be compared")
        mine = self.scenario()
        theirs = self.base if other == EDITED else load_scenario(other)
        label_a = f"{self.scenario_name} (edited)" if self.is_edited() else self.scenario_name
        label_b = f"{self.scenario_name} (file)" if other == EDITED else other
        rows, series, runs = [], [], {}
        for label, scenario in ((label_a, mine), (label_b, theirs)):
            history = run_seeds(scenario, range(seeds))
            runs[label] = run_summary_arrays(history)
            years = scenario.environment.start_year + np.arange(history.x.shape[0]) / 4.0
            for name in ("llm_spend_share", "best_llm_quality", "best_wm_quality", "hhi"):
                median = np.median(history[name][..., 0], axis=1)
                series.append(pd.DataFrame({"year": years, "series": name, "scenario": label, "median": median}))
        for measure, title in COMPARE_MEASURES.items():
            steps = mine.environment.steps
            a, b = (never_as_end(runs[label][measure][:, 0], steps) for label in (label_a, label_b))
            difference = a - b
            rows.append(
                {
                    "measure": title,
                    label_a: float(np.median(a)),
                    label_b: float(np.median(b)),
                    "difference (median)": float(np.median(difference)),
                    "seeds higher": f"{np.mean(difference > 0):.0%}",
                    "differs": bool(np.mean(difference != 0) >= 0.5 and abs(np.median(difference)) > 0),
                }
            )
        self.comparison = pd.DataFrame(rows)
        self.comparison_series = pd.concat(series, ignore_index=True)
        return self.comparison
