"""Scenario discovery on a finished sweep: which parameter ranges make an outcome happen?

`aisim discover SWEEP_DIR --outcome "llm_spend_share > 0.9"` reads a sweep's results folder
(`sim.sweeps.load_results`; the manifest's ``spec.parameters`` say which columns are inputs),
marks each run where the outcome holds, and finds the parameter ranges where it holds for most
runs in two ways: PRIM (the EMA Workbench's, Bryant and Lempert 2010) peels the parameter space
down to boxes of high density, each reported with its ranges, coverage, density and quasi-p
values (a one-sided binomial test of each limit); CART (scikit-learn's decision tree) splits it
into leaves, reported as rules. Each run is one case: runs of one parameter set that differ in
their seed count separately, so a box's density is the share of its runs, seeds included,
where the outcome holds.

The outcome is parsed, never evaluated as code (`parse_outcome`): comparisons ``MEASURE OP
NUMBER`` with OP one of ``>``, ``>=``, ``<``, ``<=``, ``==``, joined with ``and`` / ``or`` and
grouped with parentheses. A missing value (a step measure that never happened) makes its
comparison false. Failed runs are left out, with a note.

This module imports the EMA Workbench, scikit-learn and matplotlib only when they are used.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.params import ParameterError
from sim.tables import KEY_COLUMNS_OF_RUNS, column_name

OPERATORS = (">=", "<=", "==", ">", "<")
EXAMPLE = '"llm_spend_share > 0.9 and final_hhi < 2500"'
GRAMMAR = (
    "write MEASURE OP NUMBER with OP one of > >= < <= ==, joined with 'and' / 'or' and grouped with "
    f"parentheses, e.g. {EXAMPLE}"
)
_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<op>>=|<=|==|>|<)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<paren>[()]))"
)
DEFAULT_MASS_MIN = 0.05
DEFAULT_MIN_DENSITY = 0.8
DEFAULT_BOXES = 3


# --- the outcome ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """``measure op number``."""

    measure: str
    op: str
    number: float

    def holds(self, table: pd.DataFrame) -> np.ndarray:
        values = table[self.measure].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):  # NaN (never) compares false
            return {
                ">": values > self.number,
                ">=": values >= self.number,
                "<": values < self.number,
                "<=": values <= self.number,
                "==": values == self.number,
            }[self.op]

    def __str__(self) -> str:
        return f"{self.measure} {self.op} {self.number:g}"


@dataclass(frozen=True)
class Junction:
    """Terms joined with ``and`` or ``or``."""

    word: str
    terms: tuple

    def holds(self, table: pd.DataFrame) -> np.ndarray:
        results = [term.holds(table) for term in self.terms]
        combine = np.logical_and if self.word == "and" else np.logical_or
        return combine.reduce(results)

    def __str__(self) -> str:
        return f" {self.word} ".join(f"({t})" if isinstance(t, Junction) else str(t) for t in self.terms)


def parse_outcome(text: str, measures: list[str]) -> Comparison | Junction:
    """The outcome condition in ``text``, over the named ``measures``; ParameterError naming the
    expression, the problem and what is allowed otherwise. Nothing in ``text`` is run as code."""
    tokens = _tokens(text)
    parser = _Parser(text, tokens, measures)
    condition = parser.expression()
    if parser.position < len(tokens):
        parser.fail(f"unexpected {tokens[parser.position][1]!r} after a complete condition")
    return condition


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) of each token; ParameterError at the first character that is none."""
    tokens, position, body = [], 0, text.rstrip()
    if not body:
        raise ParameterError(f"--outcome {text!r}: empty; {GRAMMAR}")
    while position < len(body):
        match = _TOKEN.match(body, position)
        if match is None or match.end() == position:
            at = len(body) - len(body[position:].lstrip())
            raise ParameterError(f"--outcome {text!r}: unexpected {body[at]!r} at position {at + 1}; {GRAMMAR}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: expression := conjunction ('or' conjunction)*; conjunction := term ('and' term)*;
    term := '(' expression ')' | NAME OP NUMBER."""

    def __init__(self, text: str, tokens: list[tuple[str, str, int]], measures: list[str]):
        self.text, self.tokens, self.measures, self.position = text, tokens, measures, 0

    def fail(self, problem: str) -> None:
        raise ParameterError(f"--outcome {self.text!r}: {problem}; {GRAMMAR}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str, what: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            found = "the end" if token is None else f"{token[1]!r} at position {token[2] + 1}"
            self.fail(f"expected {what}, found {found}")
        self.position += 1
        return token[1]

    def expression(self) -> Comparison | Junction:
        return self._joined("or", self.conjunction)

    def conjunction(self) -> Comparison | Junction:
        return self._joined("and", self.term)

    def _joined(self, word: str, part) -> Comparison | Junction:
        terms = [part()]
        while (token := self.peek()) is not None and token[0] == "name" and token[1] == word:
            self.position += 1
            terms.append(part())
        return terms[0] if len(terms) == 1 else Junction(word, tuple(terms))

    def term(self) -> Comparison | Junction:
        token = self.peek()
        if token is not None and token[1] == "(":
            self.position += 1
            inner = self.expression()
            self.take("paren", "')'", ")")
            return inner
        name = self.take("name", "a measure name")
        if name in ("and", "or"):
            self.fail(f"expected a measure name, found {name!r}")
        if name not in self.measures:
            self.fail(f"unknown measure {name!r}; this sweep's measures: {', '.join(self.measures)}")
        op = self.take("op", "one of > >= < <= ==")
        return Comparison(name, op, float(self.take("number", "a number")))


# --- the sweep --------------------------------------------------------------------------------


@dataclass
class SweepCases:
    """A sweep's runs ready for discovery: its inputs (by parameter name), measures and notes."""

    inputs: pd.DataFrame  # one column per varied parameter, named as the spec names it
    table: pd.DataFrame  # the runs that did not fail, every column
    measures: list[str]
    notes: list[str] = field(default_factory=list)


def read_sweep(folder: str | Path) -> SweepCases:
    """A finished (or partly finished) sweep's runs: the varied parameters as inputs, the run and firm
    measures as possible outcomes. Failed runs are left out, and a note says how many."""
    from sim.sweeps import load_results

    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{folder}: is a file, not a sweep's results folder (the --out folder of aisim sweep)")
    if not folder.is_dir():
        raise ParameterError(f"{folder}: no such folder (give the --out folder of a sweep)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        parameters = manifest["spec"]["parameters"]
        if not isinstance(parameters, dict) or not all(isinstance(name, str) for name in parameters):
            raise TypeError("spec.parameters is not a table of parameter names")
    except FileNotFoundError:
        raise ParameterError(f"{folder}: no manifest.json; not a sweep's results folder (aisim sweep --out)") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ParameterError(f"{manifest_path}: not a readable sweep manifest ({type(err).__name__}: {err})") from None
    if not parameters:
        raise ParameterError(f"{folder}: the sweep varies no parameter, so there is nothing to discover")
    table = load_results(folder)
    columns = {name: column_name(name) for name in parameters}
    missing = [f"{column} ({name})" for name, column in columns.items() if column not in table.columns]
    if missing:
        raise ParameterError(f"{folder}: its runs table lacks the columns of parameters {', '.join(missing)}")
    notes = []
    if manifest.get("status") != "complete":
        notes.append(f"the sweep is not finished: {len(table):,} of {manifest.get('runs', '?'):,} runs are read")
    failed = table.status.to_numpy() != "ok"
    if failed.any():
        notes.append(f"{int(failed.sum()):,} of {len(table):,} runs failed (status 'failed') and are left out")
        table = table[~failed].reset_index(drop=True)
    if table.empty:
        raise ParameterError(f"{folder}: no run finished without failing; nothing to discover")
    inputs = pd.DataFrame({name: table[column] for name, column in columns.items()})
    constant = [name for name in inputs if inputs[name].nunique() < 2]
    if constant:
        notes.append(f"left out as inputs, one value in these runs: {', '.join(constant)}")
        inputs = inputs.drop(columns=constant)
    if inputs.empty:
        raise ParameterError(f"{folder}: no parameter takes two values in these runs; nothing to discover")
    measures = [c for c in table.columns if c not in KEY_COLUMNS_OF_RUNS and c not in columns.values()]
    return SweepCases(inputs, table, measures, notes)


# --- PRIM and CART ----------------------------------------------------------------------------


@dataclass
class Limit:
    """One restricted parameter of a box: its range and the quasi-p value of each restricted end
    (None for an end left at the sweep's own bound)."""

    parameter: str
    low: object
    high: object
    qp_low: float | None
    qp_high: float | None


@dataclass
class Box:
    """A PRIM box: its statistics and restricted parameters."""

    coverage: float
    density: float
    mass: float
    runs: int
    limits: list[Limit]
    trajectory: pd.DataFrame  # the peeling trajectory it was chosen from (coverage, density, ...)
    chosen: int  # its row in the trajectory


@dataclass
class Rule:
    """A CART leaf where the outcome holds for most runs."""

    conditions: list[str]
    coverage: float
    density: float
    runs: int


@dataclass
class Discovery:
    """What `discover` found."""

    outcome: str
    cases: int
    hits: int
    boxes: list[Box]
    rules: list[Rule]
    ranges: dict[str, tuple[object, object]]
    notes: list[str] = field(default_factory=list)


def discover(
    inputs: pd.DataFrame,
    hits: np.ndarray,
    outcome: str = "outcome",
    boxes: int = DEFAULT_BOXES,
    min_density: float = DEFAULT_MIN_DENSITY,
    mass_min: float = DEFAULT_MASS_MIN,
) -> Discovery:
    """PRIM boxes and CART rules for where ``hits`` (one boolean per row of ``inputs``) is true.

    From each PRIM peeling trajectory the box kept is the one of highest coverage (then density)
    whose density is at least ``min_density``; up to ``boxes`` boxes are found, each on the runs outside the ones
    before, until no box on a trajectory is that dense. ``mass_min`` is the smallest share of runs
    a box or a CART leaf may hold."""
    check_options(boxes, min_density, mass_min)
    hits = np.asarray(hits, dtype=bool)
    ranges = {name: _range(inputs[name]) for name in inputs}
    found = Discovery(outcome, len(hits), int(hits.sum()), [], [], ranges)
    if found.hits == 0 or found.hits == found.cases:
        found.notes.append(
            f"the outcome holds in {'none' if found.hits == 0 else 'all'} of the runs: no box or rule to find"
        )
        return found
    found.boxes, densest = _prim_boxes(inputs, hits, boxes, min_density, mass_min)
    if not found.boxes:
        found.notes.append(
            f"PRIM: no box reaches density {min_density:g} (the densest on its peeling trajectory: "
            f"{densest[1]:.2f} at coverage {densest[0]:.2f}); a lower --min-density finds looser boxes"
        )
    found.rules = _cart_rules(inputs, hits, mass_min)
    return found


def check_options(boxes: int, min_density: float, mass_min: float) -> None:
    """ParameterError unless 0 < mass_min < 1, 0 < min_density <= 1 and boxes >= 1."""
    if not 0 < mass_min < 1 or not 0 < min_density <= 1 or boxes < 1:
        raise ParameterError(
            f"--mass-min must be between 0 and 1 (got {mass_min:g}), --min-density above 0 and at most 1 "
            f"(got {min_density:g}), --boxes at least 1 (got {boxes})"
        )


def _range(column: pd.Series) -> tuple[object, object]:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.min(), column.max()
    return sorted(set(column), key=str), None


def _prim_boxes(
    inputs: pd.DataFrame, hits: np.ndarray, count: int, min_density: float, mass_min: float
) -> tuple[list[Box], tuple[float, float]]:
    """Up to ``count`` boxes of density >= ``min_density``, each of highest coverage on its peeling
    trajectory, and the (coverage, density) of the densest box of the first trajectory."""
    with warnings.catch_warnings():  # about evaluators and notebook widgets aisim does not use
        warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
        warnings.filterwarnings("ignore", message="altair based interactive", category=ImportWarning)
        from ema_workbench.analysis.prim import Prim

    x = inputs.copy()
    for name in x:
        if pd.api.types.is_bool_dtype(x[name]) or not pd.api.types.is_numeric_dtype(x[name]):
            x[name] = x[name].astype(str)  # categories for PRIM
    with warnings.catch_warnings():  # pandas deprecations inside the EMA Workbench
        warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
        prim = Prim(x, hits.astype(int), mass_min=mass_min)
    found, densest = [], (0.0, 0.0)
    remaining = np.ones(len(hits), dtype=bool)
    for number in range(count):
        base_rate = hits[remaining].mean() if remaining.any() else 0.0
        box = prim.find_box()
        if box is None:
            break
        trajectory = box.peeling_trajectory
        if number == 0:
            top = trajectory.loc[trajectory.density.idxmax()]
            densest = (float(top.coverage), float(top.density))
        dense = trajectory[(trajectory.density >= min_density) & (trajectory.res_dim > 0)]
        if dense.empty or dense.density.max() <= base_rate:
            break  # no box dense enough, or none denser than the runs it would leave
        chosen = int(dense.sort_values(["coverage", "density"], kind="stable").index[-1])  # ties: the densest
        box.select(chosen)
        row = trajectory.loc[chosen]
        limits = []
        for name, (qp_low, qp_high) in box.p_values[chosen].items():
            low, high = box.box_lims[chosen][name]
            limits.append(Limit(name, low, high, None if qp_low < 0 else qp_low, None if qp_high < 0 else qp_high))
        found.append(
            Box(float(row.coverage), float(row.density), float(row.mass), int(row.n), limits, trajectory, chosen)
        )
        remaining[box.yi] = False
    return found, densest


def _cart_rules(inputs: pd.DataFrame, hits: np.ndarray, mass_min: float) -> list[Rule]:
    """The leaves of a decision tree (scikit-learn's, as the EMA Workbench's CART uses) where the
    outcome holds for most runs, with their conditions, most coverage first."""
    from sklearn.tree import DecisionTreeClassifier

    x = pd.get_dummies(inputs.astype({n: str for n in inputs if not _numeric(inputs[n])}), prefix_sep="=")
    names = list(x.columns)
    tree = DecisionTreeClassifier(min_samples_leaf=max(1, int(mass_min * len(hits))), random_state=0)
    tree.fit(x.to_numpy(dtype=float), hits)
    structure = tree.tree_
    leaves = tree.apply(x.to_numpy(dtype=float))
    rules = []

    def walk(node: int, bounds: dict[str, list]) -> None:
        if structure.children_left[node] == -1:
            inside = leaves == node
            hit, runs = int(hits[inside].sum()), int(inside.sum())
            if hit * 2 > runs:
                rules.append(Rule(_conditions(bounds), hit / int(hits.sum()), hit / runs, runs))
            return
        name, threshold = names[structure.feature[node]], float(structure.threshold[node])
        left = {k: list(v) for k, v in bounds.items()}
        left.setdefault(name, [None, None])[1] = threshold
        walk(structure.children_left[node], left)
        right = {k: list(v) for k, v in bounds.items()}
        right.setdefault(name, [None, None])[0] = threshold
        walk(structure.children_right[node], right)

    walk(0, {})
    return sorted(rules, key=lambda rule: (-rule.coverage, -rule.density))


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _conditions(bounds: dict[str, list]) -> list[str]:
    """Readable conditions from (lower, upper] bounds per feature (dummy features ``name=value``)."""
    conditions = []
    for name, (low, high) in bounds.items():
        if "=" in name:  # a category's dummy: <= 0.5 is "not this value"
            parameter, value = name.split("=", 1)
            conditions.append(f"{parameter} {'!=' if high is not None else '=='} {value}")
        elif low is None:
            conditions.append(f"{name} <= {high:.4g}")
        elif high is None:
            conditions.append(f"{name} > {low:.4g}")
        else:
            conditions.append(f"{low:.4g} < {name} <= {high:.4g}")
    return conditions


# --- the report -------------------------------------------------------------------------------


def report(found: Discovery) -> str:
    """The boxes and rules as text."""
    share = found.hits / found.cases if found.cases else 0.0
    lines = [f"outcome: {found.outcome}: holds in {found.hits:,} of {found.cases:,} runs ({share:.0%})"]
    lines += [f"note: {note}" for note in found.notes]
    for number, box in enumerate(found.boxes, start=1):
        lines += [
            "",
            f"PRIM box {number}: coverage {box.coverage:.2f}, density {box.density:.2f}, mass {box.mass:.2f} "
            f"({box.runs:,} runs), {len(box.limits)} restricted parameter(s) "
            f"(step {box.chosen} of {len(box.trajectory) - 1} on its peeling trajectory)",
        ]
        table = pd.DataFrame(
            {
                "parameter": [limit.parameter for limit in box.limits],
                "box": [_limit_text(limit) for limit in box.limits],
                "sweep range": [_range_text(found.ranges[limit.parameter]) for limit in box.limits],
                "qp low end": [_qp(limit.qp_low) for limit in box.limits],
                "qp high end": [_qp(limit.qp_high) for limit in box.limits],
            }
        )
        lines += ["  " + line for line in table.to_string(index=False).splitlines()]
    if found.boxes:
        lines += ["", "qp: quasi-p value of a restricted end (one-sided binomial test); below 0.05 is significant"]
    if found.rules:
        lines += ["", "CART rules (tree leaves where the outcome holds for most runs):"]
        for number, rule in enumerate(found.rules, start=1):
            lines.append(
                f"  {number}. {' and '.join(rule.conditions) or 'every run'}: coverage {rule.coverage:.2f}, "
                f"density {rule.density:.2f} ({rule.runs:,} runs)"
            )
    elif found.hits not in (0, found.cases):
        lines += ["", "CART: no leaf where the outcome holds for most runs"]
    return "\n".join(lines)


def _limit_text(limit: Limit) -> str:
    if isinstance(limit.low, set):
        return "{" + ", ".join(sorted(map(str, limit.low))) + "}"
    return f"{limit.low:.4g} to {limit.high:.4g}"


def _range_text(bounds: tuple[object, object]) -> str:
    low, high = bounds
    if high is None:
        return "{" + ", ".join(map(str, low)) + "}"
    return f"{low:.4g} to {high:.4g}"


def _qp(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def write_figure(found: Discovery, path: str | Path) -> None:
    """A PNG of the first PRIM box: its peeling trajectory (coverage against density, the chosen box
    marked) and its restricted ranges within the sweep's. Drawn with matplotlib's Agg canvas, so no
    window and no global backend is touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ParameterError(f"--figure {path}: write a .png file")
    if not found.boxes:
        raise ParameterError(f"--figure {path}: PRIM found no box for {found.outcome!r}, so there is nothing to draw")
    box = found.boxes[0]
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, width_ratios=[1, 1.3])
    trajectory = box.trajectory
    points = left.scatter(trajectory.coverage, trajectory.density, c=trajectory.res_dim, cmap="viridis", s=18)
    left.scatter([box.coverage], [box.density], s=140, facecolors="none", edgecolors="red", label="chosen box")
    left.set(xlabel="coverage", ylabel="density", title="PRIM peeling trajectory", xlim=(0, 1.02), ylim=(0, 1.02))
    left.legend(loc="lower left")
    figure.colorbar(points, ax=left, label="restricted parameters", ticks=range(int(trajectory.res_dim.max()) + 1))
    numeric = [limit for limit in box.limits if not isinstance(limit.low, set)]
    for row, limit in enumerate(numeric):
        low, high = found.ranges[limit.parameter]
        span = (high - low) or 1.0
        start, stop = (limit.low - low) / span, (limit.high - low) / span
        right.barh(row, 1.0, left=0.0, height=0.35, color="lightgrey")  # the sweep's range
        right.barh(row, stop - start, left=start, height=0.35, color="tab:blue")
        right.text(start, row + 0.25, f"{limit.low:.3g}", ha="center", fontsize=9)
        right.text(stop, row + 0.25, f"{limit.high:.3g}", ha="center", fontsize=9)
    right.set_yticks(range(len(numeric)), [limit.parameter for limit in numeric])
    right.set(
        xlim=(-0.05, 1.05),
        ylim=(-0.6, max(len(numeric), 1) - 0.2),
        xlabel="share of the sweep's range",
        title=f"box 1: coverage {box.coverage:.2f}, density {box.density:.2f}",
    )
    figure.suptitle(found.outcome)
    try:
        figure.savefig(path, dpi=110)
    except OSError as err:
        raise ParameterError(f"--figure {path}: cannot write: {err.strerror or err}") from None


def discover_sweep(
    folder: str | Path,
    outcome: str,
    boxes: int = DEFAULT_BOXES,
    min_density: float = DEFAULT_MIN_DENSITY,
    mass_min: float = DEFAULT_MASS_MIN,
) -> Discovery:
    """`read_sweep`, `parse_outcome` and `discover` in one call: the whole of `aisim discover`."""
    check_options(boxes, min_density, mass_min)
    cases = read_sweep(folder)
    condition = parse_outcome(outcome, cases.measures)
    found = discover(cases.inputs, condition.holds(cases.table), str(condition), boxes, min_density, mass_min)
    found.notes[:0] = cases.notes
    return found
