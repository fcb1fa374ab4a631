"""Firm strategies: a firm's quarterly decision as a policy its agent carries.

Every quarter each firm decides two things (`sim.mechanisms.decision`): ``x``, the share of its AI
budget put into LLM scaling, and ``investment_share``, how much of its investment capacity it uses
next quarter. The built-in rule (`BIASED`, the default) is the model's own: the expected-value
comparison of the two paths bent by the five drivers. It stays vectorised: firms on it are decided
together over arrays, in the Mesa model and in the batch engine alike. A firm on another policy is
then decided again, on its own, by that policy, from a `FirmView`: what the firm may see (its own
state, its beliefs, the rivals' public moves; never the true LLM ceiling or world-model difficulty).
Its `Decision` is checked and clipped to the firm's bounds.

A policy is any object with ``decide(view) -> Decision`` (`Policy`); a scenario names one per firm
(``policy = "thompson"``). The built-in ones are in `POLICIES`; `register` adds one from Python. A
scenario file may name code (``"mymodule:MyPolicy"``) only when the user allowed it
(`allow_code_policies`, the command line's ``--allow-code-policies``): a scenario file must never run
code by itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from sim.params import ParameterError
from sim.variables import DRIVER_TERMS

BIASED = "biased"
"""The built-in rule's name: the default policy of every firm."""
STUDENT = "student"
"""A firm a student runs in class mode (`sim.classroom`)."""


@dataclass(frozen=True)
class Decision:
    """A firm's decision for the quarter.

    ``x``: share of this quarter's AI budget on LLM scaling (0 to the firm's ``x_max``).
    ``investment_share``: share of its investment capacity the firm uses next quarter (0 to 1);
    None keeps the built-in rule's.
    ``target``: the allocation the firm aims at, before inertia (shown as ``x_target``); None keeps
    the built-in rule's.
    """

    x: float
    investment_share: float | None = None
    target: float | None = None


@dataclass(frozen=True)
class RivalView:
    """What a firm sees of a rival: its public moves."""

    name: str
    market_share: float
    llm_quality: float  # benchmarks are public
    wm_quality: float  # 0 until its world-model product ships
    wm_breakthrough: bool  # announced
    llm_spend: float  # last quarter's LLM spend ($B; capital spending is announced); 0 in the first quarter


@dataclass(frozen=True)
class FirmView:
    """What a firm may see when it decides, in quarter ``quarter``: its own state (its allocation and
    investment share as they were last quarter; this quarter's budget, income and market share), its
    beliefs, its rivals' public moves, the bounds of its decision and what the built-in rule and the
    expected-value rule would decide. It holds numbers only: nothing of the model, so nothing hidden."""

    quarter: int
    firm: str
    # own state
    cash: float  # $B, at the end of last quarter
    budget: float  # $B this quarter
    income: float  # $B this quarter
    ai_revenue: float  # $B this quarter
    market_share: float
    x: float  # last quarter's allocation
    investment_share: float  # last quarter's
    llm_quality: float
    wm_quality: float
    wm_knowledge: float
    wm_breakthrough: bool
    llm_sunk: float
    wm_sunk: float
    llm_carries_product: float  # 1 while its LLM clearly carries its product, near 0 once a world model does
    # beliefs
    believed_ceiling: float  # the LLM ceiling it expects, with its optimism
    evidence_ceiling: float  # the LLM ceiling the evidence alone suggests
    value_llm: float  # believed value of the next LLM dollar ($ per $), on the evidence
    value_wm: float  # believed value of the next world-model dollar
    ceilings: tuple[float, ...]  # the LLM ceilings it weighs
    ceiling_weights: tuple[float, ...]  # the evidence's weight on each (they sum to 1)
    llm_value_by_ceiling: tuple[float, ...]  # value of the next LLM dollar if each ceiling were the true one
    terms: dict[str, float]  # the decision terms of the built-in rule (logit units)
    # the decision's bounds and pace
    x_max: float  # 1 minus the protected world-model share
    adjustment_speed: float  # share of the gap to a target the built-in rule closes each quarter
    # the rules' own decisions, to follow, compare with or depart from
    default: Decision  # the built-in (biased) rule
    expected_value: Decision  # the built-in rule with every driver off
    rivals: tuple[RivalView, ...] = field(default=())

    def toward(self, target: float) -> float:
        """The allocation after one quarter's move toward ``target`` at the firm's adjustment speed, as the
        built-in rule moves (`sim.mechanisms.allocation_step`), within its bounds."""
        from sim.mechanisms import allocation_step

        moved = allocation_step(
            np.float64(self.x), np.float64(target), np.float64(self.llm_carries_product),
            np.float64(self.adjustment_speed), np.float64(self.x_max),
        )  # fmt: skip
        return float(moved)


@runtime_checkable
class Policy(Protocol):
    """A firm's strategy: one decision a quarter from what the firm may see."""

    def decide(self, view: FirmView) -> Decision: ...


# --- the policies that come with aisim -------------------------------------------------------


class Biased:
    """The model's own rule: expected value bent by the five drivers (sunk cost, competitive pressure,
    revenue feedback, investor pressure, scaling optimism)."""

    def decide(self, view: FirmView) -> Decision:
        return view.default


class ExpectedValue:
    """The rule with every driver off: the comparison of the two paths' believed values alone."""

    def decide(self, view: FirmView) -> Decision:
        return view.expected_value


@dataclass
class FixedSplit:
    """Keeps the allocation it starts with (or ``x``), whatever happens; invests as the built-in rule does."""

    x: float | None = None

    def decide(self, view: FirmView) -> Decision:
        if self.x is None:
            self.x = view.x
        return Decision(x=min(self.x, view.x_max), target=self.x)


class FollowTheLeader:
    """Imitates the market leader: scales LLMs while the leader's product runs on its LLM, moves to world
    models once the leader's runs on a world model (at the firm's usual pace)."""

    def decide(self, view: FirmView) -> Decision:
        if not view.rivals:
            return view.default
        leader = max(view.rivals, key=lambda rival: rival.market_share)
        if leader.market_share <= view.market_share:  # it leads: it keeps to its own course
            return view.default
        target = 1.0 if leader.llm_quality >= leader.wm_quality else 0.0
        return Decision(x=view.toward(target), target=target)


@dataclass
class Thompson:
    """A Bayesian bandit over the LLM ceiling (Thompson sampling): each quarter it draws one ceiling from
    the evidence's weights and puts its budget on the path that pays more if that ceiling is the true one.
    Its draws come from its own seed, so runs repeat."""

    rng: np.random.Generator

    def decide(self, view: FirmView) -> Decision:
        drawn = self.rng.choice(len(view.ceilings), p=np.asarray(view.ceiling_weights) / sum(view.ceiling_weights))
        target = 1.0 if view.llm_value_by_ceiling[drawn] > view.value_wm else 0.0
        return Decision(x=view.toward(target), target=target)


@dataclass
class Hedger:
    """Follows the expected-value rule but keeps an option open: ``hedge`` of its budget on world models
    beyond what it protects anyway (x at most x_max - hedge), until the evidence all but rules the dead end
    out (weight on the lowest ceiling below ``certainty``) or it has made its breakthrough."""

    hedge: float = 0.2
    certainty: float = 0.05

    def decide(self, view: FirmView) -> Decision:
        choice = view.expected_value
        if view.wm_breakthrough or view.ceiling_weights[0] < self.certainty:
            return choice
        cap = max(view.x_max - self.hedge, 0.0)
        return Decision(x=min(choice.x, cap), investment_share=choice.investment_share, target=choice.target)


class Hold:
    """Keeps last quarter's allocation and investment share: a student's firm when no decision came in
    (class mode replaces it with the student's own decisions; `sim.classroom`)."""

    def decide(self, view: FirmView) -> Decision:
        return Decision(x=min(view.x, view.x_max), investment_share=view.investment_share, target=view.x)


PolicyFactory = Callable[[np.random.Generator], Policy]
"""Makes one firm's policy for one run, from a random generator of its own (seeded by the run's seed and
the firm's position)."""

POLICIES: dict[str, tuple[PolicyFactory, str]] = {
    BIASED: (lambda rng: Biased(), "the model's own rule: expected value bent by the five drivers (default)"),
    "expected_value": (lambda rng: ExpectedValue(), "the same comparison with every driver off"),
    "fixed_split": (lambda rng: FixedSplit(), "keeps its starting allocation whatever happens"),
    "follow_the_leader": (lambda rng: FollowTheLeader(), "imitates the market leader's path"),
    "thompson": (lambda rng: Thompson(rng), "Thompson sampling over the LLM ceiling (a Bayesian bandit)"),
    "hedger": (
        lambda rng: Hedger(),
        "expected value, but 20% more on world models than it must, until the dead end is ruled out",
    ),
    STUDENT: (
        lambda rng: Hold(),
        "a student's target in class mode, reached at the firm's own pace; otherwise keeps last quarter's decision",
    ),
}
"""The policies a scenario may name, with a line each."""

_CODE_NAME = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_allow_code = False


def allow_code_policies(allowed: bool = True) -> None:
    """Let scenario files name policies in code (``"module:Class"``), which imports that module. Off by
    default: a scenario file must never run code by itself (``--allow-code-policies`` turns it on). Sweep
    chunks carry the setting to the processes and cluster workers that run them."""
    global _allow_code
    _allow_code = allowed


def code_policies_allowed() -> bool:
    """Whether scenario files may name policies in code in this process (`allow_code_policies`)."""
    return _allow_code


BUILT_IN = frozenset(POLICIES)
"""The policies that come with aisim: `register` cannot replace them."""


def register(name: str, factory: PolicyFactory, description: str = "") -> None:
    """Make a policy available by name to scenario files (``policy = "name"``), from Python. Registered
    policies live in this process (and the sweep helpers it forks): on a Dask cluster, name the policy as
    ``module:Class`` instead."""
    if not name.isidentifier():
        raise ValueError(f"policy name {name!r}: use letters, digits and '_'")
    if name in BUILT_IN:
        raise ValueError(f"policy name {name!r} is built in; choose another name")
    POLICIES[name] = (factory, description)


def check_loadable(name: str) -> None:
    """Refuse, before anything runs or is imported, a policy name that `make_policy` would refuse: an
    unknown one, or one in code while code policies are not allowed."""
    if check_policy_name(name) in POLICIES:
        return
    if not _allow_code:
        raise ParameterError(
            f"policy {name!r} names code; a scenario file runs code only when allowed: add --allow-code-policies "
            "(from Python: sim.policies.allow_code_policies())"
        )


def code_fingerprint(names: list[str]) -> str:
    """A hash of the source of every policy in ``names`` that is not built in: the file of a
    ``module:Class``; for a registered policy, the file its factory is defined in and the file of the class
    it makes. A sweep resumed after that code changed would mix two models. Modules those files import
    are not followed. ``"none"`` when every policy is built in."""
    import hashlib
    import inspect

    digest, found = hashlib.sha256(), False
    for name in sorted(set(names) - BUILT_IN):
        sources: list[str | None] = []
        try:
            if name in POLICIES:
                factory = POLICIES[name][0]
                sources = [
                    inspect.getsourcefile(factory),
                    inspect.getsourcefile(type(factory(np.random.default_rng(0)))),
                ]
            elif _CODE_NAME.match(name) and _allow_code:
                spec = importlib.util.find_spec(name.partition(":")[0])
                sources = [spec.origin if spec is not None else None]
        except Exception:  # a factory that fails here fails when the sweep makes it, with its own message
            sources = []
        digest.update(name.encode() + b"\0")
        for source in sorted({s for s in sources if s}):
            text = Path(source).read_bytes() if Path(source).is_file() else b"(source not found)"
            digest.update(source.encode() + b"\0" + text + b"\0")
        found = True
    return digest.hexdigest()[:16] if found else "none"


def check_policy_name(name: str) -> str:
    """A policy name a scenario may give: a registered one, or ``module:Class``; a ParameterError (a
    ValueError) listing them."""
    if name in POLICIES or _CODE_NAME.match(name):
        return name
    raise ParameterError(
        f"unknown policy {name!r}; valid: {', '.join(POLICIES)}, or module:Class (with --allow-code-policies)"
    )


def make_policy(name: str, seed: int, firm_index: int) -> Policy:
    """A fresh policy for one firm in one run, with a random generator of its own."""
    rng = np.random.default_rng([seed, firm_index, POLICY_STREAM])
    if name in POLICIES:
        made = POLICIES[name][0]
        try:
            return made(rng)
        except Exception as err:  # a registered factory's own bug
            raise ParameterError(f"policy {name!r}: making it failed: {type(err).__name__}: {err}") from err
    check_loadable(name)
    module, _, attribute = name.partition(":")
    try:
        made = getattr(_import_from_here(module), attribute)
    except (ImportError, AttributeError) as err:
        raise ParameterError(f"policy {name!r}: cannot load it ({err})") from None
    try:
        policy = _make(made, rng)
    except Exception as err:
        raise ParameterError(f"policy {name!r}: making it failed: {type(err).__name__}: {err}") from err
    if not isinstance(policy, Policy):
        raise ParameterError(f"policy {name!r}: {made!r} made {policy!r}, which has no decide(view) method")
    return policy


POLICY_STREAM = 0x706F6C
"""Third word of a policy's seed: keeps its random numbers apart from the model's."""


def _import_from_here(module: str):
    """Import ``module`` as `python -m` would: the current folder searched too (a console script such as
    ``aisim`` does not put it on the path)."""
    import os
    import sys

    here = os.getcwd()
    if here in sys.path:
        return importlib.import_module(module)
    sys.path.append(here)
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(here)


def _make(made: Callable, rng: np.random.Generator) -> object:
    """``made(rng=rng)`` if it takes a parameter named ``rng``, ``made(rng)`` if its first parameter is
    required, else ``made()`` (a class whose parameters all have defaults keeps them)."""
    import inspect

    try:
        parameters = list(inspect.signature(made).parameters.values())
    except (TypeError, ValueError):
        return made()
    if any(p.name == "rng" for p in parameters):
        return made(rng=rng)
    first = parameters[0] if parameters else None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if first is not None and first.kind in positional and first.default is inspect.Parameter.empty:
        return made(rng)
    return made()


class PolicyWarning(UserWarning):
    """A policy's decision was out of bounds and was clipped."""


def checked(decision: object, view: FirmView, name: str) -> Decision:
    """The policy's decision within the firm's bounds: x in [0, x_max], investment share in [0, 1]. Out of
    bounds is clipped with a `PolicyWarning`; anything but a Decision of finite numbers is an error."""
    where = f"policy {name!r} for {view.firm} in quarter {view.quarter}"
    if not isinstance(decision, Decision):
        raise ParameterError(f"{where} returned {decision!r}, not a Decision")
    if decision.x is None:
        raise ParameterError(f"{where}: x = None; a Decision needs x, a number from 0 to {view.x_max:g}")
    values = {"x": decision.x, "investment_share": decision.investment_share, "target": decision.target}
    for key, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
            raise ParameterError(f"{where}: {key} = {value!r} is not a number")
        if value is not None and not math.isfinite(value):
            raise ParameterError(f"{where}: {key} = {value}")
    x = _clip(float(decision.x), 0.0, view.x_max, "x", view, name)
    share = decision.investment_share
    share = None if share is None else _clip(float(share), 0.0, 1.0, "investment_share", view, name)
    target = None if decision.target is None else _clip(float(decision.target), 0.0, 1.0, "target", view, name)
    return Decision(x, share, target)


def _clip(value: float, low: float, high: float, key: str, view: FirmView, name: str) -> float:
    if low <= value <= high:
        return value
    warnings.warn(  # no quarter in the message: Python reports each distinct message once
        f"policy {name!r} for {view.firm}: {key} = {value:g} is outside {low:g} to {high:g}; clipped",
        PolicyWarning,
        stacklevel=2,
    )
    return min(max(value, low), high)


# --- deciding: the views policies see and where their decisions go ----------------------------


LAST_QUARTER = (
    "cash", "x", "investment_share", "llm_quality", "wm_quality", "wm_knowledge", "wm_breakthrough", "llm_sunk",
    "wm_sunk", "believed_ceiling", "evidence_ceiling", "llm_spend",
)  # fmt: skip
"""State variables a view reads as they were at the end of last quarter."""
THIS_QUARTER = (
    "active", "budget", "income", "ai_revenue", "market_share", "llm_carries_product", "value_llm", "value_wm",
    "x", "investment_share", "x_target", "term_value", *DRIVER_TERMS.values(),
)  # fmt: skip
"""Values a view reads from this quarter, as the built-in rule left them (its decision included)."""


def quarter_numbers(q, state, params) -> dict[str, list]:
    """Everything the views of one quarter read, as plain Python numbers (nested lists indexed by firm,
    then run in a batch), taken once, before any policy decides: the state at the end of last quarter
    (``last_NAME``), this quarter's values as the built-in rule left them, the expected-value rule's
    decision (the built-in rule with every driver off: `sim.mechanisms.decision` with no driver term) and
    the value of the next LLM dollar under each ceiling firms weigh."""
    from sim.mechanisms import (
        allocation_step,
        believed_ceilings,
        investment_step,
        investment_target,
        llm_compute_per_dollar,
        llm_slopes_by_ceiling,
        llm_value,
        run_constants,
        sigmoid,
    )

    speed, x_max = params.firm.adjustment_speed, run_constants(params).x_max
    target = sigmoid(q.term_value / params.env.decision_temperature)
    returns = llm_slopes_by_ceiling(state.compute, params) * llm_compute_per_dollar(q.now, params)
    invest_target = investment_target(np.maximum(q.value_llm, q.value_wm), params)
    arrays = {f"last_{name}": state[name] for name in LAST_QUARTER}
    arrays.update({name: q[name] for name in THIS_QUARTER})
    arrays.update(
        ev_target=target,
        ev_x=allocation_step(state.x, target, q.llm_carries_product, speed, x_max),
        ev_investment=investment_step(state.investment_share, invest_target, speed),
        x_max=x_max,
        adjustment_speed=speed,
        # ceilings last: (G, F) + batch -> (F,) + batch + (G,)
        ceiling_weights=np.moveaxis(np.exp(state.log_weights_evidence), 0, -1),
        llm_value_by_ceiling=np.moveaxis(llm_value(returns, q, params), 0, -1),
        ceilings=np.moveaxis(believed_ceilings(params)[0], 0, -1),
    )
    return {name: array.tolist() for name, array in arrays.items()}


def view_at(numbers: dict[str, list], names: list[str], quarter: int, firm: int, run: tuple[int, ...]) -> FirmView:
    """The view of firm ``firm`` in run ``run`` (``()`` for a single run, ``(r,)`` in a batch), from the
    quarter's `quarter_numbers`."""

    def at(key: str, who: int = firm):
        value = numbers[key][who]
        return value[run[0]] if run else value

    rivals = tuple(
        RivalView(
            names[j],
            at("market_share", j),
            at("last_llm_quality", j),
            at("last_wm_quality", j),
            bool(at("last_wm_breakthrough", j)),
            at("last_llm_spend", j),
        )
        for j in range(len(names))
        if j != firm and at("active", j)
    )
    ceilings = numbers["ceilings"][0]
    return FirmView(
        quarter=quarter,
        firm=names[firm],
        cash=at("last_cash"),
        budget=at("budget"),
        income=at("income"),
        ai_revenue=at("ai_revenue"),
        market_share=at("market_share"),
        x=at("last_x"),
        investment_share=at("last_investment_share"),
        llm_quality=at("last_llm_quality"),
        wm_quality=at("last_wm_quality"),
        wm_knowledge=at("last_wm_knowledge"),
        wm_breakthrough=bool(at("last_wm_breakthrough")),
        llm_sunk=at("last_llm_sunk"),
        wm_sunk=at("last_wm_sunk"),
        llm_carries_product=at("llm_carries_product"),
        believed_ceiling=at("last_believed_ceiling"),
        evidence_ceiling=at("last_evidence_ceiling"),
        value_llm=at("value_llm"),
        value_wm=at("value_wm"),
        ceilings=tuple(ceilings[run[0]] if run else ceilings),
        ceiling_weights=tuple(at("ceiling_weights")),
        llm_value_by_ceiling=tuple(at("llm_value_by_ceiling")),
        terms={"value": at("term_value"), **{driver: at(term) for driver, term in DRIVER_TERMS.items()}},
        x_max=at("x_max"),
        adjustment_speed=at("adjustment_speed"),
        default=Decision(at("x"), at("investment_share"), at("x_target")),
        expected_value=Decision(at("ev_x"), at("ev_investment"), at("ev_target")),
        rivals=rivals,
    )


def apply_decision(q, firm: int, run: tuple[int, ...], decision: Decision) -> None:
    """Write a checked decision into the quarter's working arrays (the built-in rule's values are kept
    where the decision leaves them to it)."""
    at = (firm, *run)
    q.x[at] = decision.x
    if decision.investment_share is not None:
        q.investment_share[at] = decision.investment_share
    if decision.target is not None:
        q.x_target[at] = decision.target


def decide_firm(
    q, numbers: dict[str, list], names: list[str], firm: int, run: tuple[int, ...], policy: Policy, name: str
) -> None:
    """Ask one firm's policy for its decision (an active firm only) and write it, checked, into the quarter."""
    active = numbers["active"][firm]
    if not (active[run[0]] if run else active):
        return
    view = view_at(numbers, names, int(q.t), firm, run)
    try:
        decision = policy.decide(view)
    except Exception as err:  # a policy's own bug: name the policy, the firm and the quarter
        raise ParameterError(
            f"policy {name!r} for {view.firm} in quarter {view.quarter}: {type(err).__name__}: {err}"
        ) from err
    apply_decision(q, firm, run, checked(decision, view, name))


def own_decisions(q) -> None:
    """Make the quarter's decision arrays its own copies, so that a decision written into them can never
    reach an array another quarter holds."""
    for key in ("x", "investment_share", "x_target"):
        q[key] = q[key].copy()


class BatchPolicies:
    """The batch engine's ``decide`` (`sim.mechanisms.advance`): one policy per firm and run not on the
    built-in rule, each made from the run's seed, decided one by one after the built-in rule has decided
    for everyone."""

    def __init__(self, params, seeds: list[int]):
        self.slots = []
        for index in np.argwhere(params.policies != BIASED):
            firm, run = int(index[0]), tuple(int(r) for r in index[1:])
            name = str(params.policies[tuple(index)])
            seed = seeds[run[0]] if run else seeds[0]
            self.slots.append((firm, run, make_policy(name, seed, firm), name))

    def __call__(self, q, state, params) -> None:
        numbers = quarter_numbers(q, state, params)
        own_decisions(q)
        for firm, run, policy, name in self.slots:
            decide_firm(q, numbers, params.firm_names, firm, run, policy, name)
