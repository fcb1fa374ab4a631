"""What one browser session holds and does: the UI's state, with no UI code in it.

A `Session` holds the chosen scenario, the parameter values being edited (a draft), the
seed and the running model. The Solara app (`viz.app`) is a thin view over it, and the
component tests drive it directly. Every simulation goes through `sim`: the Mesa model for
the run being watched, the lockstep engine for uncertainty bands and comparisons.
"""

from __future__ import annotations

import copy
import math
import re
import threading
import urllib.parse
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim import AIRaceModel, ParameterError, Scenario, load_scenario, scenario_names
from sim.ensemble import run_seeds
from sim.noise import check_seed, fresh_seed
from sim.outputs import never_as_end, quarter_label, run_summary_arrays
from sim.params import MAX_SEED, FirmTraits, format_validation_error, validate_scenario
from sim.scenarios import SECTIONS, apply_overrides, apply_try_step, parse_toml, scenario_toml

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
    "first_breakthrough_step": "First breakthrough",
    "final_hhi": "Final concentration (HHI)",
    "firms_alive": "Firms alive at the end",
}
STEP_MEASURES = {"mean_pivot_step", "first_breakthrough_step"}
"""Compare measures that are quarters: shown as calendar quarters (2031Q2), or "never"."""
DEFAULT_SCENARIO, DEFAULT_SEED = "baseline", 42
"""What a new session (and a bare page address) runs."""
UPLOAD_LIMIT = 1_000_000
"""Largest scenario file the page loads, in bytes (a saved scenario is about 10 kB)."""
SEED_NOTE = re.compile(r"watched with seed (\d+)")
"""How `Session.scenario_file` records the seed in the file's first comment."""
UNCERTAINTY_SEEDS = 100
COMPARE_SEEDS = 50
EDITED = "(this scenario as edited)"


@dataclass
class Bands:
    """Median and 50%/90% bands of market series over many seeds."""

    table: pd.DataFrame  # year, series, p5, p25, p50, p75, p95
    seeds: int


@dataclass(frozen=True)
class RunSnapshot:
    """The run being watched at one moment: consistent while the Play loop steps it or Reset replaces it."""

    model: AIRaceModel  # its config and firms never change; its history may grow after the snapshot
    firms: list[str]
    table: pd.DataFrame  # every firm variable per quarter, with a fractional ``year`` column
    market: pd.DataFrame  # every market total per quarter


def parse_number(text: str, integer: bool) -> int | float:
    """A number typed into an input; ValueError with a one-line reason if it is not a finite number."""
    text = text.strip()
    if not text.isascii():  # float() also reads other scripts' digits: "١" as 1
        raise ValueError(f"{text!r} is not a number")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    if not integer:
        return value
    try:
        return int(text)
    except ValueError:
        if value.is_integer():
            return int(value)
        raise ValueError(f"{text} is not a whole number") from None


class Session:
    """One user's simulation: scenario, edits, seed and the running model.

    `step` may run in the Play loop's thread and for a Step click at once: one of them waits.
    """

    def __init__(self, scenario: str = DEFAULT_SCENARIO, seed: int | None = DEFAULT_SEED):
        self._stepping = threading.Lock()
        self.scenario_name = scenario
        self.base = load_scenario(scenario)
        self.draft: dict = self.base.model_dump()
        self._drafts: dict[str, dict] = {}  # other scenarios' edits, kept while another one is shown
        self._dumps: dict[int, tuple[Scenario, dict]] = {}
        self.seed = fresh_seed() if seed is None else int(seed)
        self.errors: dict[str, str] = {}
        self.seed_error = ""
        self.message = ""
        self.model = AIRaceModel(self.base, rng=self.seed)
        self.bands: Bands | None = None
        self.comparison: pd.DataFrame | None = None
        self.comparison_series: pd.DataFrame | None = None
        self.prediction = Prediction()

    @classmethod
    def from_query(cls, search: str | None) -> Session:
        """A session from a page address's query (``scenario=NAME&seed=N&set=NAME=VALUE&set=...``, see
        `query`). What cannot be used is left out and said in ``message``; the rest applies."""
        fields = urllib.parse.parse_qs(search or "", keep_blank_values=True)
        problems = []
        name = (fields.get("scenario") or [DEFAULT_SCENARIO])[-1]
        if name not in scenario_names():
            problems.append(f"scenario '{name}' is not in the library")
            name = DEFAULT_SCENARIO
        seed = DEFAULT_SEED
        if "seed" in fields:
            text = fields["seed"][-1]
            try:
                seed = check_seed(int(text) if text.isascii() and text.isdigit() else text)
            except ParameterError:
                problems.append(f"seed '{text}' is not a whole number from 0 to {MAX_SEED}")
        session = cls(name, seed)
        for assignment in fields.get("set", []):
            try:
                session.draft = _validated(apply_overrides(session.draft, [assignment]), assignment)
            except ParameterError as err:
                problems.append(str(err).removeprefix("--set "))
        if session.is_edited():
            session.reset()
        if problems:
            session.message = "Part of the address was not used: " + "; ".join(problems) + "."
        return session

    def query(self) -> str:
        """The address query that rebuilds the run being watched: scenario, seed and edits."""
        return address_query(self.scenario_name, self.model.seed, self.applied_edits())

    # --- choosing and editing ------------------------------------------------------------

    @staticmethod
    def scenarios() -> list[str]:
        return scenario_names()

    def choose(self, name: str) -> None:
        """Show a scenario of the library and restart with it, with the edits it had when last shown.
        Only library names are accepted: a crafted widget message naming a file path is refused, and
        nothing is read."""
        if name not in scenario_names():
            self.message = "That scenario is not in the library."
            return
        self._drafts[self.scenario_name] = self.draft
        self.scenario_name = name
        self.base = load_scenario(name)
        self.draft = self._drafts.pop(name, None) or self.base.model_dump()
        self.errors.clear()
        self.bands = self.comparison = self.comparison_series = None
        self.prediction = Prediction()
        self.reset()

    def apply(self, assignments: dict) -> bool:
        """Rerun the scenario's file with named changes (``--set`` names, as in its try-next steps): each
        step is one experiment against the file, not piled on earlier edits. False (with a message) if
        they do not give a valid scenario."""
        try:
            self.draft = _validated(apply_overrides(self._dump(self.base), assignments), ", ".join(assignments))
        except ParameterError as err:
            self.message = str(err)
            return False
        self.errors.clear()
        return self.reset()

    def load_file(self, name: str, data: bytes) -> bool:
        """Load a scenario file, as `scenario_file` saves it: its values become edits of the library
        scenario it names (or, if it names none with its firms, the one with the same firms that it
        differs least from), and the seed in its note is used.
        False (with a message naming the file) if it cannot be loaded; nothing changes then."""
        try:
            if len(data) > UPLOAD_LIMIT:
                raise ParameterError(f"it is larger than {UPLOAD_LIMIT:,} bytes")
            text = data.decode("utf-8")
            parsed = parse_toml(text, "it")
            if "extends" in parsed:
                raise ParameterError("it extends another scenario; run it with `aisim run FILE` instead")
            loaded = validate_scenario(parsed, "it").model_dump()
        except (UnicodeDecodeError, ParameterError) as err:
            reason = "it is not UTF-8 text" if isinstance(err, UnicodeDecodeError) else str(err).removeprefix("it: ")
            self.message = f"Could not load {name}: {reason}"
            return False
        firms = [firm["name"] for firm in loaded["firms"]]
        matches = []
        for library in scenario_names():
            base = load_scenario(library).model_dump()
            if [firm["name"] for firm in base["firms"]] == firms:
                differences = len(_differences(base, {**base, **_parameters(loaded)}))
                matches.append((library != loaded["name"], differences, library))  # its own scenario first
        if not matches:
            self.message = (
                f"Could not load {name}: its firms match no scenario of the library; run it with aisim run FILE"
            )
            return False
        library = min(matches)[2]
        seed = SEED_NOTE.search(text.partition("\n")[0])
        self._drafts[self.scenario_name] = self.draft
        self.scenario_name, self.base = library, load_scenario(library)
        self.draft = {**self.base.model_dump(), **_parameters(loaded)}
        self.errors.clear()
        self.bands = self.comparison = self.comparison_series = None
        if seed:
            self.set_seed(int(seed.group(1)))
        return self.reset()

    def discard_edits(self) -> None:
        """Back to the scenario's file (the next Reset runs it)."""
        self.draft = self.base.model_dump()
        self.errors.clear()

    def value(self, path: str):
        """A draft value by path: ``environment.llm_ceiling``, ``drivers.sunk_cost``, ``firms.2.openness``."""
        container, key = self._locate(path)
        return container[key]

    def set_value(self, path: str, value: str | float) -> str | None:
        """Change a draft value (a number, or the text typed for it); returns an error message (and
        keeps the old value) if it is invalid: not a finite number, out of range, or breaking a rule."""
        container, key = self._locate(path)
        model = FirmTraits if path.startswith("firms.") else SECTIONS[path.split(".")[0]]
        annotation = model.model_fields[key].annotation
        try:
            value = str(value) if annotation is str else parse_number(str(value), annotation is int)
        except ValueError as err:
            self.errors[path] = str(err)
            return str(err)
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
        self.message = ""  # an earlier refusal no longer applies
        return None

    def is_edited(self) -> bool:
        return self.draft != self._dump(self.base)

    def _dump(self, scenario: Scenario) -> dict:
        """``scenario.model_dump()``, kept for the two scenarios compared every redraw (the file and the
        running model's): a dump costs about a millisecond, and the page asks several times a quarter.
        Both are never changed once built, so the dump stays right; the caller must not change it."""
        cached = self._dumps.get(id(scenario))
        if cached is None or cached[0] is not scenario:
            if len(self._dumps) > 8:
                self._dumps.clear()
            cached = self._dumps[id(scenario)] = (scenario, scenario.model_dump())
        return cached[1]

    def edits(self) -> list[tuple[str, object]]:
        """The draft's differences from the scenario's file, by ``--set`` name."""
        return _differences(self._dump(self.base), self.draft)

    def applied_edits(self) -> list[tuple[str, object]]:
        """The running model's differences from the scenario's file, by ``--set`` name."""
        return _differences(self._dump(self.base), self._dump(self.model.config))

    def pending(self) -> list[str]:
        """What Reset would change in the run being watched: a new seed, edits not yet applied."""
        changes = []
        if self.seed != self.model.seed:
            changes.append(f"seed {self.model.seed} → {self.seed}")
        unapplied = _differences(self._dump(self.model.config), self.draft)
        if unapplied:
            changes.append(f"{len(unapplied)} edited value{'s' if len(unapplied) > 1 else ''}")
        return changes

    @property
    def run_label(self) -> str:
        """The run's name for titles, files and comparisons: the scenario, marked if it runs edited values."""
        edits = self.applied_edits()
        if not edits:
            return self.scenario_name
        return f"{self.scenario_name} (edited: {len(edits)} change{'s' if len(edits) > 1 else ''})"

    @property
    def csv_name(self) -> str:
        edited = "-edited" if self.applied_edits() else ""
        return f"aisim-{self.scenario_name}{edited}-seed{self.model.seed}.csv"

    def scenario_file(self) -> str:
        """The running scenario (with its edits) as a scenario file that ``aisim run FILE`` and the UI load."""
        edits = self.applied_edits()
        note = f"Saved from the aisim UI: {self.scenario_name}" + (
            f" with {len(edits)} edit{'s' if len(edits) > 1 else ''} ({', '.join(f'{k} = {v!r}' for k, v in edits)})"
            if edits
            else ""
        )
        config = self.model.config
        dump = self._dump(config)
        steps = [step for step in config.try_next if _fits(dump, step)]  # an edit may have made a step invalid
        return scenario_toml(
            config.model_copy(update={"try_next": steps}), note=f"{note}; watched with seed {self.model.seed}."
        )

    def scenario_file_bytes(self) -> bytes:
        """`scenario_file` as bytes, for a download button (a bound method: the same each redraw)."""
        return self.scenario_file().encode()

    @property
    def draft_label(self) -> str:
        """What Uncertainty, Compare and Explain run: the scenario as edited (applied or not)."""
        return f"{self.scenario_name} (edited)" if self.is_edited() else self.scenario_name

    def scenario(self) -> Scenario:
        """The draft as a validated scenario (ParameterError if the combination is invalid)."""
        return validate_scenario(copy.deepcopy(self.draft), f"scenario '{self.scenario_name}' as edited")

    def _locate(self, path: str) -> tuple[dict, str]:
        parts = path.split(".")
        if parts[0] == "firms" and len(parts) == 3:
            return self.draft["firms"][int(parts[1])], parts[2]
        if parts[0] in SECTIONS and len(parts) == 2:
            return self.draft[parts[0]], parts[1]
        raise KeyError(f"unknown parameter path {path!r}")

    # --- running ----------------------------------------------------------------------

    def set_seed(self, seed: int) -> str | None:
        """Choose the seed of the next Reset; returns an error message (and keeps the seed) unless it is
        a whole number from 0 to MAX_SEED."""
        try:
            check_seed(seed)  # the one rule for seeds, as on the command line and in sweep specs
        except ParameterError:
            self.seed_error = f"the seed must be a whole number from 0 to {MAX_SEED}; it stays {self.seed}"
            return self.seed_error
        self.seed = seed
        self.seed_error = ""
        self.message = ""  # an earlier refusal no longer applies
        return None

    def reset(self, seed: int | None = None) -> bool:
        """Rebuild the model from the draft and the seed; False (with a message) if invalid."""
        if seed is not None and self.set_seed(seed):
            self.message = f"Seed refused: {self.seed_error}"
            return False
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

    def step(self, model: AIRaceModel | None = None) -> bool:
        """Advance one quarter (of ``model`` only, if given: False if Reset has replaced it); False
        once the run is over."""
        with self._stepping:
            current = self.model  # Reset may replace it meanwhile
            if (model is not None and current is not model) or not current.running:
                return False
            current.step()
        return True

    @property
    def quarter(self) -> int:
        return self.model.quarter

    @property
    def steps(self) -> int:
        return self.model.max_steps

    def snapshot(self) -> RunSnapshot:
        """The run so far, from one snapshot of one model (tables empty before the first step)."""
        model = self.model  # Reset may replace it meanwhile; everything below reads this one
        firms = list(model.params.firm_names)
        if not model.history:  # a model's history only grows, so its tables below are not empty
            return RunSnapshot(model, firms, pd.DataFrame(), pd.DataFrame())
        table, market = model.tables()
        return RunSnapshot(model, firms, _with_year(table, model), market)

    def firm_table(self) -> pd.DataFrame:
        """Every firm variable per quarter run so far (empty before the first step)."""
        return self.snapshot().table

    def csv(self) -> bytes:
        """The run's per-firm, per-quarter table as CSV."""
        return self.firm_table().to_csv(index=False).encode()

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
        label_a = self.draft_label
        label_b = f"{self.scenario_name} (file)" if other == EDITED else other
        rows, series, runs = [], [], {}
        for label, scenario in ((label_a, mine), (label_b, theirs)):
            history = run_seeds(scenario, range(seeds))
            runs[label] = run_summary_arrays(history)
            years = scenario.environment.start_year + np.arange(history.x.shape[0]) / 4.0
            for name in ("llm_spend_share", "best_llm_quality", "best_wm_quality", "hhi"):
                median = np.median(history[name][..., 0], axis=1)
                series.append(pd.DataFrame({"year": years, "series": name, "scenario": label, "median": median}))
        steps, start = mine.environment.steps, mine.environment.start_year
        for measure, title in COMPARE_MEASURES.items():
            a, b = (never_as_end(runs[label][measure][:, 0], steps) for label in (label_a, label_b))
            difference = a - b
            shown = (lambda v: _quarter_or_never(v, start, steps)) if measure in STEP_MEASURES else float
            change = np.median(difference)
            rows.append(
                {
                    "measure": title,
                    label_a: shown(float(np.median(a))),
                    label_b: shown(float(np.median(b))),
                    "difference (median)": f"{change:+g} quarters" if measure in STEP_MEASURES else float(change),
                    "seeds higher": f"{np.mean(difference > 0):.0%}",
                    "differs": bool(np.mean(difference != 0) >= 0.5 and abs(change) > 0),
                }
            )
        self.comparison = pd.DataFrame(rows)
        self.comparison_series = pd.concat(series, ignore_index=True)
        return self.comparison


def address_query(scenario: str, seed: int, edits: list[tuple[str, object]] = ()) -> str:
    """``scenario=NAME&seed=N&set=NAME=VALUE...``: what `Session.from_query` reads back."""
    items = [("scenario", scenario), ("seed", str(seed))] + [
        ("set", f"{name}={value if isinstance(value, str) else repr(value)}") for name, value in edits
    ]
    return urllib.parse.urlencode(items, safe=".=*")


def when(model: AIRaceModel, step: float) -> str:
    """A run's step measure so far as a calendar quarter ("2031Q2"); NaN: "never" once the run is
    over, "not yet" while it runs."""
    if step == step:
        return quarter_label(model.config.environment.start_year + step / 4.0)
    return "not yet" if model.running else "never"


def _quarter_or_never(step: float, start_year: int, steps: int) -> str:
    """A median quarter as a calendar quarter ("2031Q2"), or "never" when it is the run's end (at least
    half the seeds never saw it)."""
    if step >= steps:
        return "never"
    return quarter_label(start_year + math.floor(step) / 4.0)


def _differences(before: dict, after: dict) -> list[tuple[str, object]]:
    """Fields of two scenario dumps (same firms) that differ, by ``--set`` name, with the value in ``after``."""
    changed = [
        (f"{section}.{key}", value)
        for section in SECTIONS
        for key, value in after[section].items()
        if before[section].get(key) != value
    ]
    for old, new in zip(before["firms"], after["firms"], strict=True):
        changed += [(f"firms.{new['name']}.{key}", value) for key, value in new.items() if old.get(key) != value]
    return changed


def _fits(data: dict, step) -> bool:
    """Whether a try-next step still gives a valid scenario from this data."""
    try:
        validate_scenario(apply_try_step(data, step))
    except ParameterError:
        return False
    return True


def _parameters(data: dict) -> dict:
    """The parts of scenario data a run depends on: its sections and firms (not its story or claims)."""
    return {key: data[key] for key in (*SECTIONS, "firms")}


def _validated(data: dict, what: str) -> dict:
    """Scenario data after the model's checks (ParameterError naming ``what`` if they fail)."""
    return validate_scenario(data, f"changes {what}").model_dump()


@dataclass
class Prediction:
    """What a student expects before the run: the first pivot ("2029Q1" or "never") and the LLM share
    of all AI R&D spend over the run, in percent. None: not predicted."""

    first_pivot: str | None = None
    llm_share: float | None = None

    def reveal(self, model: AIRaceModel) -> list[str]:
        """The prediction beside what happened so far; empty if nothing was predicted or run."""
        if not model.history or (self.first_pivot is None and self.llm_share is None):
            return []
        summary, over = model.summary(("first_pivot_step", "llm_spend_share")), not model.running
        lines = []
        if self.first_pivot is not None:
            happened = when(model, summary["first_pivot_step"])
            lines.append(f"First pivot to world models: you predicted {self.first_pivot}; the run: {happened}.")
        if self.llm_share is not None:
            share = 100 * summary["llm_spend_share"]
            lines.append(
                f"LLM share of all AI R&D spend: you predicted {self.llm_share:.0f}%; "
                f"the run{'' if over else ' so far'}: {share:.0f}%."
            )
        return lines


def _with_year(firms: pd.DataFrame, model: AIRaceModel) -> pd.DataFrame:
    """The firm table with a fractional ``year`` column, from the model's own start year."""
    firms.insert(2, "year", model.config.environment.start_year + firms.step / 4.0)
    return firms
