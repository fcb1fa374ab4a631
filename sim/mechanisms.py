"""Every mechanism of the model, written once, as functions over numpy arrays.

Firm arrays have shape ``(F,) + batch`` and market arrays ``(1,) + batch``; the batch
shape is ``()`` for the interactive Mesa model and ``(R,)`` for the batch engine. Firms
come first so that, in a batch, each firm's values over runs are contiguous: a run
parameter (shape ``(1, R)``) then combines with a firm array at full speed, and sums over
firms add contiguous rows. Nothing here loops over runs, so both share one implementation.

One call of `advance` is one quarter: a short pipeline of named mechanisms, each a
function that reads last quarter's state and the working values of the mechanisms before
it (``q``), and writes its own: `environment`, `market`, `finance`, `decision`,
`llm_scaling`, `world_model_research`, `beliefs`, `investors`, then the market totals.
The equations, their parameters and sources are in docs/MODEL.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.arrays import ArrayBag, ModelParams, per_parameters
from sim.variables import FIRM_VARIABLES, INTERNAL_STATE

LOGIT_CLIP = 30.0
"""Decision terms are kept within +-30 so the sigmoid never saturates to exactly 0 or 1."""
TINY = 1e-12
PATH_SWITCH_WIDTH = 0.05
"""Quality gap over which product value shifts from one path to the other (smooth max)."""


IN_ORDER_BELOW = 8
"""numpy reduces fewer than 8 values one after the other, whatever the array's shape (pinned
by a test); from 8 on it sums a lone run's firms pairwise but a batch's in order."""


def _over_firms(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """``ufunc`` applied over firms (the first axis) one firm after the other, keeping the
    axis: shape (1,) + batch. The same bits for a run alone and in a batch."""
    if values.shape[0] < IN_ORDER_BELOW:
        return ufunc.reduce(values, axis=0, keepdims=True)
    return ufunc.accumulate(values, axis=0)[-1:]


def firm_sum(values: np.ndarray) -> np.ndarray:
    """Sum over firms, keeping the axis."""
    return _over_firms(np.add, values)


def firm_max(values: np.ndarray) -> np.ndarray:
    """Maximum over firms, keeping the axis."""
    return _over_firms(np.maximum, values)


def firm_min(values: np.ndarray) -> np.ndarray:
    """Minimum over firms, keeping the axis."""
    return _over_firms(np.minimum, values)


def firm_any(values: np.ndarray) -> np.ndarray:
    """Whether any firm's flag is set, keeping the axis."""
    return _over_firms(np.logical_or, values)


class ActiveFirms:
    """Which firms are active (alive and entered), and whether every firm of every run is."""

    def __init__(self, flags: np.ndarray):
        self.flags = flags
        self.everyone = bool(flags.all())

    def only(self, values: np.ndarray, otherwise: float | np.ndarray = 0.0) -> np.ndarray:
        """``values`` where a firm is active and ``otherwise`` elsewhere, as np.where; when
        every firm is active (the common case), ``values`` itself: the same numbers without
        another pass over memory."""
        if self.everyone and values.shape == self.flags.shape:
            return values
        return np.where(self.flags, values, otherwise)


Y_CAP = 1e150
"""Cap on the believed cumulative hazard: beyond it a breakthrough is certain either way."""


def _power(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """base ** exponent where a result too large for a float is infinity (a certain event)."""
    with np.errstate(over="ignore"):
        return base**exponent


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, safe for large arguments."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@per_parameters
def llm_compute_scale(params: ModelParams) -> np.ndarray:
    """C_s of the scaling law, set so the firm with most initial compute has the anchor quality."""
    return _compute_scale(params, params.env.llm_ceiling)


CEILING_GRID = 4
"""How many LLM ceilings firms weigh, log-spaced from the dead end to the miracle (the same in every
run, so that runs stack into batches)."""


@per_parameters
def believed_ceilings(params: ModelParams) -> tuple[np.ndarray, np.ndarray]:
    """The ceilings firms weigh (quality, shape (G, 1) + batch: low * (high/low)^z for z = 0 .. 1 in
    CEILING_GRID steps, times the anchor quality) and their C_s of the scaling law, anchored like
    the true one."""
    env = params.env
    z = np.linspace(0.0, 1.0, CEILING_GRID).reshape((-1,) + (1,) * env.steps.ndim)
    low, high = env.llm_ceiling_low_belief, env.llm_ceiling_high_belief
    ceilings = env.llm_anchor_quality * low * (high / low) ** z
    return ceilings, _compute_scale(params, ceilings)


def _compute_scale(params: ModelParams, ceiling: np.ndarray) -> np.ndarray:
    env = params.env
    frontier = np.max(params.firm.initial_compute, axis=0, keepdims=True)
    ratio = (1.0 - env.llm_anchor_quality / ceiling) ** (-1.0 / env.llm_scaling_exponent) - 1.0
    return frontier / ratio


@per_parameters
def run_constants(params: ModelParams) -> ArrayBag:
    """Combinations of parameters that `advance` uses every quarter but that stay fixed over a run.

    Each is the leading part of a product in the equations (evaluated left to right), so
    using it gives the very same numbers as writing the product out.
    """
    env, drivers, firm = params.env, params.drivers, params.firm
    return ArrayBag(
        core_profit_per_quarter=firm.core_profit / 4.0,
        core_growth_factor=1.0 + firm.core_profit_growth,
        funding_rate_per_quarter=firm.funding_rate / 4.0,
        operating_costs_per_quarter=firm.operating_costs / 4.0,
        competitive_weight=drivers.competitive_pressure * firm.rivalry,
        optimism=drivers.scaling_optimism * firm.scaling_optimism,
        compute_share_of_llm_spend=1.0 - env.staff_share,
        rd_share_of_llm_spend=(1.0 - env.staff_share) * (1.0 - env.inference_share),
        sunk_cost_weight=drivers.sunk_cost * firm.sunk_cost_bias,
        investor_weight=drivers.investor_pressure * firm.investor_exposure * env.retreat_penalty,
        x_max=1.0 - firm.wm_floor,
        utility_at_wm_ceiling=utilities(env.wm_ceiling, params),
        knowledge_yield=firm.research_efficiency * env.wm_productivity,
        knowledge_per_dollar_at_zero=firm.research_efficiency
        * env.wm_productivity
        * env.wm_returns
        / env.wm_spend_scale,
    )


def llm_quality(compute: np.ndarray, env: ArrayBag, scale: np.ndarray, ceiling: np.ndarray | None = None):
    """Scaling law with a ceiling: q = Q_max * (1 - (1 + C/C_s)^-a). Never falls as C grows.
    ``ceiling`` defaults to the true one."""
    ceiling = env.llm_ceiling if ceiling is None else ceiling
    return ceiling * -np.expm1(-env.llm_scaling_exponent * np.log1p(compute / scale))


def llm_quality_slope(compute: np.ndarray, env: ArrayBag, scale: np.ndarray, ceiling: np.ndarray | None = None):
    """dq/dC of the scaling law (quality per 1e24 FLOP of effective compute); ``ceiling`` defaults to
    the true one."""
    a = env.llm_scaling_exponent
    ceiling = env.llm_ceiling if ceiling is None else ceiling
    return np.exp(np.log(ceiling * a) - np.log(scale) - (a + 1.0) * np.log1p(compute / scale))


def log_quality_gain(before: np.ndarray, added: np.ndarray, ceiling, a, scale) -> np.ndarray:
    """ln(q(C + dC) - q(C)) of the scaling law for dC > 0, exact and free of cancellation:
    q(C + dC) - q(C) = Q (1 + C/C_s)^-a (1 - (1 + dC/(C_s + C))^-a).

    When dC/(C_s + C) is so small that the last factor rounds to 0 (a gain below 1e-308, found by
    the property test), its logarithm is taken from its first-order form a dC/(C_s + C) in log
    space, which stays finite; elsewhere the result is the exact form, bit for bit."""
    fraction = -np.expm1(-a * np.log1p(added / (scale + before)))
    underflow = fraction <= 0.0
    log_fraction = np.log(np.where(underflow, 1.0, fraction))
    if np.any(underflow):
        log_fraction = np.where(underflow, np.log(a) + np.log(added) - np.log(scale + before), log_fraction)
    return np.log(ceiling) - a * np.log1p(before / scale) + log_fraction


def knowledge_gain(spend: np.ndarray, knowledge_yield: np.ndarray, env: ArrayBag) -> np.ndarray:
    """World-model knowledge from a quarter's spend: diminishing returns, finite at zero spend.

    gain = efficiency * wm_productivity * ((1 + spend / wm_spend_scale)^wm_returns - 1), where
    ``knowledge_yield`` is efficiency * wm_productivity (see `run_constants`).
    """
    return knowledge_yield * np.expm1(env.wm_returns * np.log1p(spend / env.wm_spend_scale))


ENVIRONMENT_BLOCK = 40
"""Quarters of technology, prices and adoption computed at once (see `environment_at`)."""


def environment_at(t: int, params: ModelParams, demand_shock: np.ndarray) -> ArrayBag:
    """Technology, prices and demand in quarter t (market arrays, shape (1,) + batch).

    All but the demand shock depend on the parameters and t alone: they are computed for a
    block of quarters at once and kept with the parameters (`_environment_block`).
    """
    block = _environment_block(params, t - t % ENVIRONMENT_BLOCK)
    i = t % ENVIRONMENT_BLOCK
    sd = params.env.demand_noise
    shock = np.exp(sd * demand_shock - 0.5 * sd * sd)
    return ArrayBag(
        year=block.year[i],
        compute_cost_index=block.compute_cost_index[i],
        energy_price_index=block.energy_price_index[i],
        compute_per_dollar=block.compute_per_dollar[i],
        algorithmic_multiplier=block.algorithmic_multiplier[i],
        energy_per_compute=block.energy_per_compute[i],
        potential_demand=block.potential_demand[i],
        potential_demand_before=block.potential_demand_before[i],
        ai_demand=block.potential_demand[i] * shock,
        ai_demand_ahead=block.potential_demand_ahead[i] * shock,
    )


@per_parameters
def _environment_block(params: ModelParams, start: int) -> ArrayBag:
    """The deterministic environment of quarters start, start + 1, ... (leading axis: quarter)."""
    env = params.env
    t = np.arange(start, start + ENVIRONMENT_BLOCK).reshape((-1,) + (1,) * env.steps.ndim)
    years = t / 4.0
    hardware = np.exp2(years / env.hardware_doubling_years)
    algorithmic = np.exp2(years * 12.0 / env.algorithmic_halving_months)
    shock_on = (env.shock_step >= 0) & (t >= env.shock_step)
    decay = np.exp2(-np.maximum(t - env.shock_step, 0.0) / env.shock_half_life)
    compute_shock = np.where(shock_on, 1.0 + (env.compute_price_shock - 1.0) * decay, 1.0)
    energy_index = np.where(shock_on, 1.0 + (env.energy_price_shock - 1.0) * decay, 1.0)
    energy_cost_share = energy_share_of_compute_cost(params)
    cost_index = compute_shock * (1.0 + energy_cost_share * (energy_index - 1.0))
    year = env.start_year + years
    adoption = sigmoid(env.adoption_rate * (year - env.adoption_midpoint_year))
    adoption_before = sigmoid(env.adoption_rate * (year - 0.25 - env.adoption_midpoint_year))
    adoption_ahead = sigmoid(env.adoption_rate * (year + env.planning_horizon_years / 2.0 - env.adoption_midpoint_year))
    return ArrayBag(
        year=year,
        compute_cost_index=cost_index,
        energy_price_index=energy_index,
        compute_per_dollar=env.compute_per_dollar * hardware / cost_index,
        algorithmic_multiplier=algorithmic,
        energy_per_compute=env.energy_per_compute / hardware,
        potential_demand=env.market_potential * adoption,
        potential_demand_before=env.market_potential * adoption_before,
        potential_demand_ahead=env.market_potential * adoption_ahead,
    )


def energy_share_of_compute_cost(params: ModelParams) -> np.ndarray:
    """Share of the cost of compute that is energy at the start: $ of energy per $ of compute,
    compute_per_dollar [1e24 FLOP/$B] x energy_per_compute [GWh/1e24 FLOP] x energy_price [$/kWh]
    x 1e6 kWh/GWh / 1e9 $/$B (about 4.5% by default; Cottier et al. 2024: 2-6%)."""
    env = params.env
    return env.compute_per_dollar * env.energy_per_compute * env.energy_price / 1000.0


def utilities(quality: np.ndarray, params: ModelParams) -> np.ndarray:
    """Logit utility of each firm's product: beta * quality + distribution advantage."""
    return params.env.quality_sensitivity * quality + params.firm.distribution


def market_shares(quality: np.ndarray, active: ActiveFirms, params: ModelParams) -> tuple:
    """Logit shares with an outside option; inactive firms get none.

    Returns (shares, outside share, log-sum of all other alternatives' attractions per firm,
    the max utility used to keep the exponentials finite).
    """
    u = utilities(quality, params)
    u_outside = params.env.quality_sensitivity * params.env.outside_quality
    top = np.maximum(firm_max(active.only(u, -np.inf)), u_outside)
    attraction = np.exp(active.only(u - top, -np.inf))
    outside = np.exp(u_outside - top)
    total = firm_sum(attraction) + outside
    shares = attraction / total
    log_others = np.log(np.maximum(total - attraction, TINY))
    return shares, outside / total, log_others, top


def advance(
    state: ArrayBag,
    params: ModelParams,
    noise: ArrayBag,
    t: int,
    decide: Callable[[ArrayBag, ArrayBag, ModelParams], None] | None = None,
) -> ArrayBag:
    """One quarter of the model: the state after quarter t, with every output variable.

    The process overview (docs/MODEL.md, ODD 1.3) in code: each mechanism reads last
    quarter's ``state`` and what the mechanisms before it wrote into ``q``, this quarter's
    working values, and writes its own named values there. ``decide``, when given, decides
    again for the firms not on the built-in rule (`sim.policies`), right after `decision`.
    """
    q = ArrayBag(t=t)
    environment(q, params, noise)
    market(q, state, params)
    finance(q, state, params)
    decision(q, state, params)
    if decide is not None:
        decide(q, state, params)
    llm_scaling(q, state, params)
    world_model_research(q, state, params, noise)
    beliefs(q, state, params, noise)
    investors(q, state, params)
    new_state = ArrayBag({name: q[name] for name in (*FIRM_VARIABLES, *INTERNAL_STATE)})
    new_state.update(_market_totals(new_state, q))
    return new_state


def environment(q: ArrayBag, params: ModelParams, noise: ArrayBag) -> None:
    """Technology, prices and adoption this quarter, and each firm's research talent (a leader who
    has left takes ``talent_loss`` of its research efficiency). Writes ``now``, ``research_talent``."""
    q.now = environment_at(q.t, params, noise.demand_shock)
    firm = params.firm
    left = (firm.talent_loss_step >= 0.0) & (q.t >= firm.talent_loss_step)
    q.research_talent = np.where(left, 1.0 - firm.talent_loss, 1.0)


def market(q: ArrayBag, state: ArrayBag, params: ModelParams) -> None:
    """Demand that follows capability, market shares that move at the switching rate, AI revenue.

    Demand: adoption x potential (the environment) x a capability index that moves at the
    switching rate toward (best product on offer last quarter / anchor quality)^elasticity:
    customers take up what a better product can do as they reconsider. Shares: the demand that
    is new this quarter (growth of adoption x capability, `new_customer_share`) and a share
    ``switching_rate`` of the customers already served (and every customer of a firm that
    left) choose by the logit over last quarter's products; the others stay with their
    supplier (Klemperer 1987, 1995: switching costs lock in the installed base, new buyers are
    contested). Writes ``entered``, ``present``, ``capability_index``, ``new_customer_share``,
    ``ai_demand``, ``ai_demand_ahead``, ``market_share``, ``outside_share``, ``log_others``,
    ``top_utility``, ``ai_revenue``, ``ai_gross_profit``.
    """
    env, now = params.env, q.now
    q.entered = q.t >= params.firm.entry_step
    present = q.present = ActiveFirms(state.alive & q.entered)
    best = firm_max(present.only(state.product_quality))
    capability_target = _power(best / env.llm_anchor_quality, env.demand_capability_elasticity)
    q.capability_index = state.capability_index + env.switching_rate * (capability_target - state.capability_index)
    q.new_customer_share = new_customer_share(
        now.potential_demand_before * state.capability_index, now.potential_demand * q.capability_index
    )
    q.ai_demand = now.ai_demand * q.capability_index
    q.ai_demand_ahead = now.ai_demand_ahead * q.capability_index
    target, outside_target, q.log_others, q.top_utility = market_shares(state.product_quality, present, params)
    choosing = env.switching_rate + (1.0 - env.switching_rate) * q.new_customer_share
    q.market_share, q.outside_share = switched_shares(
        state.market_share, state.outside_share, target, outside_target, present, choosing
    )
    q.ai_revenue = present.only(q.ai_demand / 4.0 * q.market_share)
    q.ai_gross_profit = q.ai_revenue * env.gross_margin


def new_customer_share(demand_before: np.ndarray, demand_now: np.ndarray) -> np.ndarray:
    """Share of this quarter's demand that is new: 1 - before / now when demand grew, else 0
    (without the quarter's random variation, which moves spend, not customers)."""
    grew = demand_now > demand_before
    return np.where(grew, 1.0 - demand_before / np.where(grew, demand_now, 1.0), 0.0)


def switched_shares(
    shares: np.ndarray,
    outside: np.ndarray,
    target: np.ndarray,
    outside_target: np.ndarray,
    present: ActiveFirms,
    rate: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Shares after a quarter of switching: s = (1 - r) s_before + m s_target, where the movers
    m = r + (1 - r) * (share of firms no longer in the market) re-choose by the logit target.

    Shares and the outside option still add up to 1, and in a quarter with no exit no share
    moves by more than r.
    """
    orphaned = firm_sum(np.where(present.flags, 0.0, shares))
    stay = 1.0 - rate
    movers = rate + stay * orphaned
    return present.only(stay * shares + movers * target), stay * outside + movers * outside_target


def finance(q: ArrayBag, state: ArrayBag, params: ModelParams) -> None:
    """Income, committed costs, exits and wind-up, the AI budget, funding, payouts and cash.

    The budget is the firm's investment capacity (reinvestment rate x income, with the funding
    investors would supply, capped per quarter) times the share of it the firm chose last
    quarter (`decision`). A firm keeps a reserve of ``cash_reserve_quarters`` of spending: it
    raises only the funding it needs to stay at the reserve (cash above it is spent first), and
    it pays out cash above the reserve beyond that funding at ``payout_rate``, when its own
    earnings cover its spending (a lab living on investors' money reinvests). A firm that
    cannot pay its committed costs even with funding exits at the end of the quarter and is
    wound up.
    Writes ``core_profit``, ``funding``, ``income``, ``operating_cost``, ``alive``,
    ``active_firms`` (alive and entered, after exits), ``active``, ``budget``, ``payout``, ``cash``.
    """
    env = params.env
    c = run_constants(params)
    present = q.present
    core = present.only(c.core_profit_per_quarter * c.core_growth_factor ** (q.t / 4.0))
    offered = present.only(np.minimum(c.funding_rate_per_quarter * state.valuation, env.max_funding_per_quarter))
    operating = present.only(c.operating_costs_per_quarter * q.now.compute_cost_index)
    earnings = core + q.ai_gross_profit
    available = state.cash + earnings + offered - operating
    q.alive = state.alive & ~(present.flags & (available < 0.0))
    active = q.active_firms = ActiveFirms(q.alive & q.entered)
    q.active = active.flags
    capacity = params.firm.reinvestment_rate * (earnings + offered) * state.investment_share
    q.budget = active.only(np.clip(capacity, 0.0, np.maximum(available, 0.0)))
    excess = available - q.budget - env.cash_reserve_quarters * (operating + q.budget)
    unneeded = np.clip(excess, 0.0, offered)  # funding not raised: cash above the reserve comes first
    self_funded = earnings - operating - q.budget > 0.0
    q.payout = active.only(np.where(self_funded, env.payout_rate * np.maximum(excess - offered, 0.0), 0.0))
    q.funding = offered - unneeded
    q.income = earnings + q.funding
    # = last cash + income - operating - budget - payout, in the order that makes a budget clipped
    # to what is available leave exactly 0 (not a rounding error below it)
    q.cash = np.where(q.alive, available - q.budget - unneeded - q.payout, 0.0)
    q.core_profit = core  # a firm that exits does so at the end of the quarter
    q.operating_cost = operating


def decision(q: ArrayBag, state: ArrayBag, params: ModelParams) -> None:
    """Believed value of the next dollar on each path, the driver terms, the move of x, and how
    much of its investment capacity the firm will use next quarter.

    The drivers bend the believed value of the LLM path: believed LLM value = V_llm x
    exp(sum of driver terms). The firm invests fully where the better path is believed to beat
    the cost of capital over its horizon, and less where it does not (Tobin's q):
    target = min(1, (best believed value / (1 + cost_of_capital)^H)^investment_elasticity).
    Writes ``revenue_per_quality``, ``llm_carries_product``, ``share_if_wm``, ``value_llm``,
    ``value_wm``, the ``term_*`` variables, ``x_target``, ``x`` and ``investment_share``.
    """
    env, drivers, firm = params.env, params.drivers, params.firm
    c = run_constants(params)
    active = q.active_firms
    shares = q.market_share
    profit_pool = env.gross_margin * q.ai_demand_ahead  # $B per year at full uptake, mid-horizon
    q.revenue_per_quality = profit_pool * env.quality_sensitivity * shares * (1.0 - shares)
    q.llm_carries_product = llm_carries_product(state.llm_quality, state.wm_quality)
    weights = np.exp(state.log_weights_evidence), np.exp(state.log_weights_hope)  # (evidence, hope)
    evidence_return, q.belief_llm_return = believed_llm_returns(state, weights, q.now, params)
    value_llm = llm_value(evidence_return, q, params)

    q.share_if_wm = sigmoid(c.utility_at_wm_ceiling - q.top_utility - q.log_others)  # a world model at its ceiling
    planned_wm = (1.0 - state.x) * q.budget
    planned_llm = q.budget - planned_wm  # this quarter's LLM budgets at last quarter's split: rivals see them
    evidence_payoff, hoped_payoff = world_model_payoffs(q, state.compute, weights, planned_llm, params)
    progress = np.where(
        state.wm_breakthrough,
        np.exp(-state.wm_capital / env.wm_development_scale) / env.wm_development_scale,
        _breakthrough_time_per_dollar(state, planned_wm, q.research_talent, params),
    )
    value_wm = evidence_payoff * progress

    drivers_terms = ArrayBag(
        term_revenue_feedback=drivers.revenue_feedback * q.ai_revenue / np.maximum(q.income, TINY),
        term_competitive_pressure=c.competitive_weight * rival_spend_share(planned_llm, active),
        term_scaling_optimism=np.log(q.belief_llm_return + TINY)
        - np.log(evidence_return + TINY)
        - np.log(hoped_payoff + TINY)
        + np.log(evidence_payoff + TINY),
        term_sunk_cost=c.sunk_cost_weight * state.llm_sunk / np.maximum(state.llm_sunk + state.wm_sunk, TINY),
        term_investor_pressure=c.investor_weight * state.x,
    )
    for name in drivers_terms:  # the drivers hold a firm to LLMs only while LLMs carry its product
        drivers_terms[name] = drivers_terms[name] * q.llm_carries_product
    bend = sum(drivers_terms.values())
    terms = ArrayBag(
        term_value=np.clip(np.log(value_llm + TINY) - np.log(value_wm + TINY), -LOGIT_CLIP, LOGIT_CLIP),
        **drivers_terms,
    )
    for name in terms:
        terms[name] = active.only(terms[name])
    x_target = sigmoid(sum(terms.values()) / env.decision_temperature)
    moved = allocation_step(state.x, x_target, q.llm_carries_product, firm.adjustment_speed, c.x_max)
    believed_llm = value_llm * np.exp(np.minimum(bend, LOGIT_CLIP))
    invest_target = investment_target(np.maximum(believed_llm, value_wm), params)
    q.update(terms)
    q.x = active.only(moved, state.x)
    q.x_target = active.only(x_target, state.x_target)
    q.investment_share = active.only(
        investment_step(state.investment_share, invest_target, firm.adjustment_speed), state.investment_share
    )
    q.value_llm = active.only(value_llm)
    q.value_wm = active.only(value_wm)


def allocation_step(
    x: np.ndarray, target: np.ndarray, carries: np.ndarray, speed: np.ndarray, x_max: np.ndarray
) -> np.ndarray:
    """The firm's new allocation x: a share ``speed`` of the way toward its target, the target scaled by
    whether LLMs still carry its product (no LLM scaling for a product that runs on world models), and
    never above ``x_max`` (the cap the protected world-model budget sets)."""
    return np.minimum(x + speed * (target * carries - x), x_max)


def investment_step(share: np.ndarray, target: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """The share of its investment capacity the firm uses next quarter: a share ``speed`` of the way
    toward its target."""
    return share + speed * (target - share)


def llm_value(llm_return: np.ndarray, q: ArrayBag, params: ModelParams) -> np.ndarray:
    """Value of the next LLM dollar ($ per $): the quality it buys x the gross profit a unit of quality
    brings over the horizon, as far as the LLM carries the firm's product."""
    return llm_return * q.revenue_per_quality * params.env.planning_horizon_years * q.llm_carries_product


def llm_carries_product(llm_quality: np.ndarray, wm_quality: np.ndarray) -> np.ndarray:
    """How much of a firm's product its LLM carries (a smooth max of the two paths' qualities):
    1 while the LLM is clearly better, 1/2 when they are equal, near 0 once the world model is better."""
    return sigmoid((llm_quality - wm_quality) / PATH_SWITCH_WIDTH)


def world_model_payoffs(
    q: ArrayBag, compute: np.ndarray, weights: tuple, planned_llm: np.ndarray, params: ModelParams
) -> tuple[np.ndarray, np.ndarray]:
    """Gross profit over the horizon that a world model at its ceiling would add, believed
    (evidence, firm): against the LLM the firm expects to have at mid-horizon under each ceiling it
    considers, at its current LLM spend. A real option (Dixit & Pindyck 1994): it pays most if the
    ceiling is low, so it is worth most to a firm unsure of the miracle, and little to one sure of it.
    ``weights`` are the (evidence, hope) weights on the ceilings weighed."""
    env = params.env
    quarters = 4.0 * env.planning_horizon_years
    compute_mid = compute + quarters / 2.0 * (rd_compute(planned_llm, q.now, params) * q.now.algorithmic_multiplier)
    pool = env.gross_margin * q.ai_demand_ahead * env.planning_horizon_years
    ceilings, scales = believed_ceilings(params)
    share_llm = sigmoid(
        utilities(llm_quality(compute_mid, env, scales, ceilings), params) - q.top_utility - q.log_others
    )
    payoffs = pool * np.maximum(q.share_if_wm - share_llm, 0.0)  # (G, F) + batch
    return _average(payoffs, weights[0]), _average(payoffs, weights[1])


def believed_llm_returns(
    state: ArrayBag, weights: tuple, now: ArrayBag, params: ModelParams
) -> tuple[np.ndarray, np.ndarray]:
    """What the next $1B of LLM spend buys (quality per $B), believed (evidence, firm): the slope of
    the scaling law at the firm's compute under each ceiling it weighs, averaged with the weights
    of the unbiased evidence and of the firm's own (hopeful) belief."""
    slopes = llm_slopes_by_ceiling(state.compute, params)
    per_dollar = llm_compute_per_dollar(now, params)
    return _average(slopes, weights[0]) * per_dollar, _average(slopes, weights[1]) * per_dollar


def llm_slopes_by_ceiling(compute: np.ndarray, params: ModelParams) -> np.ndarray:
    """The scaling law's slope (quality per unit of effective compute) at the firm's compute under each
    ceiling firms weigh: (G, F) + batch."""
    ceilings, scales = believed_ceilings(params)
    return llm_quality_slope(compute, params.env, scales, ceilings)


def llm_compute_per_dollar(now: ArrayBag, params: ModelParams) -> np.ndarray:
    """Effective R&D compute a $1B of LLM spend buys this quarter."""
    return now.compute_per_dollar * now.algorithmic_multiplier * run_constants(params).rd_share_of_llm_spend


def _average(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The average of ``values`` (leading axis: the ceilings) with weights that sum to 1."""
    return np.sum(weights * values, axis=0)


def rd_compute(llm_spend: np.ndarray, now: ArrayBag, params: ModelParams) -> np.ndarray:
    """Physical R&D compute (experiments and final runs) that LLM spend buys this quarter:
    spend x (1 - staff_share)(1 - inference_share) x compute per dollar."""
    return llm_spend * run_constants(params).rd_share_of_llm_spend * now.compute_per_dollar


def investment_target(believed_value: np.ndarray, params: ModelParams) -> np.ndarray:
    """Share of its investment capacity a firm wants to use: 1 where the believed value of the next
    dollar (gross profit over the horizon per dollar) beats the cost of capital compounded over the
    horizon, else (value / hurdle)^investment_elasticity (Tobin's q; Dixit & Pindyck 1994)."""
    env = params.env
    hurdle = (1.0 + env.cost_of_capital) ** env.planning_horizon_years
    return np.minimum(_power(believed_value / hurdle, env.investment_elasticity), 1.0)


def rival_spend_share(llm_spend: np.ndarray, present: ActiveFirms) -> np.ndarray:
    """Rivals' mean planned LLM spend / (that mean + the firm's own), in [0, 1]: 1/2 when a firm
    matches its rivals, more when it falls behind them (0 with no rivals or no spend)."""
    spend = present.only(llm_spend)
    rivals = np.maximum(firm_sum(present.flags.astype(float)) - 1.0, 1.0)
    rival_mean = (firm_sum(spend) - spend) / rivals
    return rival_mean / np.maximum(rival_mean + spend, TINY)


def llm_scaling(q: ArrayBag, state: ArrayBag, params: ModelParams) -> None:
    """LLM spend buys staff and compute; compute serves customers (inference) or R&D (experiments and
    the final frontier training run); R&D compute raises quality along the scaling law; the true
    payback of the next dollar; energy and the cost of the final run.

    Writes ``llm_spend``, ``wm_spend``, ``compute_bought``, ``final_run_compute``, ``final_run_cost``,
    ``compute``, ``llm_quality``, ``llm_payback``, ``energy``, ``llm_sunk``, ``wm_sunk``.
    """
    env = params.env
    c = run_constants(params)
    scale = llm_compute_scale(params)
    now = q.now
    q.llm_spend = q.x * q.budget
    q.wm_spend = q.budget - q.llm_spend
    q.compute_bought = q.llm_spend * c.compute_share_of_llm_spend * now.compute_per_dollar
    research = rd_compute(q.llm_spend, now, params)
    q.final_run_compute = env.final_run_share * research
    q.final_run_cost = env.final_run_share * c.rd_share_of_llm_spend * q.llm_spend
    q.compute = state.compute + research * now.algorithmic_multiplier
    q.llm_quality = llm_quality(q.compute, env, scale)
    q.llm_payback = q.active_firms.only(
        llm_quality_slope(state.compute, env, scale)
        * now.compute_per_dollar
        * now.algorithmic_multiplier
        * c.rd_share_of_llm_spend
        * q.revenue_per_quality
        * env.planning_horizon_years
        * q.llm_carries_product
    )
    q.energy = research * now.energy_per_compute
    q.llm_sunk = state.llm_sunk + q.llm_spend
    q.wm_sunk = state.wm_sunk + q.wm_spend


def world_model_research(q: ArrayBag, state: ArrayBag, params: ModelParams, noise: ArrayBag) -> None:
    """Knowledge from own research and spillovers, breakthrough lotteries, product development.

    Once a firm has shown a breakthrough can be done, it is easier for the others
    (``follower_ease``), but only after the imitation lag (`imitation_lag`).
    Writes ``wm_knowledge``, ``new_breakthrough``, ``imitation_step``, ``wm_breakthrough``, ``breakthrough_step``,
    ``wm_capital``, ``wm_quality``, ``product_quality``.
    """
    env, firm = params.env, params.firm
    c = run_constants(params)
    active = q.active_firms
    own_knowledge = active.only(knowledge_gain(q.wm_spend, c.knowledge_yield * q.research_talent, env))
    shared = firm.openness * own_knowledge
    published = firm_sum(shared)
    absorbed = active.only(env.spillover * (published - shared))
    q.wm_knowledge = state.wm_knowledge + own_knowledge + absorbed

    anyone_before = firm_any(state.wm_breakthrough)
    shown = anyone_before & (state.imitation_step >= 0.0) & (q.t >= state.imitation_step)
    difficulty = env.wm_difficulty * np.where(shown, 1.0 - env.follower_ease, 1.0)
    hazard = -np.expm1(-env.wm_hazard_rate * _power(q.wm_knowledge / difficulty, env.wm_hazard_exponent))
    q.new_breakthrough = active.flags & ~state.wm_breakthrough & (noise.breakthrough_draw < hazard)
    first = ~anyone_before & firm_any(q.new_breakthrough)
    q.imitation_step = np.where(first, q.t + imitation_lag(q.new_breakthrough, params), state.imitation_step)
    q.wm_breakthrough = state.wm_breakthrough | q.new_breakthrough
    q.breakthrough_step = np.where(q.new_breakthrough, float(q.t), state.breakthrough_step)
    q.wm_capital = state.wm_capital + np.where(state.wm_breakthrough, q.wm_spend, 0.0)
    shipped = q.wm_breakthrough & (q.t - q.breakthrough_step >= env.wm_development_quarters)
    q.wm_quality = np.where(shipped, -env.wm_ceiling * np.expm1(-q.wm_capital / env.wm_development_scale), 0.0)
    q.product_quality = np.maximum(q.llm_quality, q.wm_quality)


def imitation_lag(breakers: np.ndarray, params: ModelParams) -> np.ndarray:
    """Quarters until followers learn how the first breakthrough was made: imitation_lag_quarters
    x (1 - openness of the most open first breaker), rounded up (Mansfield 1985: most of what a
    firm develops leaks to rivals within a year or so; publishing shortens it)."""
    openness = firm_max(np.where(breakers, params.firm.openness, 0.0))
    return np.ceil(params.env.imitation_lag_quarters * (1.0 - openness))


def beliefs(q: ArrayBag, state: ArrayBag, params: ModelParams, noise: ArrayBag) -> None:
    """Learning from evidence (strategic experimentation; Bolton & Harris 1999, Keller, Rady &
    Cripps 2005).

    The LLM ceiling: each firm weighs CEILING_GRID ceilings from the dead end to the miracle. It
    observes this quarter's quality gain with lognormal noise and adds ``belief_learning_rate``
    times the log-likelihood of that observation to the log-weight of each ceiling. An unbiased
    observer's weights (``log_weights_evidence``) start equal; the firm's own
    (``log_weights_hope``) start tilted toward high ceilings by ln(1 + optimism) from the lowest to
    the highest, and take evidence that favours the lowest ceiling over a higher one at
    1 / (1 + optimism) of its weight (asymmetric updating, Eil & Rao 2011), so hope fades with
    evidence at a speed the bias sets.
    World models: each quarter without a breakthrough raises the believed difficulty so that the
    believed log hazard falls by ``belief_learning_rate`` times the chance the firm gave it
    (failed research teaches); a rival's breakthrough lowers it (herding).
    Writes ``log_weights_evidence``, ``log_weights_hope``, ``evidence_ceiling``, ``believed_ceiling``,
    ``believed_difficulty``.
    """
    env, c = params.env, run_constants(params)
    a = env.llm_scaling_exponent
    added = q.compute - state.compute
    observed = q.active_firms.flags & (added > 0.0)
    added = np.where(observed, added, 1.0)  # no observation: any finite stand-in, masked below
    sd = env.belief_noise
    seen = log_quality_gain(state.compute, added, env.llm_ceiling, a, llm_compute_scale(params))
    seen = seen + sd * noise.belief_shock - 0.5 * sd * sd
    ceilings, scales = believed_ceilings(params)
    # under each ceiling the log of the noisy gain is normal around ln(gain) - sd^2/2 (mean-one noise)
    expected = log_quality_gain(state.compute, added, ceilings, a, scales) - 0.5 * sd * sd
    log_likelihood = np.where(observed, -((seen - expected) ** 2) / (2.0 * sd * sd), 0.0)
    step = env.belief_learning_rate * log_likelihood
    against_higher = step - step[:1]  # what this observation says for each ceiling against the lowest
    # bad news for higher ceilings counts 1 / (1 + optimism): step[:1] + against / (1 + optimism), written
    # so that with no optimism it is step itself, bit for bit
    hoping = step - np.where(against_higher < 0.0, against_higher * (c.optimism / (1.0 + c.optimism)), 0.0)
    q.log_weights_evidence = _normalised(state.log_weights_evidence + step)
    q.log_weights_hope = _normalised(state.log_weights_hope + hoping)
    q.evidence_ceiling = _average(ceilings, np.exp(q.log_weights_evidence))
    q.believed_ceiling = _average(ceilings, np.exp(q.log_weights_hope))

    g = env.wm_hazard_exponent
    believed_hazard = -np.expm1(-env.wm_hazard_rate * _power(q.wm_knowledge / state.believed_difficulty, g))
    tried = q.active_firms.flags & ~q.wm_breakthrough & (q.wm_spend > 0.0)
    failed = state.believed_difficulty * np.exp(np.where(tried, env.belief_learning_rate * believed_hazard / g, 0.0))
    breaker_knowledge = firm_min(np.where(q.new_breakthrough, q.wm_knowledge, np.inf))
    q.believed_difficulty = np.minimum(failed, breaker_knowledge * (1.0 - env.follower_ease))


def _normalised(log_weights: np.ndarray) -> np.ndarray:
    """Log-weights shifted to sum to 1 as weights (over the leading axis), none below e^-60."""
    top = np.max(log_weights, axis=0, keepdims=True)
    shifted = log_weights - top
    shifted = shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))
    return np.maximum(shifted, -60.0)


def investors(q: ArrayBag, state: ArrayBag, params: ModelParams) -> None:
    """Investor confidence from standing and visible retreat, and the valuation it supports.

    Investors judge a firm by the product it has or, after a breakthrough, the one it will have;
    a lab with neither yet (a world-model start-up) is judged on its promise: neutral.
    Writes ``confidence``, ``valuation``.
    """
    env = params.env
    active = q.active_firms
    best_quality = firm_max(active.only(q.product_quality))
    prospective = np.maximum(q.product_quality, np.where(q.wm_breakthrough, env.wm_ceiling, 0.0))
    standing = np.where(prospective > 0.0, (prospective - best_quality) / np.maximum(best_quality, TINY), 0.0)
    retreat = np.maximum(state.x - q.x, 0.0) * q.llm_carries_product  # only from an LLM that carries the product
    confidence_target = np.maximum(1.0 + env.standing_weight * np.minimum(standing, 0.0), 0.0)
    confidence = state.confidence + env.confidence_speed * (confidence_target - state.confidence)
    confidence = np.maximum(confidence * (1.0 - env.retreat_penalty * retreat), 0.0)
    q.confidence = np.where(active.flags, confidence, np.where(q.entered, 0.0, state.confidence))  # entrants wait at 1
    prospect = np.where(q.wm_breakthrough, env.prospect_weight * q.share_if_wm * q.ai_demand_ahead, 0.0)
    fair = q.confidence * (params.firm.base_valuation + env.revenue_multiple * np.maximum(4.0 * q.ai_revenue, prospect))
    q.valuation = np.minimum(fair, env.max_valuation)


def _breakthrough_time_per_dollar(
    state: ArrayBag, planned_wm: np.ndarray, talent: np.ndarray, params: ModelParams
) -> np.ndarray:
    """Believed gain, per extra $1B, in the share of the horizon spent with a breakthrough.

    With a constant hazard rate lam*(K/K_b)^g per quarter over a horizon of n quarters, the
    expected share of the horizon after the breakthrough is F(y) = 1 - (1 - e^-y)/y, where
    y = rate * n. The firm projects its knowledge to mid-horizon at its current spend and
    uses its believed difficulty K_b. Unlike the bare breakthrough chance, F keeps rewarding
    spend that brings a near-certain breakthrough sooner.
    """
    env = params.env
    quarters = 4.0 * env.planning_horizon_years
    c = run_constants(params)
    gain_now = knowledge_gain(planned_wm, c.knowledge_yield * talent, env)
    knowledge_per_dollar = (
        c.knowledge_per_dollar_at_zero * talent * (1.0 + planned_wm / env.wm_spend_scale) ** (env.wm_returns - 1.0)
    )
    believed = state.believed_difficulty
    projected = np.maximum(state.wm_knowledge + quarters / 2.0 * gain_now, 1e-3 * believed)
    g = env.wm_hazard_exponent
    y = np.minimum(env.wm_hazard_rate * quarters * _power(projected / believed, g), Y_CAP)
    small = y < 1e-3
    y_safe = np.where(small, 1.0, y)
    slope = np.where(small, 0.5 - y / 3.0, (-np.expm1(-y_safe) - y_safe * np.exp(-y_safe)) / y_safe / y_safe)
    return knowledge_per_dollar * g * y / projected * slope


def _market_totals(s: ArrayBag, q: ArrayBag) -> ArrayBag:
    """Per-quarter market-wide outputs (shape (1,) + batch)."""
    now, outside_share, active = q.now, q.outside_share, q.active_firms

    llm, wm = firm_sum(s.llm_spend), firm_sum(s.wm_spend)
    inside = np.maximum(1.0 - outside_share, TINY)
    return ArrayBag(
        year=now.year,
        compute_cost_index=now.compute_cost_index,
        energy_price_index=now.energy_price_index,
        compute_per_dollar=now.compute_per_dollar,
        algorithmic_multiplier=now.algorithmic_multiplier,
        ai_demand=q.ai_demand,
        capability_index=q.capability_index,
        new_customer_share=q.new_customer_share,
        outside_share=outside_share,
        hhi=10000.0 * firm_sum((s.market_share / inside) ** 2),
        total_llm_spend=llm,
        total_wm_spend=wm,
        llm_spend_share=llm / np.maximum(llm + wm, TINY),
        best_llm_quality=firm_max(active.only(s.llm_quality)),
        best_wm_quality=firm_max(active.only(s.wm_quality)),
        total_compute_bought=firm_sum(s.compute_bought),
        frontier_run_compute=firm_max(s.final_run_compute),
        energy_use=firm_sum(s.energy),
        firms_alive=firm_sum(active.flags.astype(float)),
        breakthroughs=firm_sum(s.wm_breakthrough.astype(float)),
        imitation_step=q.imitation_step,
    )


def _initial_beliefs(params: ModelParams, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Equal weights on every ceiling for the evidence; for the firm, tilted toward high ceilings by
    ln(1 + optimism) from the lowest to the highest."""
    ceilings, _ = believed_ceilings(params)
    z = np.linspace(0.0, 1.0, CEILING_GRID).reshape((-1,) + (1,) * len(shape))
    evidence = _normalised(np.zeros((CEILING_GRID, *shape)))
    hope = _normalised(z * np.log1p(run_constants(params).optimism))
    return {
        "log_weights_evidence": evidence,
        "log_weights_hope": hope,
        "evidence_ceiling": _average(ceilings, np.exp(evidence)),
        "believed_ceiling": _average(ceilings, np.exp(hope)),
    }


def initial_state(params: ModelParams) -> ArrayBag:
    """The state before the first quarter (every firm and market variable, flows at 0)."""
    env, firm = params.env, params.firm
    shape = firm.initial_cash.shape
    zeros = np.zeros(shape)
    scale = llm_compute_scale(params)
    compute = firm.initial_compute.copy()
    quality = llm_quality(compute, env, scale)
    present = firm.entry_step <= 0
    shares, outside = market_shares(quality, ActiveFirms(present), params)[:2]
    best = firm_max(np.where(present, quality, 0.0))
    capability = np.ones_like(best)
    demand = environment_at(0, params, np.zeros(env.steps.shape)).ai_demand * capability
    state = ArrayBag({name: zeros.copy() for name in FIRM_VARIABLES})
    state.update(
        alive=np.ones(shape, dtype=bool),
        active=present,
        wm_breakthrough=np.zeros(shape, dtype=bool),
        cash=firm.initial_cash.copy(),
        x=np.minimum(firm.initial_allocation, 1.0 - firm.wm_floor),
        x_target=firm.initial_allocation.copy(),
        compute=compute,
        llm_quality=quality,
        product_quality=quality.copy(),
        wm_knowledge=firm.initial_wm_knowledge.copy(),
        breakthrough_step=np.full(shape, -1.0),
        llm_sunk=firm.initial_compute / (env.compute_per_dollar * run_constants(params).rd_share_of_llm_spend),
        **_initial_beliefs(params, shape),
        believed_difficulty=np.broadcast_to(env.wm_difficulty_belief, shape).copy(),
        market_share=shares,
        investment_share=np.ones(shape),
        confidence=np.ones(shape),
        valuation=np.minimum(firm.base_valuation + env.revenue_multiple * demand * shares, env.max_valuation),
        outside_share=outside,
        capability_index=capability,
        imitation_step=np.full(best.shape, -1.0),
    )
    return state
