"""Parameter controls generated from the parameter models (label, unit, range, help text).

Each input shows the field's description and allowed range, the single source of which is
`sim.params`. A value outside the range is refused with the reason shown under the input;
Reset applies the edited values.
"""

from __future__ import annotations

from collections.abc import Callable

import solara

from sim.params import Drivers, Environment, FirmTraits, field_bounds
from sim.policies import POLICIES
from viz.session import Session

ENVIRONMENT_GROUPS = {
    "Technology and prices": [
        "hardware_doubling_years",
        "algorithmic_halving_months",
        "compute_per_dollar",
        "energy_per_compute",
        "energy_price",
        "staff_share",
        "inference_share",
        "final_run_share",
        "training_run_days",
        "shock_step",
        "compute_price_shock",
        "energy_price_shock",
        "shock_half_life",
    ],
    "LLM scaling (hidden ceiling)": ["llm_ceiling", "llm_scaling_exponent", "llm_anchor_quality"],
    "World-model research": [
        "wm_productivity",
        "wm_returns",
        "wm_spend_scale",
        "wm_difficulty",
        "wm_difficulty_belief",
        "wm_hazard_rate",
        "wm_hazard_exponent",
        "spillover",
        "follower_ease",
        "imitation_lag_quarters",
        "wm_ceiling",
        "wm_development_scale",
        "wm_development_quarters",
    ],
    "Market": [
        "market_potential",
        "adoption_midpoint_year",
        "adoption_rate",
        "demand_capability_elasticity",
        "switching_rate",
        "quality_sensitivity",
        "outside_quality",
        "gross_margin",
        "demand_noise",
    ],
    "Investors and finance": [
        "cost_of_capital",
        "investment_elasticity",
        "cash_reserve_quarters",
        "payout_rate",
        "max_funding_per_quarter",
        "max_valuation",
        "revenue_multiple",
        "confidence_speed",
        "standing_weight",
        "prospect_weight",
        "retreat_penalty",
    ],
    "Beliefs and decisions": [
        "llm_ceiling_low_belief",
        "llm_ceiling_high_belief",
        "belief_learning_rate",
        "belief_noise",
        "planning_horizon_years",
        "decision_temperature",
    ],
    "Time": ["start_year", "steps"],
}


def label_for(model: type, name: str) -> str:
    """'llm ceiling (quality)' style label."""
    unit = (model.model_fields[name].json_schema_extra or {}).get("unit", "")
    words = name.replace("_", " ")
    return f"{words} ({unit})" if unit and unit != "-" else words


def help_for(model: type, name: str) -> str:
    """The field's description and its allowed range."""
    lo, hi = field_bounds(model, name)
    return f"{model.model_fields[name].description}. Allowed: {lo:g} to {hi:g}."


@solara.component
def ParameterInput(session: Session, path: str, model: type, name: str, on_change: Callable[[], None], version: int):
    """One numeric input with its help text and, if the value was refused, the reason.

    The typed text goes to the session as it is: the session parses it, so "nan", "inf" or "abc" are
    refused with a reason like any out-of-range value (Solara's InputFloat re-sends "nan" on every
    render, since nan != nan, and loops). ``version`` changes whenever the session changes, so the
    input redraws with it.
    """
    value = session.value(path)
    error = session.errors.get(path)

    def update(text: str):
        session.set_value(path, text)
        on_change()

    with solara.Column(gap="0px", style={"min-width": "240px", "max-width": "320px"}):
        solara.InputText(label_for(model, name), value=str(value), on_value=update, continuous_update=False)
        solara.Text(help_for(model, name), style={"font-size": "11px", "color": "#666"})
        if error:
            solara.Text(f"Refused: {error}", style={"font-size": "12px", "color": "#b00020"})


@solara.component
def PolicySelect(session: Session, path: str, on_change: Callable[[], None]):
    """The firm's decision policy (`sim.policies`), with a line on each."""
    value = session.value(path)
    names = list(dict.fromkeys([*POLICIES, value]))  # a scenario's own policy in code stays on the list

    def update(name: str):
        session.set_value(path, name)
        on_change()

    with solara.Column(gap="0px", style={"max-width": "640px"}):
        solara.Select("decision policy", value=value, values=names, on_value=update)
        solara.Text(
            f"{value}: {POLICIES[value][1]}" if value in POLICIES else f"{value}: a policy in code",
            style={"font-size": "11px", "color": "#666"},
        )


@solara.component
def ParameterPanel(session: Session, on_change: Callable[[], None], version: int):
    """Drivers, environment (by group) and one firm's traits, as editable inputs. A group or firm
    that is not offered (a crafted widget message) shows the first one."""
    group, set_group = solara.use_state(next(iter(ENVIRONMENT_GROUPS)))
    firm, set_firm = solara.use_state("")
    firm_names = [f["name"] for f in session.draft["firms"]]
    if group not in ENVIRONMENT_GROUPS:
        group = next(iter(ENVIRONMENT_GROUPS))
    if firm not in firm_names:
        firm = firm_names[0]

    solara.Markdown(
        "Edit values, then press **Reset** to rerun with them. "
        + ("*This scenario has unapplied or applied edits.*" if session.is_edited() else "")
    )
    solara.Markdown("#### Drivers (0 switches a driver off)")
    with solara.Row(style={"flex-wrap": "wrap"}):
        for name in Drivers.model_fields:
            ParameterInput(session, f"drivers.{name}", Drivers, name, on_change, version)
    solara.Markdown("#### Environment")
    solara.Select("Group", value=group, values=list(ENVIRONMENT_GROUPS), on_value=set_group)
    with solara.Row(style={"flex-wrap": "wrap"}):
        for name in ENVIRONMENT_GROUPS[group]:
            ParameterInput(session, f"environment.{name}", Environment, name, on_change, version)
    solara.Markdown("#### Firm traits")
    solara.Select("Firm", value=firm, values=firm_names, on_value=set_firm)
    PolicySelect(session, f"firms.{firm_names.index(firm)}.policy", on_change)
    with solara.Row(style={"flex-wrap": "wrap"}):
        for name in FirmTraits.model_fields:
            if name not in ("name", "policy"):
                ParameterInput(session, f"firms.{firm_names.index(firm)}.{name}", FirmTraits, name, on_change, version)
