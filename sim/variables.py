"""The model's output variables: name -> (unit, description).

`sim.mechanisms` produces exactly these arrays every quarter; the tables, the docs and
the UI read their units and meanings from here.
"""

FIRM_VARIABLES: dict[str, tuple[str, str]] = {
    "alive": ("flag", "Still in business (a firm that cannot pay its committed costs exits and is wound up)"),
    "active": ("flag", "Alive and entered the market"),
    "cash": ("$B", "Cash at the end of the quarter"),
    "core_profit": ("$B per quarter", "Profit of the non-AI business"),
    "ai_revenue": ("$B per quarter", "Revenue from AI products"),
    "ai_gross_profit": ("$B per quarter", "AI revenue after inference costs"),
    "funding": ("$B per quarter", "Money raised from investors"),
    "income": ("$B per quarter", "Core profit + AI gross profit + funding"),
    "operating_cost": ("$B per quarter", "Committed costs paid before R&D"),
    "budget": ("$B per quarter", "AI R&D budget (LLM spend + world-model spend)"),
    "payout": ("$B per quarter", "Cash above the reserve paid to shareholders"),
    "investment_share": ("share", "Share of its most AI investment the firm chooses (1: AI beats the cost of capital)"),
    "market_share": (
        "share",
        "Share of AI buyers (the outside option takes the rest); moves with switchers and new demand",
    ),
    "x": ("share", "Share of the AI budget put into LLM scaling"),
    "x_target": ("share", "Allocation the firm would choose with no inertia"),
    "llm_spend": ("$B per quarter", "Spend on LLM scaling"),
    "wm_spend": ("$B per quarter", "Spend on world-model research"),
    "compute_bought": ("1e24 FLOP per quarter", "Compute LLM spend bought this quarter (inference and R&D)"),
    "final_run_compute": ("1e24 FLOP per quarter", "Compute put into the firm's final frontier training run"),
    "final_run_cost": ("$B per quarter", "Cost of that compute (the final run's hardware and energy)"),
    "compute": ("1e24 FLOP", "Cumulative effective R&D compute (physical x algorithmic efficiency)"),
    "llm_quality": ("quality", "LLM quality from the scaling law"),
    "wm_knowledge": ("knowledge", "World-model knowledge (own research plus spillovers)"),
    "wm_breakthrough": ("flag", "Has made its world-model breakthrough"),
    "breakthrough_step": ("quarter", "Quarter of the firm's breakthrough (-1: none yet)"),
    "wm_capital": ("$B", "World-model spend since the breakthrough (develops the product)"),
    "wm_quality": ("quality", "World-model product quality (0 until the product ships after the breakthrough)"),
    "product_quality": ("quality", "Quality of the firm's product: the better of its two paths"),
    "llm_sunk": ("$B", "Cumulative LLM spend (sunk cost)"),
    "wm_sunk": ("$B", "Cumulative world-model spend (sunk cost)"),
    "belief_llm_return": ("quality per $B", "What the firm believes the next $1B of LLM spend buys"),
    "believed_ceiling": ("quality", "The LLM ceiling the firm expects, with its optimism"),
    "evidence_ceiling": ("quality", "The LLM ceiling the same evidence makes an unbiased observer expect"),
    "believed_difficulty": ("knowledge", "What the firm believes the world-model difficulty K* is"),
    "value_llm": ("$ per $", "Believed value of the next dollar on LLMs"),
    "value_wm": ("$ per $", "Believed value of the next dollar on world models"),
    "llm_payback": ("$ per $", "True value of the next LLM dollar (the modeller's view; < 1: no payback)"),
    "confidence": ("index", "Investor confidence (1: neutral)"),
    "valuation": ("$B", "Market valuation of the firm's AI business"),
    "energy": ("GWh per quarter", "Energy used by the firm's LLM R&D compute (experiments and training runs)"),
    "term_value": ("logit", "Decision term: log ratio of believed values (the expected-value part)"),
    "term_revenue_feedback": ("logit", "Decision term: revenue feedback driver"),
    "term_competitive_pressure": ("logit", "Decision term: competitive pressure driver"),
    "term_scaling_optimism": ("logit", "Decision term: scaling optimism driver"),
    "term_sunk_cost": ("logit", "Decision term: sunk-cost driver"),
    "term_investor_pressure": ("logit", "Decision term: investor pressure driver"),
}

INTERNAL_STATE: tuple[str, ...] = ("log_weights_evidence", "log_weights_hope")
"""State the mechanisms carry from quarter to quarter that is not an output: each firm's log-weights
on the LLM ceilings it weighs (shape (ceilings, firms) + batch), unbiased and hopeful."""

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
    "compute_per_dollar": ("1e24 FLOP per $B", "Compute $1B of accelerator time buys this quarter"),
    "algorithmic_multiplier": ("x", "Effective compute per physical FLOP relative to the start"),
    "ai_demand": ("$B per year", "AI revenue available this quarter (potential x adoption x capability)"),
    "capability_index": ("x", "Best product quality on offer relative to the 2025 anchor, to the demand elasticity"),
    "new_customer_share": ("share", "Share of AI demand that is new this quarter (new buyers choose freely)"),
    "outside_share": ("share", "Share of buyers choosing no AI product"),
    "hhi": ("0-10000", "Herfindahl-Hirschman index of market concentration among AI firms"),
    "total_llm_spend": ("$B per quarter", "LLM spend of all firms"),
    "total_wm_spend": ("$B per quarter", "World-model spend of all firms"),
    "llm_spend_share": ("share", "LLM spend as a share of all AI R&D spend"),
    "best_llm_quality": ("quality", "Best LLM quality on offer"),
    "best_wm_quality": ("quality", "Best world-model quality on offer"),
    "total_compute_bought": ("1e24 FLOP per quarter", "Compute bought by all firms' LLM spend"),
    "frontier_run_compute": ("1e24 FLOP per quarter", "Largest final-training-run compute of any firm this quarter"),
    "energy_use": ("GWh per quarter", "Energy used by all firms' LLM R&D compute"),
    "firms_alive": ("count", "Firms in the market and still in business (firms yet to enter are not counted)"),
    "breakthroughs": ("count", "Firms that have made a world-model breakthrough"),
    "imitation_step": ("quarter", "Quarter from which followers know how the first breakthrough was made (-1: none)"),
}

FIRM_MEASURES: dict[str, tuple[str, str]] = {
    "pivot_step": (
        "quarter",
        "First quarter the firm put most of its budget into world models (x < 0.5); missing: never",
    ),
    "breakthrough_step": ("quarter", "Quarter of the firm's world-model breakthrough; missing: none"),
    "big_muddy_spend": ("$B", "LLM spend ($B) made while the next LLM dollar no longer paid back (payback < 1)"),
    "llm_spend": ("$B", "Total LLM spend ($B)"),
    "wm_spend": ("$B", "Total world-model spend ($B)"),
    "mean_x": ("share", "Mean share of the budget on LLMs while active"),
    "share_change": ("share", "Final market share minus the share in the first quarter"),
    "final_share": ("share", "Market share in the last quarter"),
    "final_cash": ("$B", "Cash at the end ($B)"),
    "final_llm_quality": ("quality", "LLM quality at the end"),
    "final_wm_quality": ("quality", "World-model quality at the end"),
    "final_wm_knowledge": ("knowledge", "World-model knowledge at the end"),
    "ai_profit": ("$B", "What the AI bet earned: AI gross profit minus AI R&D spend, summed over the run"),
    "alive": (
        "flag",
        "1 if the firm is still in business at the end, 0 if it exited, missing if it had not entered yet",
    ),
}
"""Per-firm, per-run summary measures (`sim.outputs.firm_summary_arrays`)."""

RUN_MEASURES: dict[str, tuple[str, str]] = {
    "first_breakthrough_step": ("quarter", "Quarter of the first world-model breakthrough; missing: none"),
    "first_pivot_step": ("quarter", "First quarter any firm pivoted to world models; missing: none"),
    "mean_pivot_step": (
        "quarter",
        "Mean pivot quarter over firms, a firm that never pivots counting as the last quarter + 1",
    ),
    "big_muddy_spend": ("$B", "LLM spend ($B) of all firms made after the LLM path stopped paying back"),
    "total_llm_spend": ("$B", "LLM spend of all firms ($B)"),
    "total_wm_spend": ("$B", "World-model spend of all firms ($B)"),
    "llm_spend_share": ("share", "LLM spend as a share of all AI R&D spend over the run"),
    "big_muddy_share": ("share", "Share of all LLM spend made in the big muddy"),
    "llm_focused_share_change": (
        "share",
        "Share gained (+) or lost (-), on average over the 8 quarters after the first world-model product "
        "better than every LLM ships, by the firms still LLM-focused then; missing: no world-model product",
    ),
    "first_shipper_top_quarters": (
        "quarters",
        "Quarters, of the 12 after the first world-model product better than every LLM "
        "ships, in which the firm that shipped it holds the largest market share; missing: no such product",
    ),
    "first_shipper_gains_most": (
        "flag",
        "1 if the firm that shipped the first world-model product better than every LLM "
        "gains more market share than any other firm in the 8 quarters after; missing: no such product",
    ),
    "max_llm_drift": (
        "share",
        "Largest rise of a firm's LLM share of budget (x) above its lowest value since its own "
        "world-model product overtook its LLM; 0: no firm drifted back; missing: no firm has such a product",
    ),
    "revenue_growth_4y": (
        "x",
        "Total AI revenue in the 17th quarter over the first (growth in four years); missing: shorter run",
    ),
    "compute_bought": ("1e24 FLOP", "Compute bought by all firms' LLM spend, inference and R&D (1e24 FLOP)"),
    "final_hhi": ("0-10000", "Market concentration (HHI, 0-10000) at the end"),
    "final_best_quality": ("quality", "Best product quality on offer at the end"),
    "firms_alive": ("count", "Firms in the market and still in business at the end"),
    "total_energy": ("GWh", "Energy used by LLM training over the run (GWh)"),
}
"""Per-run summary measures (`sim.outputs.run_summary_arrays`)."""
