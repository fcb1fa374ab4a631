"""Parameter models: every knob of the model with its type, unit, bounds and meaning.

The field descriptions here are the single source of truth for the command-line help,
the docs and the UI controls. A `Scenario` bundles the environment, the driver
strengths and the firms.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from sim.variables import FIRM_MEASURES, RUN_MEASURES


def param(default: Any, lo: float | None, hi: float | None, unit: str, description: str):
    """A bounded model parameter with its unit and a one-line description."""
    return Field(
        default,
        ge=lo,
        le=hi,
        description=description,
        json_schema_extra={"unit": unit},
    )


MAX_SEED = 2**63 - 1
"""Seeds are whole numbers from 0 to 2^63 - 1, everywhere (CLI, sweep specs, claims, the UI, the API)."""
MAX_FIRMS = 1000
"""Firms per scenario (a 1,000-firm run is benchmarked: 8-13 ms a quarter)."""


class StrictModel(BaseModel):
    """Base for parameter groups: unknown keys are errors, assignments are validated, and a
    true or false is never read as the number 1 or 0."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[info.field_name].annotation
        if _numeric(annotation):
            items = value if isinstance(value, list) and get_origin(annotation) is list else [value]
            for item in items:
                if isinstance(item, bool):
                    raise ValueError(f"expected a number, got {str(item).lower()}")
                if isinstance(item, str):
                    raise ValueError(f"expected a number, got the text {item!r}")
        return value


def _numeric(annotation: Any) -> bool:
    """True for int and float fields, optional ones and lists of them (not for mixed-type values)."""
    return annotation in (int, float) or (
        get_origin(annotation) in (list, Union, UnionType) and any(a in (int, float) for a in get_args(annotation))
    )


class Environment(StrictModel):
    """The world all firms share: technology, research difficulty, market and finance."""

    start_year: int = param(2025, 1990, 2100, "year", "Calendar year of step 0 (one step is one quarter)")
    steps: int = param(40, 1, 200, "quarters", "Number of quarters a run covers (at most 50 years)")

    # Technology
    hardware_doubling_years: float = param(
        2.5, 0.5, 20, "years", "Years for hardware FLOP per dollar to double (Hobbhahn & Besiroglu 2022)"
    )
    algorithmic_halving_months: float = param(
        8.0, 1, 240, "months", "Months for the compute needed for a fixed capability to halve (Ho et al. 2024)"
    )
    compute_per_dollar: float = param(
        700.0,
        1e-3,
        1e4,
        "1e24 FLOP per $B",
        "Useful compute $1B of accelerator time buys at the start (H100, ~$2/hour, 40% utilisation)",
    )
    energy_per_compute: float = param(
        0.8, 0.0, 10.0, "GWh per 1e24 FLOP", "Energy per unit of compute at the start, cooling included (~3e-12 J/FLOP)"
    )
    energy_price: float = param(
        0.08, 0.0, 1.0, "$ per kWh", "Electricity price paid by AI data centres (US industrial, 2025: ~8 cents)"
    )
    staff_share: float = param(
        0.35, 0.0, 0.95, "share", "Share of LLM spend on researchers and engineers, not compute (Cottier et al. 2024)"
    )
    inference_share: float = param(
        0.7, 0.0, 0.95, "share", "Share of the compute LLM spend buys that serves customers rather than R&D"
    )
    final_run_share: float = param(
        0.1, 0.01, 1.0, "share", "Share of R&D compute in final frontier training runs; the rest is experiments"
    )
    training_run_days: float = param(
        100.0, 1.0, 365.0, "days", "Length of a frontier training run (sets its power draw)"
    )
    shock_step: int = param(-1, -1, 1000, "quarter", "Quarter when a compute/energy price shock hits (-1: none)")
    compute_price_shock: float = param(
        1.0, 1.0, 20.0, "multiplier", "Compute price multiplier at the shock (1: no shock)"
    )
    energy_price_shock: float = param(
        1.0, 1.0, 20.0, "multiplier", "Energy price index multiplier at the shock (1: no shock)"
    )
    shock_half_life: float = param(8.0, 0.1, 1000, "quarters", "Quarters for half of a price shock to wear off")

    # LLM scaling law
    llm_ceiling: float = param(2.0, 0.05, 100, "quality", "True LLM quality ceiling Q_llm_max; firms do not observe it")
    llm_scaling_exponent: float = param(
        0.18, 0.05, 2.0, "-", "Power-law exponent a of the LLM scaling law (Besiroglu et al. 2024 refit)"
    )
    llm_anchor_quality: float = param(
        1.0, 0.01, 100, "quality", "LLM quality of the firm with the most initial compute at the start (sets C_s)"
    )

    # World-model research
    wm_productivity: float = param(
        1.0,
        0.0,
        1e3,
        "knowledge",
        "Multiplier on all world-model knowledge output (a spend of 3 x wm_spend_scale gives this much at returns 0.5)",
    )
    wm_returns: float = param(
        0.5, 0.05, 1.0, "-", "Returns to world-model spend (1: proportional, lower: more diminishing)"
    )
    wm_spend_scale: float = param(
        1.0, 1e-3, 1e3, "$B per quarter", "Quarterly world-model spend at which returns start to diminish"
    )
    wm_difficulty: float = param(
        180.0, 1e-3, 1e6, "knowledge", "True knowledge K* at which breakthroughs become likely; unobserved"
    )
    wm_difficulty_belief: float = param(
        180.0, 1e-3, 1e6, "knowledge", "What firms believe K* to be before anyone breaks through"
    )
    wm_hazard_rate: float = param(0.05, 0.0, 10.0, "per quarter", "Breakthrough hazard scale lam at K = K*")
    wm_hazard_exponent: float = param(3.0, 0.1, 20.0, "-", "How sharply the breakthrough hazard rises with K/K* (g)")
    spillover: float = param(0.5, 0.0, 1.0, "share", "Share of what rivals publish that a firm absorbs as knowledge")
    follower_ease: float = param(
        0.5, 0.0, 0.99, "share", "How much easier a breakthrough becomes once someone has shown it is possible"
    )
    imitation_lag_quarters: float = param(
        6.0,
        0.0,
        40.0,
        "quarters",
        "Quarters before rivals learn how a breakthrough was made, times (1 - the breaker's openness)",
    )
    wm_ceiling: float = param(4.0, 0.05, 100, "quality", "Quality world models reach when fully developed (Q_wm_max)")
    wm_development_scale: float = param(
        150.0, 0.01, 1e5, "$B", "World-model spend after a breakthrough that brings quality 63% of the way"
    )
    wm_development_quarters: int = param(
        4, 0, 40, "quarters", "Quarters from a world-model breakthrough to a shipped product (development time)"
    )

    # Market
    market_potential: float = param(
        1000.0,
        0.0,
        1e5,
        "$B per year",
        "Annual AI revenue when adoption is complete and no one picks the outside option",
    )
    adoption_midpoint_year: float = param(
        2028.1, 1990, 2100, "year", "Year when adoption reaches half of its potential"
    )
    adoption_rate: float = param(1.2, 0.01, 5.0, "per year", "Steepness of the logistic adoption curve")
    demand_capability_elasticity: float = param(
        1.0,
        0.0,
        5.0,
        "-",
        "AI demand follows (best product quality / llm_anchor_quality) to this power (0: ignores capability)",
    )
    switching_rate: float = param(
        0.08,
        0.01,
        1.0,
        "per quarter",
        "Share of AI customers who reconsider their supplier each quarter (switching costs; 1: none)",
    )
    quality_sensitivity: float = param(
        3.0, 0.0, 50.0, "per quality", "How strongly buyers prefer quality in the logit market (beta)"
    )
    outside_quality: float = param(0.5, -10.0, 10.0, "quality", "Quality of the outside option (not using AI)")
    gross_margin: float = param(0.6, 0.0, 1.0, "share", "Gross margin on AI revenue after inference costs")
    demand_noise: float = param(0.05, 0.0, 1.0, "log sd", "Quarterly random variation of AI demand (lognormal, mean 1)")

    # Finance
    cost_of_capital: float = param(
        0.10,
        0.0,
        1.0,
        "per year",
        "Return investors require; a firm invests fully only where AI is believed to beat it",
    )
    investment_elasticity: float = param(
        1.0, 0.0, 10.0, "-", "How strongly AI investment falls when its believed return is below the cost of capital"
    )
    cash_reserve_quarters: float = param(
        2.0, 0.0, 40.0, "quarters", "Cash a firm keeps, in quarters of its spending; cash above it is paid out"
    )
    payout_rate: float = param(
        0.5, 0.0, 1.0, "per quarter", "Share of cash above the reserve paid to shareholders each quarter"
    )
    max_funding_per_quarter: float = param(
        40.0,
        0.0,
        1e4,
        "$B per quarter",
        "Most that investors supply to one firm in a quarter (largest round, 2025: $40B)",
    )
    max_valuation: float = param(
        5000.0,
        1.0,
        1e6,
        "$B",
        "Highest valuation investors give a firm's AI business (the largest market value ever, 2025: ~$5T)",
    )
    revenue_multiple: float = param(
        20.0, 0.0, 200.0, "x annual revenue", "Valuation per dollar of annual AI revenue at neutral confidence"
    )
    confidence_speed: float = param(
        0.2, 0.0, 1.0, "per quarter", "How fast investor confidence moves toward what standing justifies"
    )
    standing_weight: float = param(1.0, 0.0, 10.0, "-", "How much lagging the best product lowers investor confidence")
    prospect_weight: float = param(
        0.5,
        0.0,
        1.0,
        "share",
        "Weight investors give, after a firm's breakthrough, to the revenue its world-model product could earn",
    )
    retreat_penalty: float = param(0.5, 0.0, 5.0, "-", "Relative valuation loss per unit of visible retreat from LLMs")

    # Beliefs and decisions
    llm_ceiling_low_belief: float = param(
        1.3,
        1.06,
        100,
        "x anchor quality",
        "The lowest LLM ceiling firms weigh (the dead end), as a multiple of today's best quality",
    )
    llm_ceiling_high_belief: float = param(
        5.0,
        1.06,
        100,
        "x anchor quality",
        "The highest LLM ceiling firms weigh (the miracle), as a multiple of today's best quality",
    )
    belief_learning_rate: float = param(
        0.3, 0.0, 1.0, "per quarter", "Weight of each quarter's evidence in beliefs (1: a full Bayesian update)"
    )
    belief_noise: float = param(
        1.0, 0.05, 3.0, "log sd", "Noise in what firms observe of their quality gains (benchmarks, data, luck)"
    )
    planning_horizon_years: float = param(
        5.0, 0.25, 50.0, "years", "Horizon over which firms value the payoff of each path"
    )
    decision_temperature: float = param(
        1.0, 0.01, 100.0, "-", "Softness of the allocation choice (higher: closer to 50/50)"
    )

    @model_validator(mode="after")
    def _energy_within_compute_cost(self) -> Environment:
        share = self.compute_per_dollar * self.energy_per_compute * self.energy_price / 1000.0
        if share >= 1.0:
            raise ValueError(
                f"energy would cost {share:.0%} of compute (compute_per_dollar x energy_per_compute x energy_price "
                f"/ 1000 = {self.compute_per_dollar:g} x {self.energy_per_compute:g} x {self.energy_price:g} / 1000); "
                "it must stay below 100%"
            )
        return self

    @model_validator(mode="after")
    def _anchor_below_ceiling(self) -> Environment:
        if self.llm_anchor_quality > 0.95 * self.llm_ceiling:
            raise ValueError(
                f"llm_anchor_quality ({self.llm_anchor_quality:g}), the LLM quality of the leading firm at "
                f"the start, must be at most 95% of llm_ceiling ({self.llm_ceiling:g})"
            )
        return self


class Drivers(StrictModel):
    """Global strength of each force that holds firms on the LLM path; 0 switches it off."""

    revenue_feedback: float = param(
        1.0, 0.0, 10.0, "-", "Revenue from LLM products raises the perceived value of the LLM path"
    )
    competitive_pressure: float = param(
        1.0,
        0.0,
        10.0,
        "-",
        "Firms match their rivals' LLM spend for fear of losing the race (times each firm's rivalry)",
    )
    scaling_optimism: float = param(
        1.0, 0.0, 10.0, "-", "Hope for a scaling miracle inflates believed LLM returns (times each firm's optimism)"
    )
    sunk_cost: float = param(
        1.0,
        0.0,
        10.0,
        "-",
        "Past LLM spend, as a share of all AI spend, holds firms on the path (times each firm's bias)",
    )
    investor_pressure: float = param(
        1.0, 0.0, 10.0, "-", "Fear of the valuation hit of a retreat from LLMs (times each firm's exposure)"
    )

    def switched_off(self) -> Drivers:
        """The teaching counterfactual: every bias driver at 0 (a plain expected-value maximiser)."""
        return Drivers(**{name: 0.0 for name in Drivers.model_fields})


class FirmTraits(StrictModel):
    """One firm's traits (its starting position and its character)."""

    name: str = Field(..., min_length=1, max_length=60, description="Firm name, unique in a scenario")

    @field_validator("name")
    @classmethod
    def _name_can_be_named(cls, name: str) -> str:
        """A firm is named in ``--set firms.NAME.TRAIT`` and in the UI's page address: a name with a dot,
        '=' or '*', or one that is a number (read as the firm's position), would name something else."""
        if any(mark in name for mark in ".=*") or name.strip().isdigit():
            raise ValueError(f"firm name {name!r} must not contain '.', '=' or '*' nor be a number")
        return name

    initial_cash: float = param(50.0, 0.0, 1e5, "$B", "Cash and liquid funds at the start")
    core_profit: float = param(0.0, 0.0, 1e4, "$B per year", "Operating cash flow of the non-AI business at the start")
    core_profit_growth: float = param(0.1, -0.5, 1.0, "per year", "Annual growth rate of the core (non-AI) profit")
    reinvestment_rate: float = param(
        0.8,
        0.0,
        3.0,
        "share",
        "Most of its income (core profit, AI gross profit, funding) put into AI, if AI beats the cost of capital",
    )
    operating_costs: float = param(
        0.0, 0.0, 1e4, "$B per year", "Committed costs paid before any R&D (staff, leases); rise with compute prices"
    )
    funding_rate: float = param(
        0.0, 0.0, 1.0, "per year", "Share of its valuation a firm can raise from investors each year (private labs)"
    )
    base_valuation: float = param(
        0.0, 0.0, 1e5, "$B", "Valuation investors give the firm's AI prospects before revenue"
    )
    distribution: float = param(
        0.0, -10.0, 10.0, "logit units", "Distribution advantage in the market (cloud, devices, users)"
    )
    openness: float = param(0.2, 0.0, 1.0, "share", "Share of its world-model knowledge the firm publishes")
    sunk_cost_bias: float = param(1.0, 0.0, 10.0, "-", "Strength of this firm's sunk-cost bias")
    scaling_optimism: float = param(1.0, 0.0, 10.0, "-", "How much this firm hopes scaling will bring a miracle")
    rivalry: float = param(1.0, 0.0, 10.0, "-", "How much this firm reacts to its rivals' LLM spend")
    investor_exposure: float = param(1.0, 0.0, 10.0, "-", "How much this firm's decisions answer to its valuation")
    adjustment_speed: float = param(
        0.3, 0.0, 1.0, "per quarter", "Share of the gap to its target allocation a firm closes each quarter"
    )
    wm_floor: float = param(
        0.0, 0.0, 1.0, "share", "Share of the AI budget protected for world-model research whatever the decision"
    )
    research_efficiency: float = param(
        1.0, 0.0, 10.0, "x", "World-model knowledge per dollar relative to a typical lab (research talent)"
    )
    initial_allocation: float = param(0.9, 0.0, 1.0, "share", "Share of the AI budget on LLM scaling at the start (x)")
    initial_compute: float = param(
        5000.0, 0.0, 1e10, "1e24 FLOP", "Cumulative effective R&D compute at the start (the frontier lab: ~1.6e28)"
    )
    initial_wm_knowledge: float = param(0.0, 0.0, 1e6, "knowledge", "World-model knowledge at the start")
    entry_step: int = param(0, 0, 1000, "quarter", "Quarter the firm enters the market (0: present from the start)")
    talent_loss_step: int = param(
        -1, -1, 1000, "quarter", "Quarter a research leader leaves the firm, e.g. to found a lab (-1: never)"
    )
    talent_loss: float = param(
        0.0, 0.0, 1.0, "share", "Share of the firm's world-model research efficiency that leaves with the leader"
    )

    policy: str = Field(
        "biased",
        description="How the firm decides each quarter: biased (the model's rule with its drivers), "
        "expected_value, fixed_split, follow_the_leader, thompson, hedger, student (class mode; sim/policies.py), "
        "or module:Class (with --allow-code-policies)",
    )

    @field_validator("policy")
    @classmethod
    def _policy_is_known(cls, name: str) -> str:
        from sim.policies import check_policy_name

        return check_policy_name(name)


class Claim(StrictModel):
    """One machine-checkable claim of a scenario."""

    text: str = Field(..., min_length=1, description="The claim in words")
    metric: str = Field(
        ..., description="A per-run measure (e.g. big_muddy_spend) or a firm's measure as firm:NAME:MEASURE"
    )
    compare: Literal["greater", "less"] = Field(..., description="The scenario's metric must be greater/less")
    value: float | None = Field(None, description="Compare with this fixed number")
    counterfactual: dict[str, float | int | bool | str] | None = Field(
        None, description="Compare with this scenario with these overrides (names as for --set)"
    )
    reference: str | None = Field(None, description="Compare with another scenario (name or file)")
    margin: float = Field(
        0.0, ge=0.0, description="The metric must beat the comparison by at least this much (in the metric's unit)"
    )
    placebo: dict[str, float | int | bool | str] = Field(
        ...,
        min_length=1,
        description="The claim's mechanism switched off (overrides, names as for --set), applied to every "
        "scenario compared; the claim must then fail on most seeds",
    )
    seeds: int = Field(100, ge=1, le=100_000, description="Number of seeds to check")
    first_seed: int = Field(0, ge=0, le=MAX_SEED, description="Seeds are first_seed, first_seed + 1, ...")
    required_share: float = Field(
        0.8, ge=0.8, le=1.0, description="Share of seeds on which it must hold (at least 0.8)"
    )

    @model_validator(mode="after")
    def _check(self) -> Claim:
        if self.first_seed + self.seeds - 1 > MAX_SEED:
            raise ValueError(f"first_seed + seeds - 1 must be at most {MAX_SEED} (2^63 - 1)")
        given = [k for k in ("value", "counterfactual", "reference") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of value, counterfactual or reference (got {', '.join(given) or 'none'})"
            )
        parse_metric(self.metric)
        return self

    def seed_list(self) -> list[int]:
        """The seeds this claim is checked on."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


def parse_metric(metric: str) -> tuple[str | None, str]:
    """(firm name or None, measure) for 'measure' or 'firm:NAME:measure'; unknown measures list the valid ones."""
    if metric.startswith("firm:"):
        parts = metric.split(":")
        if len(parts) != 3 or not parts[1]:
            raise ValueError(f"metric '{metric}': write firm:NAME:MEASURE")
        if parts[2] not in FIRM_MEASURES:
            raise ValueError(f"metric '{metric}': unknown firm measure; valid: {', '.join(FIRM_MEASURES)}")
        return parts[1], parts[2]
    if metric not in RUN_MEASURES:
        raise ValueError(f"metric '{metric}': unknown measure; valid: {', '.join(RUN_MEASURES)}, or firm:NAME:MEASURE")
    return None, metric


class TryStep(StrictModel):
    """One "try next" step of a lesson: a suggestion in words and the overrides that make it.

    ``set`` uses the names of ``aisim run --set`` and of claims' placebo tables
    (``"firms.Meta-like.wm_floor" = 0.0``); `sim.scenarios.apply_try_step` applies it to
    scenario data.
    """

    text: str = Field(..., min_length=1, description="What to try and what to look for, in plain words")
    set: dict[str, float | int] = Field(..., description="The overrides that make the step (names as for --set)")

    @field_validator("set", mode="before")
    @classmethod
    def _values_are_numbers(cls, value: Any) -> Any:
        if value == {}:
            raise ValueError('a step sets at least one parameter, for example { "drivers.sunk_cost" = 0.0 }')
        for key, item in value.items() if isinstance(value, dict) else ():
            if isinstance(item, bool) or not isinstance(item, int | float):
                shown = str(item).lower() if isinstance(item, bool) else repr(item)
                raise ValueError(f"{key}: expected a number, got {shown}")
        return value


class Scenario(StrictModel):
    """A complete model configuration: environment, drivers and firms."""

    name: str = Field("custom", min_length=1, description="Short identifier of the scenario")
    title: str = Field("", description="One-line title")
    story: str = Field("", description="Which point of the essay the scenario shows")
    question: str = Field("", description="A question for students")
    watch: str = Field("", description="What to watch while it runs")
    environment: Environment = Field(default_factory=Environment)
    drivers: Drivers = Field(default_factory=Drivers)
    firms: list[FirmTraits] = Field(..., min_length=1, max_length=MAX_FIRMS, description="The firms (1 to 1,000)")
    claims: list[Claim] = Field(default_factory=list, description="What the scenario claims, checked over seeds")
    try_next: list[TryStep] = Field(
        default_factory=list, description="What students can try next, each step a few overrides"
    )

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        names = [f.name for f in self.firms]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"firm names must be unique; repeated: {', '.join(duplicates)}")
        late = [f"{f.name} ({f.entry_step})" for f in self.firms if f.entry_step >= self.environment.steps]
        if late:
            raise ValueError(
                f"firms entering after the run's last quarter ({self.environment.steps - 1}, from environment.steps "
                f"{self.environment.steps}): {', '.join(late)}; lower entry_step or raise steps"
            )
        for claim in self.claims:
            firm, _ = parse_metric(claim.metric)
            if firm is not None and firm not in names:
                raise ValueError(f"claim metric '{claim.metric}': no firm '{firm}'; firms: {', '.join(names)}")
        if max(f.initial_compute for f in self.firms) < 1e-3:
            raise ValueError("at least one firm needs initial_compute >= 0.001 to anchor the scaling law")
        return self


class ParameterError(ValueError):
    """Invalid parameters, with a message that names the source, field, value and what is allowed."""


def describe_field(model: type[BaseModel], name: str) -> str:
    """'unit, range, description' for a field, for help texts and error messages."""
    info = model.model_fields[name]
    unit = (info.json_schema_extra or {}).get("unit", "")
    lo = hi = None
    for meta in info.metadata:
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    bounds = f"{_fmt(lo)} to {_fmt(hi)}" if lo is not None and hi is not None else ""
    parts = [p for p in (unit, bounds) if p and p != "-"]
    return f"{info.description} [{', '.join(parts)}]" if parts else str(info.description)


def field_bounds(model: type[BaseModel], name: str) -> tuple[float | None, float | None]:
    """The (lower, upper) bounds declared for a field."""
    lo = hi = None
    for meta in model.model_fields[name].metadata:
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    return lo, hi


def _fmt(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def format_validation_error(error: ValidationError, data: Any, source: str, root: type[BaseModel] | None = None) -> str:
    """Turn a pydantic error into lines naming the source, the field path, the value and what is allowed."""
    lines = []
    for item in error.errors():
        loc = list(item["loc"])
        path = _path_text(loc, data)
        kind = item["type"]
        value = item.get("input")
        model = _model_at(root or Scenario, loc[:-1])
        field = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            valid = ", ".join(model.model_fields) if model else ""
            lines.append(f"{source}: {path}: unknown key '{field}'; valid keys: {valid}")
        elif kind in {"greater_than_equal", "less_than_equal"} and model and field in model.model_fields:
            lo, hi = field_bounds(model, field)
            unit = (model.model_fields[field].json_schema_extra or {}).get("unit", "")
            unit_text = f" ({unit})" if unit and unit != "-" else ""
            lines.append(f"{source}: {path}: {value!r} is out of range; allowed {_fmt(lo)} to {_fmt(hi)}{unit_text}")
        elif kind == "missing":
            lines.append(f"{source}: {path}: required field is missing")
        elif kind == "value_error":
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {path or '(top level)'}: {message}")
        else:
            shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:77]}..."
            lines.append(f"{source}: {path or '(top level)'}: {item['msg']} (got {shown})")
    return "\n".join(lines)


def _model_at(root: type[BaseModel], loc: list) -> type[BaseModel] | None:
    """The parameter model found by following a location (field names, list indexes, dict keys)."""
    node: Any = root
    for key in loc:
        if _is_model(node) and isinstance(key, str) and key in node.model_fields:
            node = node.model_fields[key].annotation
        else:
            args = get_args(node)
            if not args:
                return None
            node = args[-1]  # the element type of list[...] or the value type of dict[..., ...]
        node = _strip_optional(node)
    return node if _is_model(node) else None


def _strip_optional(annotation: Any) -> Any:
    args = get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _is_model(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _path_text(loc: list, data: Any) -> str:
    """'firms[2] (Meta).openness' style path for an error location."""
    text = ""
    node = data
    for key in loc:
        if isinstance(key, int):
            text += f"[{key}]"
            if isinstance(node, list) and 0 <= key < len(node):
                node = node[key]
                if isinstance(node, dict) and "name" in node:
                    text += f" ({node['name']})"
        else:
            text += f".{key}" if text else str(key)
            node = node.get(key) if isinstance(node, dict) else None
    return text


def validate_scenario(data: dict, source: str = "scenario") -> Scenario:
    """Build a Scenario from plain data, raising ParameterError with readable lines."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ParameterError(format_validation_error(err, data, source)) from None
