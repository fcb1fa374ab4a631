"""The baseline's path against published figures: inputs, calibration and validation targets.

Each target names the figure, its source and year, the acceptable range and why, and how the
model value is measured (the median over seeds of the baseline). Three kinds, never mixed:

- ``input``: the figure is set directly by a parameter (or by parameters chosen to reproduce
  it); listed apart and never counted as met;
- ``calibration``: parameters were chosen to meet it;
- ``validation``: no parameter was set from it; checked afterwards.

`calibration_table` computes them all; docs/MODEL.md and docs/VALIDATION.md carry the tables
(``make docs``) and the tests hold every met row within its range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.arrays import ArrayBag, ModelParams
from sim.ensemble import run_seeds
from sim.mechanisms import llm_compute_scale, llm_quality
from sim.params import Scenario
from sim.scenarios import load_scenario

BIG_TECH = ("Google-like", "Meta-like", "Microsoft-like", "Amazon-like")
LAB = "OpenAI-like"
HEDGER = "Meta-like"


KINDS = ("input", "calibration", "validation")


@dataclass(frozen=True)
class Target:
    """A published figure, its acceptable range and why, and how the model measures it."""

    figure: str
    source: str
    year: int
    target: str
    low: float
    high: float
    measure: Callable[[ArrayBag, Scenario], np.ndarray]
    how: str
    kind: str
    why: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"target '{self.figure}': kind '{self.kind}'; allowed: {', '.join(KINDS)}")


def _firm(history: ArrayBag, scenario: Scenario, name: str, variable: str) -> np.ndarray:
    """(T, R) series of one firm's variable."""
    return history[variable][..., [f.name for f in scenario.firms].index(name)]


def _in_year(history: ArrayBag, year: int) -> np.ndarray:
    """The quarters of a calendar year; a run that does not hold all four is refused."""
    in_year = np.floor(history.year[:, 0, 0] + 1e-9) == year
    if in_year.sum() != 4:
        raise ValueError(f"the run holds {int(in_year.sum())} of the 4 quarters of {year}: run more steps")
    return in_year


def _year(history: ArrayBag, series: np.ndarray, year: int) -> np.ndarray:
    """Sum of a quarterly (T, R) series over the four quarters of a calendar year."""
    return series[_in_year(history, year)].sum(axis=0)


def _quarter(history: ArrayBag, series: np.ndarray, year: int, quarter: int) -> np.ndarray:
    matches = np.nonzero(np.abs(history.year[:, 0, 0] - (year + (quarter - 1) / 4)) < 1e-6)[0]
    if matches.size == 0:
        raise ValueError(f"the run does not reach {year}Q{quarter}: run more steps")
    return series[matches[0]]


def frontier_run(h: ArrayBag, s: Scenario, year: int) -> dict[str, np.ndarray]:
    """The year's frontier training run, per run: compute (FLOP), cost ($B) and power (MW) of the
    firm whose final runs used the most compute that year (as `sim.outputs.frontier_training_table`)."""
    in_year = _in_year(h, year)
    compute = h.final_run_compute[in_year].sum(axis=0)  # (R, F)
    leader = np.argmax(compute, axis=-1)[:, None]
    env = s.environment
    energy = env.final_run_share * np.take_along_axis(h.energy[in_year].sum(axis=0), leader, axis=-1)[:, 0]
    return {
        "compute": np.take_along_axis(compute, leader, axis=-1)[:, 0] * 1e24,
        "cost": np.take_along_axis(h.final_run_cost[in_year].sum(axis=0), leader, axis=-1)[:, 0],
        "power": energy * 1000.0 / (24.0 * env.training_run_days),
    }


def _frontier_level(quantity: str, year: int) -> Callable[[ArrayBag, Scenario], np.ndarray]:
    def measure(h: ArrayBag, s: Scenario) -> np.ndarray:
        return frontier_run(h, s, year)[quantity]

    return measure


def _frontier_growth(quantity: str) -> Callable[[ArrayBag, Scenario], np.ndarray]:
    """Growth a year of the frontier run's ``quantity``, (2027 / 2025)^(1/2)."""

    def measure(h: ArrayBag, s: Scenario) -> np.ndarray:
        return np.sqrt(frontier_run(h, s, 2027)[quantity] / frontier_run(h, s, 2025)[quantity])

    return measure


def _total_ai_revenue_2025(h: ArrayBag, s: Scenario) -> np.ndarray:
    return _year(h, h.ai_revenue.sum(axis=-1), 2025)


def _hhi_end_2025(h: ArrayBag, s: Scenario) -> np.ndarray:
    return _quarter(h, h.hhi[..., 0], 2025, 4)


def _largest_share_move_2025(h: ArrayBag, s: Scenario) -> np.ndarray:
    """Largest change of any firm's market share over a year, 2025Q1 to 2026Q1 (points)."""
    share = h.market_share
    start, end = _quarter(h, share, 2025, 1), _quarter(h, share, 2026, 1)
    inside = 1.0 - h.outside_share[..., 0]
    start, end = start / _quarter(h, inside, 2025, 1)[:, None], end / _quarter(h, inside, 2026, 1)[:, None]
    return 100.0 * np.max(np.abs(end - start), axis=-1)


def _hardware_doubling(h: ArrayBag, s: Scenario) -> np.ndarray:
    cpd = h.compute_per_dollar[..., 0]
    return 3.0 * np.log(2) / np.log(_quarter(h, cpd, 2028, 1) / _quarter(h, cpd, 2025, 1))


def _algorithmic_halving(h: ArrayBag, s: Scenario) -> np.ndarray:
    algo = h.algorithmic_multiplier[..., 0]
    return 36.0 * np.log(2) / np.log(_quarter(h, algo, 2028, 1) / _quarter(h, algo, 2025, 1))


def _big_tech_capex_2025(h: ArrayBag, s: Scenario) -> np.ndarray:
    return sum(_year(h, _firm(h, s, name, "budget"), 2025) for name in BIG_TECH)


def _lab_run_rate(year: int, quarter: int) -> Callable[[ArrayBag, Scenario], np.ndarray]:
    def measure(h: ArrayBag, s: Scenario) -> np.ndarray:
        return 4.0 * _quarter(h, _firm(h, s, LAB, "ai_revenue"), year, quarter)

    return measure


def _lab_valuation(year: int, quarter: int) -> Callable[[ArrayBag, Scenario], np.ndarray]:
    def measure(h: ArrayBag, s: Scenario) -> np.ndarray:
        return _quarter(h, _firm(h, s, LAB, "valuation"), year, quarter)

    return measure


def _lab_funding_2025(h: ArrayBag, s: Scenario) -> np.ndarray:
    return _year(h, _firm(h, s, LAB, "funding"), 2025)


def _lab_growth_2025(h: ArrayBag, s: Scenario) -> np.ndarray:
    return _lab_run_rate(2025, 4)(h, s) / _lab_run_rate(2025, 1)(h, s)


def _hedger_side_bet(h: ArrayBag, s: Scenario) -> np.ndarray:
    """The smallest of the hedger's annual world-model spends in 2025, 2026 and 2027."""
    spend = _firm(h, s, HEDGER, "wm_spend")
    return np.min([_year(h, spend, y) for y in (2025, 2026, 2027)], axis=0)


def _scaling_slope(h: ArrayBag, s: Scenario) -> np.ndarray:
    """Fall of the gap to the LLM ceiling (the reducible loss) for 10x the frontier's 2025 compute."""
    params = ModelParams.from_scenario(s)
    scale = llm_compute_scale(params)
    frontier = np.max(params.firm.initial_compute)
    env = params.env
    gap = env.llm_ceiling - llm_quality(np.array([frontier, 10 * frontier]), env, scale)
    return np.full(h.x.shape[1], 1.0 - gap[1] / gap[0])


TARGETS: tuple[Target, ...] = (
    # --- inputs: set by a parameter, or by parameters chosen to reproduce the figure ---
    Target(
        "GPU FLOP per dollar doubling time",
        "Hobbhahn & Besiroglu 2022",
        2022,
        "about 2.5 years",
        2.25,
        2.75,
        _hardware_doubling,
        "doubling time of compute per dollar, 2025Q1-2028Q1 (years)",
        "input",
        "hardware_doubling_years is this figure",
    ),
    Target(
        "Compute for fixed capability halves",
        "Ho et al. 2024",
        2024,
        "about 8 months (5-14)",
        5.0,
        14.0,
        _algorithmic_halving,
        "halving time of the algorithmic multiplier, 2025Q1-2028Q1 (months)",
        "input",
        "algorithmic_halving_months is this figure",
    ),
    Target(
        "Reducible LLM loss per 10x compute",
        "Besiroglu et al. 2024 (Chinchilla refit)",
        2024,
        "falls about a third (34%)",
        0.31,
        0.37,
        _scaling_slope,
        "fall of the gap to the LLM ceiling for 10x the 2025 frontier compute",
        "input",
        "llm_scaling_exponent is set from it",
    ),
    Target(
        "Big Tech capital spending 2025",
        "company filings (MSFT, GOOGL, META, AMZN)",
        2025,
        "about $380B (2023: $151B, 2024: $246B)",
        323.0,
        437.0,
        _big_tech_capex_2025,
        "sum of the four Big Tech firms' 2025 AI budgets ($B), within 15%",
        "input",
        "the reinvestment rates were chosen to reproduce each firm's capital spending; and capital "
        "spending (data centres, much of it rented out as cloud) is a proxy for AI budgets",
    ),
    Target(
        "Meta keeps a long-term side bet",
        "Meta 10-K: Reality Labs operating losses",
        2025,
        "$16-19B a year in 2023-2025, continuing",
        12.0,
        24.0,
        _hedger_side_bet,
        "smallest annual world-model spend of the Meta-like firm in 2025-2027 ($B), within 25%",
        "input",
        "the Meta-like firm's wm_floor x budget sets it; and Reality Labs (mostly AR/VR hardware) is a "
        "proxy for world-model research",
    ),
    # --- calibration: parameters were chosen to meet these ---
    Target(
        "OpenAI annualised revenue, end of 2025",
        "company statements, press reports",
        2025,
        "$20B+ (2023: $2B, 2024: $6B)",
        17.0,
        30.0,
        _lab_run_rate(2025, 4),
        "OpenAI-like AI revenue in 2025Q4 x 4 ($B)",
        "calibration",
        "sets market_potential with the OpenAI-like firm's distribution; -15%/+50% because run rates "
        "quoted in the press vary by month and definition",
    ),
    Target(
        "OpenAI revenue growth through 2025",
        "company statements, press reports",
        2025,
        "about 3x in 2025 ($6B to $20B run rate)",
        2.0,
        4.5,
        _lab_growth_2025,
        "OpenAI-like run rate 2025Q4 / 2025Q1",
        "calibration",
        "sets adoption_rate and adoption_midpoint_year; wide because the start-of-year run rate is itself an estimate",
    ),
    Target(
        "Enterprise generative-AI spending 2025",
        "Menlo Ventures 2025 (n=495)",
        2025,
        "$37B (2024: $11.5B)",
        25.0,
        60.0,
        _total_ai_revenue_2025,
        "total AI revenue of all firms in 2025 ($B)",
        "calibration",
        "sets the level of demand with the OpenAI row; the model's market also holds consumer "
        "subscriptions, so the range reaches above the enterprise figure",
    ),
    Target(
        "OpenAI valuation, March 2025",
        "OpenAI statement, 31 March 2025 (SoftBank-led round)",
        2025,
        "$300B post-money",
        250.0,
        360.0,
        _lab_valuation(2025, 1),
        "OpenAI-like valuation in 2025Q1 ($B)",
        "calibration",
        "sets the OpenAI-like firm's base_valuation with the revenue multiple; +-20% for a private round's "
        "terms (preferences, tranches)",
    ),
    Target(
        "OpenAI valuation, October 2025",
        "press reports of the employee share sale (2 October 2025)",
        2025,
        "$500B (secondary sale of $6.6B)",
        400.0,
        650.0,
        _lab_valuation(2025, 4),
        "OpenAI-like valuation in 2025Q4 ($B)",
        "calibration",
        "sets revenue_multiple with the March round; wider above, since a secondary sale at a fixed mark "
        "lags the market",
    ),
    Target(
        "OpenAI new funding in 2025",
        "OpenAI statement and press reports (31 March 2025)",
        2025,
        "$40B round: $10B at once, $30B due by the end of 2025 (up to $10B less if the for-profit conversion lagged)",
        10.0,
        40.0,
        _lab_funding_2025,
        "funding the OpenAI-like firm raises in 2025 ($B)",
        "calibration",
        "sets the firm's funding_rate; from the first tranche alone to the whole round",
    ),
    # --- validation: no parameter was set from these ---
    Target(
        "Frontier training cost growth",
        "Cottier et al. 2024",
        2024,
        "2.4x per year (95% CI 2.0-3.1)",
        2.0,
        3.1,
        _frontier_growth("cost"),
        "cost of the year's frontier training run, (2027/2025)^(1/2)",
        "validation",
        "the published 95% interval",
    ),
    Target(
        "Frontier training compute growth",
        "Sevilla & Roldan (Epoch AI) 2024",
        2024,
        "4-5x per year (frontier LLMs about 5x since 2020)",
        3.0,
        6.0,
        _frontier_growth("compute"),
        "compute of the year's frontier training run, (2027/2025)^(1/2)",
        "validation",
        "the published range, widened by a fifth either side for a trend measured to 2024",
    ),
    Target(
        "Largest training run, 2025",
        "Epoch AI models database (Grok 4)",
        2025,
        "about 5e26 FLOP",
        1.7e26,
        1.5e27,
        _frontier_level("compute", 2025),
        "compute of the 2025 frontier training run (FLOP)",
        "validation",
        "a factor 3 either side: Epoch rates the estimate speculative",
    ),
    Target(
        "Cost of the largest training run, 2025",
        "Epoch AI (Grok 4 training resources)",
        2025,
        "about $490M (hardware and energy)",
        0.25,
        1.0,
        _frontier_level("cost", 2025),
        "cost of the 2025 frontier training run ($B, hardware and energy)",
        "validation",
        "a factor 2 either side: rental and amortised-capex methods agree, but the run itself is estimated",
    ),
    Target(
        "Power of the largest training run, 2025",
        "Epoch AI & EPRI 2025",
        2025,
        "over 100 MW (Grok 4 about 250 MW)",
        100.0,
        400.0,
        _frontier_level("power", 2025),
        "power drawn by the 2025 frontier training run over training_run_days (MW)",
        "validation",
        "from the published lower bound to 1.6x the largest single estimate",
    ),
    Target(
        "Power of the largest training run: growth",
        "Epoch AI 2024 (data insight), Epoch AI & EPRI 2025",
        2025,
        "2.1-2.2x per year (90% CI 1.9-2.2)",
        1.7,
        2.6,
        _frontier_growth("power"),
        "power of the year's frontier training run, (2027/2025)^(1/2)",
        "validation",
        "the published interval, widened by a fifth either side for a trend measured to 2025",
    ),
    Target(
        "Market concentration, end of 2025",
        "Menlo Ventures 2025: enterprise LLM API spend shares",
        2025,
        "Anthropic 40%, OpenAI 27%, Google 21%: HHI about 2,800",
        2000.0,
        3600.0,
        _hhi_end_2025,
        "HHI among AI firms in 2025Q4",
        "validation",
        "enterprise API spend is one segment of the model's AI market; business adoption shares "
        "(Ramp 2026: Anthropic 34%, OpenAI 32%) give about 2,300",
    ),
    Target(
        "How fast AI market shares move",
        "Menlo Ventures 2023-2025: enterprise LLM API spend shares",
        2025,
        "the biggest movers' shares move 7-16 points a year (OpenAI 50% -> 34% -> 27%; Anthropic 12% -> 24% -> 40%)",
        5.0,
        25.0,
        _largest_share_move_2025,
        "largest change of any firm's share of the AI market, 2025Q1 to 2026Q1 (points)",
        "validation",
        "from just below the smallest published move (7) to about 1.5x the largest (16); the model's measure is "
        "likewise the biggest mover's",
    ),
)


def calibration_table(
    scenario: Scenario | str = "baseline", seeds: Sequence[int] = range(100), history: ArrayBag | None = None
) -> pd.DataFrame:
    """Model value (median over seeds) of every target, with its range and whether it is met
    (an input is never counted as met: ``met`` is None). ``history``: the scenario already run
    over ``seeds``, when the caller has it."""
    scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
    history = run_seeds(scenario, list(seeds)) if history is None else history
    rows = []
    for target in TARGETS:
        values = target.measure(history, scenario)
        value = float(np.median(values))
        rows.append(
            {
                "figure": target.figure,
                "kind": target.kind,
                "source": target.source if str(target.year) in target.source else f"{target.source} ({target.year})",
                "published": target.target,
                "model": value,
                "model_p5": float(np.percentile(values, 5)),
                "model_p95": float(np.percentile(values, 95)),
                "low": target.low,
                "high": target.high,
                "range": f"{target.low:g} to {target.high:g}",
                "met": None if target.kind == "input" else bool(target.low <= value <= target.high),
                "measured_as": target.how,
                "why": target.why,
            }
        )
    return pd.DataFrame(rows)


def calibration_markdown(table: pd.DataFrame, kinds: Sequence[str] = KINDS) -> str:
    """The targets of the given kinds as a Markdown table (docs/MODEL.md, docs/VALIDATION.md)."""
    lines = [
        "| kind | figure | source | published | model (median, 100 seeds) | accepted range | met | measured as |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table[table.kind.isin(list(kinds))].itertuples(index=False):
        met = "input" if row.met is None else ("yes" if row.met else "**no**")
        cells = (row.kind, row.figure, row.source, row.published, f"{row.model:.3g}", row.range, met, row.measured_as)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
