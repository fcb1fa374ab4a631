"""Vega-Lite chart specs for the UI, built as plain dicts from the model's tables.

Every chart that has a time axis marks world-model breakthroughs with a dashed rule in the
breaking firm's colour. Charts render in the browser; each has a menu to save it as SVG
or PNG.
"""

from __future__ import annotations

import pandas as pd

WIDTH, HEIGHT = 330, 170
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
FIRM_CHARTS = {
    "x": ("Share of AI budget on LLMs", "share"),
    "quality": ("LLM (solid) and world-model (dashed) quality", "quality"),
    "market_share": ("Market share", "share"),
    "ai_revenue": ("AI revenue ($B per quarter)", "$B"),
    "cash": ("Cash ($B)", "$B"),
    "sunk": ("Sunk cost: LLM (solid), world models (dashed)", "$B"),
}
MARKET_CHARTS = {"energy_use": ("Energy used by LLM R&D compute (GWh per quarter)", "GWh")}


def _base(title: str, width: int = WIDTH, height: int = HEIGHT) -> dict:
    return {
        "$schema": SCHEMA,
        "title": {"text": title, "fontSize": 12, "anchor": "start"},
        "width": width,
        "height": height,
        "padding": {"left": 14, "top": 4, "right": 4, "bottom": 4},  # room for axis titles at the edge
        "config": {"legend": {"labelFontSize": 10, "titleFontSize": 10}, "axis": {"labelFontSize": 10}},
    }


def _x(domain: tuple[float, float] | None) -> dict:
    axis = {"field": "year", "type": "quantitative", "title": None, "axis": {"format": "d", "tickMinStep": 1}}
    if domain is not None:
        axis["scale"] = {"domain": list(domain)}
    return axis


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts for a Vega data set, NaN as None (JSON null)."""
    columns = [
        [None if v != v else v for v in values.tolist()] if values.dtype.kind == "f" else values.tolist()
        for values in (frame[c].to_numpy() for c in frame.columns)
    ]
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def breakthrough_rules(table: pd.DataFrame) -> list[dict]:
    """(year, firm) of each breakthrough so far."""
    if table.empty:
        return []
    new = table[(table.breakthrough_step == table.step) & table.wm_breakthrough.astype(bool)]
    return [
        {"year": float(y), "firm": f, "event": f"{f}: world-model breakthrough"}
        for y, f in zip(new.year, new.firm, strict=True)
    ]


def firm_chart(table: pd.DataFrame, which: str, firms: list[str], domain=None, events=None) -> dict:
    """A per-firm line chart over time (``which`` is a key of FIRM_CHARTS); ``events`` are the
    breakthroughs to mark (default: found in ``table``)."""
    title, unit = FIRM_CHARTS[which]
    spec = _base(title)
    color = {"field": "firm", "type": "nominal", "scale": {"domain": firms}, "legend": {"title": None}}
    if table.empty:
        values = []
    elif which == "quality":
        values = _paths(table, {"llm_quality": "LLM", "wm_quality": "world model"})
    elif which == "sunk":
        values = _paths(table, {"llm_sunk": "LLM", "wm_sunk": "world model"})
    else:
        values = _paths(table, {which: "LLM"})
    lines = {
        "data": {"name": "lines", "values": values},
        "mark": {"type": "line", "strokeWidth": 1.8},
        "encoding": {
            "x": _x(domain),
            "y": {"field": "value", "type": "quantitative", "title": unit},
            "color": color,
            "strokeDash": {
                "field": "path",
                "type": "nominal",
                "scale": {"domain": ["LLM", "world model"], "range": [[1, 0], [5, 3]]},
                "legend": None,
            },
            "tooltip": [{"field": "firm"}, {"field": "year", "format": ".2f"}, {"field": "value", "format": ".3g"}],
        },
    }
    events = breakthrough_rules(table) if events is None else events
    spec["layer"] = [lines, _rules(events, color, domain)]
    return spec


def _paths(table: pd.DataFrame, columns: dict[str, str]) -> list[dict]:
    """Rows {year, firm, value, path} for each column (a path label), built from plain lists:
    a redraw makes several of these, and pandas row conversion costs more than the data."""
    years, firms = table["year"].tolist(), table["firm"].tolist()
    return [
        {"year": y, "firm": f, "value": None if v != v else v, "path": label}
        for column, label in columns.items()
        for y, f, v in zip(years, firms, table[column].tolist(), strict=True)
    ]


def _rules(events: list[dict], color: dict, domain) -> dict:
    return {
        "data": {"name": "events", "values": events},
        "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 1.5},
        "encoding": {"x": _x(domain), "color": color, "tooltip": [{"field": "event"}]},
    }


def market_chart(market: pd.DataFrame, which: str, start_year: int, events: list[dict], domain=None) -> dict:
    """A market-wide series over time (``which`` is a key of MARKET_CHARTS)."""
    title, unit = MARKET_CHARTS[which]
    spec = _base(title)
    frame = pd.DataFrame({"year": [], "value": []})
    if not market.empty:
        frame = pd.DataFrame({"year": start_year + market.step / 4.0, "value": market[which]})
    line = {
        "data": {"name": "lines", "values": _records(frame)},
        "mark": {"type": "line", "color": "#555"},
        "encoding": {"x": _x(domain), "y": {"field": "value", "type": "quantitative", "title": unit}},
    }
    rules = {
        "data": {"name": "events", "values": events},
        "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#999"},
        "encoding": {"x": _x(domain), "tooltip": [{"field": "event"}]},
    }
    spec["layer"] = [line, rules]
    return spec


def frontier_chart(yearly: pd.DataFrame) -> dict:
    """Compute of each year's frontier training run (log scale); cost, power and firm on hover and,
    for the latest year, in `frontier_caption`."""
    spec = _base("Largest training run per year (FLOP)")
    x = {"field": "year", "type": "ordinal", "title": None}
    y = {
        "field": "training_compute_flop",
        "type": "quantitative",
        "scale": {"type": "log", "zero": False},
        "axis": {"format": ".0e", "tickCount": 4},
        "title": "FLOP",
    }
    tooltip = [
        {"field": "year"},
        {"field": "frontier_firm", "title": "firm"},
        {"field": "training_compute_flop", "title": "compute (FLOP)", "format": ".2e"},
        {"field": "training_cost", "title": "cost ($B)", "format": ",.2f"},
        {"field": "training_power_mw", "title": "power (MW)", "format": ",.0f"},
    ]
    spec["data"] = {"name": "yearly", "values": _records(yearly)}
    spec["mark"] = {"type": "line", "point": {"size": 40}, "color": "#8c6d31"}
    spec["encoding"] = {"x": x, "y": y, "tooltip": tooltip}
    return spec


def frontier_caption(yearly: pd.DataFrame) -> str:
    """One sentence on the latest year's frontier training run."""
    last = yearly.iloc[-1]
    return (
        f"Largest training run of {last.year}: {last.frontier_firm}, {last.training_compute_flop:.1e} FLOP, "
        f"${last.training_cost:,.1f}B, about {last.training_power_mw:,.0f} MW."
    )


def drivers_chart(terms: dict[str, float], firm: str, quarter: str) -> dict:
    """Bars: each decision term of one firm this quarter (+ pushes toward LLMs)."""
    spec = _base(f"Why? {firm}'s decision in {quarter} (logit units; + pushes toward LLMs)", 480, 190)
    values = [
        {"term": k, "value": v, "direction": "toward LLMs" if v >= 0 else "toward world models"}
        for k, v in terms.items()
    ]
    spec.update(
        {
            "data": {"name": "terms", "values": values},
            "mark": {"type": "bar"},
            "encoding": {
                "y": {"field": "term", "type": "nominal", "sort": None, "title": None},
                "x": {"field": "value", "type": "quantitative", "title": "contribution"},
                "color": {
                    "field": "direction",
                    "type": "nominal",
                    "scale": {"domain": ["toward LLMs", "toward world models"], "range": ["#d62728", "#1f77b4"]},
                    "legend": {"title": None, "orient": "bottom"},
                },
                "tooltip": [{"field": "term"}, {"field": "value", "format": ".3f"}],
            },
        }
    )
    return spec


def band_chart(bands: pd.DataFrame, series: str, title: str, seeds: int) -> dict:
    """Median with 50% and 90% bands over seeds."""
    frame = bands[bands.series == series]
    spec = _base(f"{title} ({seeds} seeds)")
    x = _x(None)
    spec["data"] = {"name": "bands", "values": _records(frame)}
    spec["layer"] = [
        {
            "mark": {"type": "area", "opacity": 0.18, "color": "#1f77b4"},
            "encoding": {"x": x, "y": {"field": "p5", "type": "quantitative", "title": None}, "y2": {"field": "p95"}},
        },
        {
            "mark": {"type": "area", "opacity": 0.35, "color": "#1f77b4"},
            "encoding": {"x": x, "y": {"field": "p25", "type": "quantitative"}, "y2": {"field": "p75"}},
        },
        {
            "mark": {"type": "line", "color": "#0b3d91"},
            "encoding": {"x": x, "y": {"field": "p50", "type": "quantitative"}},
        },
    ]
    return spec


def compare_chart(series: pd.DataFrame, name: str, title: str) -> dict:
    """Median series of two scenarios on the same seeds."""
    spec = _base(title)
    frame = series[series.series == name]
    spec.update(
        {
            "data": {"name": "medians", "values": _records(frame)},
            "mark": {"type": "line", "strokeWidth": 2},
            "encoding": {
                "x": _x(None),
                "y": {"field": "median", "type": "quantitative", "title": "median"},
                "color": {"field": "scenario", "type": "nominal", "legend": {"title": None, "orient": "bottom"}},
            },
        }
    )
    return spec


def attribution_chart(summary: pd.DataFrame) -> dict:
    """Grouped bars: each term's mean effect on each firm's target LLM share (share points)."""
    frame = summary.assign(points=100 * summary.mean_effect_on_target)[["firm", "term", "points"]]
    spec = _base("Mean effect of each term on the target share of LLM spending (share points)", 110, 170)
    spec.update(
        {
            "data": {"name": "terms", "values": _records(frame)},
            "mark": {"type": "bar"},
            "encoding": {
                "column": {"field": "firm", "type": "nominal", "title": None, "sort": None},
                "x": {"field": "term", "type": "nominal", "title": None, "sort": None, "axis": {"labelAngle": -60}},
                "y": {"field": "points", "type": "quantitative", "title": "share points"},
                "color": {"field": "term", "type": "nominal", "sort": None, "legend": None},
                "tooltip": [{"field": "firm"}, {"field": "term"}, {"field": "points", "format": ".1f"}],
            },
        }
    )
    return spec
