"""The model's output variables: name -> (unit, description).

`sim.mechanisms` produces exactly these arrays every quarter; the tables, the docs and
the UI read their units and meanings from here.
"""

FIRM_VARIABLES: dict[str, tuple[str, str]] = {
    "alive": ("flag", "Still in business (a firm that cannot pay its committed costs exits)"),
    "active": ("flag", "Alive and entered the market"),
    "cash": ("$B", "Cash at the end of the quarter"),
    "core_profit": ("$B per quarter", "Profit of the non-AI business"),
    "ai_revenue": ("$B per quarter", "Revenue from AI products"),
    "ai_gross_profit": ("$B per quarter", "AI revenue after inference costs"),
    "funding": ("$B per quarter", "Money raised from investors"),
    "income": ("$B per quarter", "Core profit + AI gross profit + funding"),
    "operating_cost": ("$B per quarter", "Committed costs paid before R&D"),
    "budget": ("$B per quarter", "AI R&D budget (LLM spend + world-model spend)"),
    "market_share": ("share", "Share of AI buyers (the outside option takes the rest)"),
    "x": ("share", "Share of the AI budget put into LLM scaling"),
    "x_target": ("share", "Allocation the firm would choose with no inertia"),
    "llm_spend": ("$B per quarter", "Spend on LLM scaling"),
    "wm_spend": ("$B per quarter", "Spend on world-model research"),
    "compute": ("1e24 FLOP", "Cumulative effective training compute"),
    "llm_quality": ("quality", "LLM quality from the scaling law"),
    "wm_knowledge": ("knowledge", "World-model knowledge (own research plus spillovers)"),
    "wm_breakthrough": ("flag", "Has made its world-model breakthrough"),
    "breakthrough_step": ("quarter", "Quarter of the firm's breakthrough (-1: none yet)"),
    "wm_capital": ("$B", "World-model spend since the breakthrough (develops the product)"),
    "wm_quality": ("quality", "World-model product quality (0 before the breakthrough)"),
    "product_quality": ("quality", "Quality of the firm's product: the better of its two paths"),
    "llm_sunk": ("$B", "Cumulative LLM spend (sunk cost)"),
    "wm_sunk": ("$B", "Cumulative world-model spend (sunk cost)"),
    "belief_llm_return": ("quality per $B", "What the firm believes the next $1B of LLM spend buys"),
    "believed_difficulty": ("knowledge", "What the firm believes the world-model difficulty K* is"),
    "value_llm": ("$ per $", "Believed value of the next dollar on LLMs"),
    "value_wm": ("$ per $", "Believed value of the next dollar on world models"),
    "llm_payback": ("$ per $", "True value of the next LLM dollar (the modeller's view; < 1: no payback)"),
    "confidence": ("index", "Investor confidence (1: neutral)"),
    "valuation": ("$B", "Market valuation of the firm's AI business"),
    "energy": ("GWh per quarter", "Energy used by the firm's LLM training"),
    "term_value": ("logit", "Decision term: log ratio of believed values (the expected-value part)"),
    "term_revenue_feedback": ("logit", "Decision term: revenue feedback driver"),
    "term_competitive_pressure": ("logit", "Decision term: competitive pressure driver"),
    "term_scaling_optimism": ("logit", "Decision term: scaling optimism driver"),
    "term_sunk_cost": ("logit", "Decision term: sunk-cost driver"),
    "term_investor_pressure": ("logit", "Decision term: investor pressure driver"),
}

DRIVER_TERMS: dict[str, str] = {
    "revenue_feedback": "term_revenue_feedback",
    "competitive_pressure": "term_competitive_pressure",
    "scaling_optimism": "term_scaling_optimism",
    "sunk_cost": "term_sunk_cost",
    "investor_pressure": "term_investor_pressure",
}
"""Each driver's strength parameter -> the decision term it controls."""

MARKET_VARIABLES: dict[str, tuple[str, str]] = {
    "year": ("year", "Calendar time at the start of the quarter"),
    "compute_cost_index": ("index", "Price of compute relative to trend (1: no shock)"),
    "energy_price_index": ("index", "Energy price index (1: baseline)"),
    "compute_per_dollar": ("1e24 FLOP per $B", "Physical training compute $1B buys this quarter"),
    "algorithmic_multiplier": ("x", "Effective compute per physical FLOP relative to the start"),
    "ai_demand": ("$B per year", "AI revenue available at full uptake this quarter (adoption x potential)"),
    "outside_share": ("share", "Share of buyers choosing no AI product"),
    "hhi": ("0-10000", "Herfindahl-Hirschman index of market concentration among AI firms"),
    "total_llm_spend": ("$B per quarter", "LLM spend of all firms"),
    "total_wm_spend": ("$B per quarter", "World-model spend of all firms"),
    "llm_spend_share": ("share", "LLM spend as a share of all AI R&D spend"),
    "best_llm_quality": ("quality", "Best LLM quality on offer"),
    "best_wm_quality": ("quality", "Best world-model quality on offer"),
    "energy_use": ("GWh per quarter", "Energy used by all LLM training"),
    "firms_alive": ("count", "Firms still in business"),
    "breakthroughs": ("count", "Firms that have made a world-model breakthrough"),
}
