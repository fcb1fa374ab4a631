"""Vega-Lite chart specs for the UI, built as plain dicts from the model's tables.

Made to be read in front of a class: on a projector, by colour-blind students, and by
screen readers.

- **Firm colours** come from the Okabe-Ito palette, darkened where a colour has less than
  3:1 contrast on white (`FIRM_COLOURS`), and follow the firm's index in the scenario, so a
  firm keeps its colour in every chart (`firm_colours`).
- **Colour is never the only cue.** Each firm's line ends in the firm's own shape and name,
  and the legend shows the coloured shape. Dashes mean one thing on the run's charts: the
  world-model path (LLM solid, world model dashed), or, on the ceiling chart, the evidence's
  view (the firm's belief solid). World-model breakthroughs are stars at the top of every chart
  with a time axis, in the breaking firm's colour, with their own legend entry.
- **Sizes.** Every chart fills its container's width (``"width": "container"``, sized to fit);
  ``size="small"`` (the default) or ``"large"`` (presentation) sets the height and the fonts.
- **Words.** Titles and axis titles are plain words, explained in `viz.glossary`; every spec has
  a one-sentence ``description``, which Vega puts on the SVG as its ``aria-label``.

The UI swaps only the data into a chart already drawn when nothing but the named data sets
(``{"name": ..., "values": [...]}``) changed, so nothing outside them may depend on the data
(titles and descriptions included), and no y scale has a fixed domain: each follows its data.
Charts render in the browser; each has a menu to save it as SVG or PNG.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"

FIRM_COLOURS = (
    "#0072B2",  # blue (Okabe-Ito)
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#C3719F",  # reddish purple, a little darker (3.3:1 on white)
    "#339ACD",  # sky blue, darker (3.2:1; the original is 2.3:1)
    "#7E4900",  # orange, darkened to a brown (7.4:1; the original 2.3:1 is lost next to vermillion for deuteranopes)
    "#000000",  # black, last: text and axes are black too
)
"""Firm colours by the firm's index in the scenario: Okabe-Ito's colour-blind-safe palette, with
every colour at least 3:1 on white (WCAG's contrast for graphics). Darkening kept each colour's
hue and chroma in CIELAB; yellow is left out (1.3:1 on white, and darkened it is orange's twin
for deuteranopes). tests/test_charts.py checks contrast and the differences seen with
deuteranopia and protanopia."""
FIRM_SHAPES = ("circle", "square", "diamond", "triangle-down", "cross", "triangle-right", "triangle-left")
"""Each firm's point shape, by index: the cue that does not need colour. No upward triangle: the
breakthrough star is the only mark pointing up."""
QUARTER_OF_YEAR = "floor(datum.year + 0.01) + 'Q' + (floor((datum.year - floor(datum.year + 0.01)) * 4 + 0.5) + 1)"
"""A Vega expression: a fractional year (2028.25) as its quarter (2028Q2), as the model names them."""
STAR = "M0,-1L0.25,-0.34L0.95,-0.31L0.4,0.13L0.59,0.81L0,0.42L-0.59,0.81L-0.4,0.13L-0.95,-0.31L-0.25,-0.34Z"
BREAKTHROUGH = "world-model breakthrough"
TOWARD_LLMS, TOWARD_WORLD_MODELS = "toward LLMs", "toward world models"
DIRECTION_COLOURS = {TOWARD_LLMS: "#D55E00", TOWARD_WORLD_MODELS: "#0072B2"}  # Okabe-Ito vermillion and blue
NEUTRAL = "#444444"  # market-wide lines and marks not tied to one firm (9.7:1 on white)
MEDIAN, BAND_50, BAND_90 = "median", "50% band", "90% band"
BAND_COLOURS = {MEDIAN: "#0072B2", BAND_50: "#86B9DD", BAND_90: "#C6DEEF"}

SIZES = {
    "small": {"height": 260, "font": 12, "title": 14, "title_chars": 46, "stroke": 2.0, "point": 70, "star": 150},
    "large": {"height": 460, "font": 18, "title": 24, "title_chars": 44, "stroke": 3.5, "point": 200, "star": 380},
}
"""``size`` of every chart: "small" in the page's grid, "large" for presentation on a projector.
Labels are at least 12 px (small) and 18 px (large), titles 14 and 24 px."""

FIRM_CHARTS = {
    "x": ("Share of AI budget on LLMs", "% of AI budget"),
    "market_share": ("Market share", "% of AI buyers"),
    "llm_payback": ("Payback of the next LLM dollar", "$ back per $ spent"),
    "quality": ("LLM and world-model quality", "quality"),
    "ceiling": ("LLM ceiling: believed vs evidence", "quality"),
    "believed_difficulty": ("Believed world-model difficulty", "knowledge needed"),
    "wm_knowledge": ("World-model knowledge", "knowledge"),
    "ai_revenue": ("AI revenue ($B per quarter)", "$B per quarter"),
    "cash": ("Cash ($B)", "$B"),
    "sunk": ("Sunk cost: money already spent ($B)", "$B"),
    "investment_share": ("Investment share", "% of its maximum"),
    "compute_bought": ("Compute bought per quarter", "FLOP (× 10²⁴)"),
}
"""Per-firm charts over time: key -> (title, y-axis title). The key is the model's variable,
except for charts of two variables (`SERIES`)."""
MARKET_CHARTS = {
    "energy_use": ("Energy used by LLM research", "GWh per quarter"),
    "compute_cost_index": ("Price of compute (1: no shock)", "price index"),
}
"""Market-wide charts over time: key (a market variable) -> (title, y-axis title)."""
FRONTIER = "frontier"
"""The key of `frontier_chart` in `CHART_GROUPS` (it takes the yearly table, not the run's)."""
CHART_GROUPS = {
    "The bet": ["x", "market_share", "llm_payback", "quality"],
    "Beliefs": ["ceiling", "believed_difficulty", "wm_knowledge"],
    "Money": ["ai_revenue", "cash", "sunk", "investment_share"],
    "Compute and energy": ["compute_bought", "compute_cost_index", "energy_use", FRONTIER],
}
"""Chart keys by group, in order, for a layout: each key once, the group's main chart first.
Keys of `FIRM_CHARTS` go to `firm_chart`, of `MARKET_CHARTS` to `market_chart`, `FRONTIER` to
`frontier_chart`."""

SERIES = {
    "quality": {"llm_quality": "LLM", "wm_quality": "world model"},
    "sunk": {"llm_sunk": "LLM", "wm_sunk": "world model"},
    "ceiling": {"believed_ceiling": "believed by the firm", "evidence_ceiling": "expected from the evidence"},
}
"""Charts of two variables per firm: variable -> label. The first is drawn solid, the second dashed."""
PERCENT = {"x", "market_share", "investment_share"}
PAYBACK_NOTE = "below 1: the next LLM dollar does not pay back (the big muddy)"
PAYBACK_LINES = ["below 1: the next LLM dollar", "does not pay back (the big muddy)"]
NO_SHOCK = "1: compute at its usual price (no shock)"
SUBTITLES = {
    "ceiling": "The true ceiling is hidden: firms see only what their spending buys.",
    "llm_payback": "The true payback, which the firms cannot see.",
    "investment_share": "How much of what it could invest in AI the firm chooses to invest.",
}


def firm_colours(firms: list[str]) -> dict[str, str]:
    """Each firm's colour, by its index in the scenario (the same in every chart)."""
    return {firm: FIRM_COLOURS[i % len(FIRM_COLOURS)] for i, firm in enumerate(firms)}


def firm_shapes(firms: list[str]) -> dict[str, str]:
    """Each firm's point shape, by its index in the scenario."""
    return {firm: FIRM_SHAPES[i % len(FIRM_SHAPES)] for i, firm in enumerate(firms)}


def _size(size: str) -> dict:
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    return SIZES[size]


def _base(title: str | list[str], description: str, size: str = "small", subtitle: str | None = None) -> dict:
    s = _size(size)
    font, heading = s["font"], s["title"]
    if isinstance(title, str) and len(title) > s["title_chars"]:
        title = textwrap.wrap(title, s["title_chars"])  # Vega does not wrap: lines of a narrow chart's width
    text = {"text": title, "fontSize": heading, "anchor": "start", "limit": 0}
    if subtitle:
        text.update({"subtitle": subtitle, "subtitleFontSize": font, "subtitleColor": "#333333"})
    return {
        "$schema": SCHEMA,
        "description": description,
        "title": text,
        "width": "container",
        "height": s["height"],
        "autosize": {"type": "fit", "contains": "padding"},
        "padding": {"left": 4, "top": 4, "right": 8, "bottom": 4},
        "config": {
            "font": "sans-serif",
            "axis": {
                "labelFontSize": font,
                "titleFontSize": font,
                "labelColor": "#222222",
                "titleColor": "#222222",
                "titleFontWeight": "normal",
            },
            "legend": {
                "labelFontSize": font,
                "titleFontSize": font,
                "orient": "bottom",
                "direction": "horizontal",
                "labelLimit": 0,
                "symbolSize": s["point"],
                "symbolStrokeWidth": s["stroke"],
                "labelColor": "#222222",
                "columns": 3,
                "layout": {"bottom": {"anchor": "start", "direction": "vertical"}},
            },
            "text": {"fontSize": font},
            "view": {"stroke": None},
        },
    }


def _x(domain: tuple[float, float] | None) -> dict:
    axis = {
        "field": "year",
        "type": "quantitative",
        "title": None,
        "axis": {"format": "d", "tickMinStep": 1, "labelOverlap": "greedy", "labelSeparation": 8},
    }
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
    """(year, firm) of each breakthrough so far: the stars of every chart with a time axis."""
    if table.empty:
        return []
    new = table[(table.breakthrough_step == table.step) & table.wm_breakthrough.astype(bool)]
    return [
        {"year": float(y), "firm": f, "event": f"{f}: {BREAKTHROUGH}"} for y, f in zip(new.year, new.firm, strict=True)
    ]


def _firm_colour(firms: list[str], legend: bool = True) -> dict:
    colours = firm_colours(firms)
    encoding = {"field": "firm", "type": "nominal", "scale": {"domain": list(firms), "range": list(colours.values())}}
    encoding["legend"] = {"title": None} if legend else None
    return encoding


def _firm_shape(firms: list[str]) -> dict:
    shapes = firm_shapes(firms)
    return {
        "field": "firm",
        "type": "nominal",
        "scale": {"domain": list(firms), "range": list(shapes.values())},
        "legend": {"title": None},
    }


def _stars(events_data: dict, colour: dict | None, domain, size: str) -> dict:
    """Breakthroughs: a star at the top of the chart at each breakthrough's year, in the breaking
    firm's colour, with its own legend entry (a one-entry opacity legend drawn as a star: the shape
    scale is the firms', so that their legend shows each firm's colour and shape together)."""
    s = _size(size)
    encoding = {
        "x": _x(domain),
        "y": {"value": math.sqrt(s["star"]) / 2 + 1},  # in the top's headroom
        "opacity": {  # an explicit ordinal scale: Vega-Lite's default for it gave the stars NaN opacity
            "datum": BREAKTHROUGH,
            "type": "nominal",
            "scale": {"type": "ordinal", "domain": [BREAKTHROUGH], "range": [1]},
            "legend": {
                "title": None,
                "symbolType": STAR,
                "symbolSize": s["star"],
                "symbolFillColor": NEUTRAL,
                "symbolStrokeColor": NEUTRAL,
            },
        },
        "tooltip": [{"field": "event", "title": "event"}, {"field": "year", "format": ".2f"}],
    }
    mark = {"type": "point", "shape": STAR, "filled": True, "size": s["star"], "stroke": "white", "strokeWidth": 0.8}
    mark["aria"] = False  # the chart's description tells of them; an empty layer would be an unnamed graphic
    if colour is None:
        mark["color"] = NEUTRAL
    else:
        encoding["color"] = colour
    return {"data": events_data, "mark": mark, "encoding": encoding}


def _ends(field: str, first: str | None = None) -> list[dict]:
    """Transforms keeping each line's last valid point (of series ``first`` only, if given)."""
    steps = [{"filter": "isValid(datum.value) && isFinite(datum.value)"}]
    if first is not None:
        steps.append({"filter": {"field": "path", "equal": first}})
    steps += [
        {"joinaggregate": [{"op": "max", "field": "year", "as": "last_year"}], "groupby": [field, "path"]},
        {"filter": "datum.year === datum.last_year"},
    ]
    return steps


def _tooltip(percent: bool, paths: bool) -> list[dict]:
    tip = [{"field": "firm"}, {"field": "year", "format": ".2f"}]
    if paths:
        tip.append({"field": "path", "title": "line"})
    tip.append({"field": "value", "format": ".1%" if percent else ".3~g"})
    return tip


def _y(title: str, percent: bool) -> dict:
    """A quantitative y axis whose scale follows the data: no fixed domain, zero included, not rounded
    up to a "nice" number (`_headroom` gives the top its room instead)."""
    axis = {"format": ".0%" if percent else "~s", "tickCount": 5}
    scale = {"zero": True, "nice": False}
    return {"field": "value", "type": "quantitative", "title": title, "axis": axis, "scale": scale}


HEADROOM = 1.12
"""The y scale reaches 12% above the highest value: a growing series' newest point is its highest,
and without room it sits on the chart's top edge (under the breakthrough stars), as if cut off."""


def _headroom(x: dict, y: dict) -> dict:
    """An invisible layer that stretches the shared y scale to `HEADROOM` times the data's extremes."""
    return {
        "transform": [
            {"filter": "isValid(datum.value) && isFinite(datum.value)"},
            {"calculate": f"datum.value * {HEADROOM}", "as": "headroom"},
        ],
        "mark": {"type": "point", "opacity": 0, "aria": False, "tooltip": None},
        "encoding": {"x": x, "y": {**y, "field": "headroom"}},
    }


def firm_chart(
    table: pd.DataFrame,
    which: str,
    firms: list[str],
    domain=None,
    events=None,
    size: str = "small",
    labels: bool = False,
) -> dict:
    """A per-firm line chart over time (``which`` is a key of FIRM_CHARTS); ``events`` are the
    breakthroughs to mark (default: found in ``table``). Each line ends in the firm's shape; with
    ``labels``, also in its name (off by default: the firms' lines often run together, and so would
    their names)."""
    title, axis_title = FIRM_CHARTS[which]
    s = _size(size)
    series = SERIES.get(which, {which: which})
    labels_of = list(series.values())
    two = len(series) > 1
    percent = which in PERCENT
    description = (
        f"{title}: a line chart over time with one line per firm ({', '.join(firms)})"
        + (f", {labels_of[0]} solid and {labels_of[1]} dashed" if two else "")
        + "; each line ends in the firm's shape, and stars at the top mark world-model breakthroughs."
    )
    if which == "llm_payback":
        description = description[:-1] + "; a horizontal line at 1 marks where the next LLM dollar stops paying back."
    spec = _base(title, description, size, SUBTITLES.get(which))
    values = [] if table.empty else _paths(table, series)
    colour = _firm_colour(firms)
    x, y = _x(domain), _y(axis_title, percent)
    line = {
        "mark": {"type": "line", "strokeWidth": s["stroke"], "aria": False},  # one label, for its first point only
        "encoding": {"x": x, "y": y, "color": colour, "detail": {"field": "path"}, "tooltip": _tooltip(percent, two)},
    }
    if two:
        line["encoding"]["strokeDash"] = {
            "field": "path",
            "type": "nominal",
            "scale": {"domain": labels_of, "range": [[1, 0], [6, 4]]},
            "legend": {
                "title": None,
                "symbolStrokeColor": NEUTRAL,
                "symbolType": "stroke",
                "symbolSize": s["point"] * 6,
            },
        }
    said = "format(datum.value, '.0%')" if percent else "format(datum.value, '.3~g')"
    path = " + ' (' + datum.path + ')'" if two else ""
    points = {  # each line's latest value: what a screen reader reads out (an empty layer would be unnamed)
        "transform": [
            *_ends("firm"),
            {"calculate": f"datum.firm{path} + ': ' + {said} + ' in ' + {QUARTER_OF_YEAR}", "as": "latest"},
        ],
        "mark": {
            "type": "point",
            "filled": True,
            "size": s["point"],
            "opacity": 1,
            "stroke": "white",
            "strokeWidth": 1,
            "aria": bool(values),
        },
        "encoding": {
            "x": x,
            "y": y,
            "color": colour,
            "shape": _firm_shape(firms),
            "tooltip": _tooltip(percent, two),
            "description": {"field": "latest"},
        },
    }
    layers = [line, _headroom(x, y), points]
    if labels:
        layers.append(_end_labels("firm", x, y, colour, labels_of[0], domain, s))
    if which == "llm_payback":
        layers += _threshold(1.0, PAYBACK_NOTE, s, PAYBACK_LINES)
    events = breakthrough_rules(table) if events is None else events
    layers.append(_stars({"name": "events", "values": events}, _firm_colour(firms), domain, size))
    spec["data"] = {"name": "lines", "values": values}
    spec["layer"] = layers
    return spec


def _end_labels(field: str, x: dict, y: dict, colour: dict, first: str, domain, s: dict) -> dict:
    """The series' name at the end of its (first) line: right of the point in the chart's first
    half, left of it in the second, so it stays inside the chart as the line grows."""
    middle = None if domain is None else (domain[0] + domain[1]) / 2
    align = "'left'" if middle is None else f"datum.year > {middle} ? 'right' : 'left'"
    dx = f"{s['font'] * 0.7}" if middle is None else f"datum.year > {middle} ? {-s['font'] * 0.7} : {s['font'] * 0.7}"
    return {
        "transform": _ends(field, first),
        "mark": {
            "type": "text",
            "align": {"expr": align},
            "dx": {"expr": dx},
            "dy": -s["font"] * 0.6,
            "fontSize": s["font"],
            "fontWeight": "bold",
            "aria": False,  # the points say the same
        },
        "encoding": {"x": x, "y": y, "text": {"field": field}, "color": colour},
    }


def _threshold(value: float, note: str, s: dict, lines: list[str] | None = None, above: bool = True) -> list[dict]:
    """A horizontal reference line at ``value``, labelled with ``note`` (its own explanation; in
    ``lines`` if given), on a white halo so that it reads over the lines."""
    data = {"values": [{"value": value, "note": note}]}
    y = {"field": "value", "type": "quantitative"}
    rule = {
        "data": data,
        "mark": {"type": "rule", "color": NEUTRAL, "strokeWidth": s["stroke"]},
        "encoding": {"y": y, "tooltip": [{"field": "note", "title": "line"}], "description": {"field": "note"}},
    }
    lift = 4 + (len(lines or [note]) - 1) * s["font"] * 1.2  # multi-line text hangs down from its first line
    text = {"align": "right", "x": "width", "dx": -4, "fontSize": s["font"]}
    text.update({"baseline": "bottom", "dy": -lift} if above else {"baseline": "top", "dy": 4})
    label = {"y": y, "text": {"value": lines or note}}
    halo = {"data": data, "mark": {"type": "text", **text, "stroke": "white", "strokeWidth": 4, "aria": False}}
    halo["encoding"] = label
    words = {"data": data, "mark": {"type": "text", **text, "color": "#222222"}, "encoding": label}
    return [rule, halo, words]


def _paths(table: pd.DataFrame, columns: dict[str, str]) -> list[dict]:
    """Rows {year, firm, value, path} for each column (a path label), built from plain lists:
    a redraw makes several of these, and pandas row conversion costs more than the data."""
    years, firms = table["year"].tolist(), table["firm"].tolist()
    return [
        {"year": y, "firm": f, "value": None if v != v else v, "path": label}
        for column, label in columns.items()
        for y, f, v in zip(years, firms, table[column].tolist(), strict=True)
    ]


def market_chart(
    market: pd.DataFrame,
    which: str,
    start_year: int,
    events: list[dict],
    domain=None,
    size: str = "small",
    firms: list[str] | None = None,
) -> dict:
    """A market-wide series over time (``which`` is a key of MARKET_CHARTS), with the breakthroughs'
    stars: in the firms' colours if ``firms`` (the scenario's, in order) is given, else grey."""
    title, axis_title = MARKET_CHARTS[which]
    s = _size(size)
    description = (
        f"{title}: a line chart over time of one market-wide series; stars at the top mark world-model breakthroughs."
    )
    spec = _base(title, description, size)
    frame = pd.DataFrame({"year": [], "value": []})
    if not market.empty:
        frame = pd.DataFrame({"year": start_year + market.step / 4.0, "value": market[which]})
    x, y = _x(domain), _y(axis_title, False)
    line = {
        "mark": {"type": "line", "color": NEUTRAL, "strokeWidth": s["stroke"], "aria": False},
        "encoding": {
            "x": x,
            "y": y,
            "tooltip": [{"field": "year", "format": ".2f"}, {"field": "value", "title": axis_title, "format": ".3~g"}],
        },
    }
    colour = None
    if firms is not None:  # the stars' colours need their legend: the firms', drawn as stars
        colour = _firm_colour(firms)
        colour["legend"] = {
            "title": None,
            "symbolType": STAR,
            "symbolSize": s["star"],
            "symbolStrokeWidth": 0,
            "symbolOpacity": 1,
        }
    spec["data"] = {"name": "lines", "values": _records(frame)}
    spec["layer"] = [line, _headroom(x, y)]
    if which == "compute_cost_index":
        spec["layer"] += _threshold(1.0, NO_SHOCK, s, above=False)  # the stars are above
    spec["layer"].append(_stars({"name": "events", "values": events}, colour, domain, size))
    return spec


def frontier_chart(yearly: pd.DataFrame, size: str = "small") -> dict:
    """Compute of each year's frontier training run (log scale); cost, power and firm on hover and,
    for the latest year, in `frontier_caption`."""
    s = _size(size)
    title = "Largest training run each year"
    description = (
        f"{title}: a line chart with a point per year, on a log scale; hover a point for the firm, cost and power."
    )
    spec = _base(title, description, size)
    x = {"field": "year", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}}
    y = {
        "field": "training_compute_flop",
        "type": "quantitative",
        "scale": {"type": "log"},
        "axis": {"format": ".0e", "tickCount": 4},
        "title": "FLOP (log scale)",
    }
    tooltip = [
        {"field": "year"},
        {"field": "frontier_firm", "title": "firm"},
        {"field": "training_compute_flop", "title": "compute (FLOP)", "format": ".2e"},
        {"field": "training_cost", "title": "cost ($B)", "format": ",.2f"},
        {"field": "training_power_mw", "title": "power (MW)", "format": ",.0f"},
    ]
    spec["data"] = {"name": "yearly", "values": _records(yearly)}
    spec["mark"] = {
        "type": "line",
        "point": {"size": s["point"], "filled": True, "aria": not yearly.empty},
        "color": NEUTRAL,
        "strokeWidth": s["stroke"],
        "aria": not yearly.empty,  # an empty layer would be an unnamed graphic
    }
    spec["encoding"] = {"x": x, "y": y, "tooltip": tooltip}
    return spec


def frontier_caption(yearly: pd.DataFrame) -> str:
    """One sentence on the latest year's frontier training run."""
    last = yearly.iloc[-1]
    return (
        f"Largest training run of {last.year}: {last.frontier_firm}, {last.training_compute_flop:.1e} FLOP, "
        f"${last.training_cost:,.1f}B, about {last.training_power_mw:,.0f} MW."
    )


def drivers_title(firm: str) -> str:
    """The "Why?" chart's title, in one line (the chart draws it in two)."""
    return f"What pushes {firm}'s target share of LLM spending (share points; + toward LLMs)"


def drivers_chart(terms: dict[str, float], firm: str, size: str = "small") -> dict:
    """Bars: each decision term's effect on one firm's target share of LLM spending in one quarter, in
    share points (+ toward LLMs; `sim.explain.quarter_explanation` gives them), in two
    colour-blind-safe colours with their legend; each bar's number sits across the zero line from it.
    The quarter is not in the spec: the page says it beside the chart, and a spec that stays the same
    from quarter to quarter is redrawn with its new data rather than rebuilt."""
    s = _size(size)
    first, rest = drivers_title(firm).split(" (")
    description = (
        f"Bar chart of the six decision terms for {firm}: each bar is the term's effect on the "
        f"share of AI spending the firm aims to put on LLMs, in share points; bars to the right push toward LLMs, "
        f"to the left toward world models."
    )
    spec = _base(first, description, size, subtitle=f"({rest}")
    values = [
        {
            "term": label.replace("_", " "),
            "value": value,
            "direction": TOWARD_LLMS if value >= 0 else TOWARD_WORLD_MODELS,
        }
        for label, value in terms.items()
    ]
    x = {"field": "value", "type": "quantitative", "title": "share points (+ toward LLMs, − toward world models)"}
    y = {"field": "term", "type": "nominal", "sort": None, "title": None}
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "y": y,
            "x": x,
            "color": {
                "field": "direction",
                "type": "nominal",
                "scale": {"domain": list(DIRECTION_COLOURS), "range": list(DIRECTION_COLOURS.values())},
                "legend": {"title": None},
            },
            "tooltip": [{"field": "term"}, {"field": "value", "title": "share points", "format": "+.1f"}],
        },
    }
    gap = s["font"] * 0.4
    numbers = {  # each bar's number just past its end, in room the invisible layer below makes
        "mark": {
            "type": "text",
            "align": {"expr": "datum.value >= 0 ? 'left' : 'right'"},
            "dx": {"expr": f"datum.value >= 0 ? {gap} : {-gap}"},
            "fontSize": s["font"],
            "color": "#222222",
            "aria": False,  # the bars' own labels say it
        },
        "encoding": {"y": y, "x": x, "text": {"field": "value", "format": "+.1f"}},
    }
    room = {  # past each bar's end, and on the other side of zero too: a "+0.0" among bars that all
        # point left needs room to the right of the zero line
        "transform": [
            {"calculate": "max(datum.value * 1.35, abs(datum.value) * 0.3)", "as": "right"},
            {"calculate": "min(datum.value * 1.35, -abs(datum.value) * 0.3)", "as": "left"},
            {"fold": ["right", "left"], "as": ["side", "room"]},
        ],
        "mark": {"type": "point", "opacity": 0, "aria": False},
        "encoding": {"y": y, "x": {**x, "field": "room"}},
    }
    zero = {
        "data": {"values": [{"value": 0}]},
        "mark": {"type": "rule", "color": NEUTRAL},
        "encoding": {"x": {"field": "value", "type": "quantitative"}},
    }
    spec["data"] = {"name": "terms", "values": values}
    spec["layer"] = [bars, numbers, room, zero]
    return spec


def band_chart(bands: pd.DataFrame, series: str, title: str, seeds: int, size: str = "small") -> dict:
    """Median with the middle 50% and 90% of seeds over time, each in the legend."""
    s = _size(size)
    frame = bands[bands.series == series]
    full = f"{title} ({seeds} seeds)"
    description = (
        f"{full}: the median over seeds as a line over time, with shaded bands holding the middle 50% "
        f"and the middle 90% of seeds."
    )
    spec = _base(full, description, size)
    x = _x(None)
    colour = {
        "type": "nominal",
        "scale": {"domain": list(BAND_COLOURS), "range": list(BAND_COLOURS.values())},
        "legend": {"title": None},
    }
    spec["data"] = {"name": "bands", "values": _records(frame)}
    spec["layer"] = [
        {
            "mark": {"type": "area", "opacity": 1},
            "encoding": {
                "x": x,
                "y": {"field": "p5", "type": "quantitative", "title": None, "scale": {"zero": True}},
                "y2": {"field": "p95"},
                "color": {"datum": BAND_90, **colour},
            },
        },
        {
            "mark": {"type": "area", "opacity": 1},
            "encoding": {
                "x": x,
                "y": {"field": "p25", "type": "quantitative"},
                "y2": {"field": "p75"},
                "color": {"datum": BAND_50, **colour},
            },
        },
        {
            "mark": {"type": "line", "strokeWidth": s["stroke"]},
            "encoding": {
                "x": x,
                "y": {"field": "p50", "type": "quantitative"},
                "color": {"datum": MEDIAN, **colour},
                "tooltip": [
                    {"field": "year", "format": ".2f"},
                    {"field": "p50", "title": "median", "format": ".3~g"},
                    {"field": "p25", "title": "25th percentile", "format": ".3~g"},
                    {"field": "p75", "title": "75th percentile", "format": ".3~g"},
                ],
            },
        },
    ]
    return spec


COMPARE_COLOURS = ("#0072B2", "#D55E00")
COMPARE_SHAPES = ("circle", "square")


def compare_chart(series: pd.DataFrame, name: str, title: str, size: str = "small") -> dict:
    """Median series of two scenarios on the same seeds; each line ends in its shape and name."""
    s = _size(size)
    frame = series[series.series == name]
    scenarios = list(dict.fromkeys(frame.scenario.tolist()))
    description = f"{title}: the median over seeds of two scenarios as two lines over time, each ending in its name."
    spec = _base(title, description, size)
    colour = {
        "field": "scenario",
        "type": "nominal",
        "scale": {"domain": scenarios, "range": list(COMPARE_COLOURS[: len(scenarios)])},
        "legend": {"title": None},
    }
    shape = {**colour, "scale": {"domain": scenarios, "range": list(COMPARE_SHAPES[: len(scenarios)])}}
    x = _x(None)
    y = {"field": "median", "type": "quantitative", "title": "median over seeds", "scale": {"zero": True}}
    ends = [
        {"filter": "isValid(datum.median)"},
        {"joinaggregate": [{"op": "max", "field": "year", "as": "last_year"}], "groupby": ["scenario"]},
        {"filter": "datum.year === datum.last_year"},
    ]
    spec["data"] = {"name": "medians", "values": _records(frame)}
    spec["layer"] = [
        {
            "mark": {"type": "line", "strokeWidth": s["stroke"]},
            "encoding": {
                "x": x,
                "y": y,
                "color": colour,
                "tooltip": [
                    {"field": "scenario"},
                    {"field": "year", "format": ".2f"},
                    {"field": "median", "format": ".3~g"},
                ],
            },
        },
        {
            "transform": ends,
            "mark": {"type": "point", "filled": True, "size": s["point"], "opacity": 1},
            "encoding": {"x": x, "y": y, "color": colour, "shape": shape},
        },
    ]
    return spec


def attribution_chart(summary: pd.DataFrame, size: str = "small") -> dict:
    """Bars: each term's mean effect on each firm's target LLM share (share points), a bar per firm
    in the firm's colour and a group per term."""
    s = _size(size)
    frame = summary.assign(points=100 * summary.mean_effect_on_target)[["firm", "term", "points"]]
    frame = frame.assign(term=frame.term.str.replace("_", " "))
    firms = list(dict.fromkeys(frame.firm.tolist()))
    terms = list(dict.fromkeys(frame.term.tolist()))
    title = "Mean effect of each term on the target share of LLM spending (share points)"
    description = (
        f"{title}: a group of bars per decision term, one bar per firm ({', '.join(firms)}) in the firm's colour; "
        f"bars to the right push toward LLMs, to the left toward world models."
    )
    spec = _base(title, description, size)
    spec["height"] = max(s["height"], 40 + len(terms) * len(firms) * (10 if size == "small" else 15))
    spec.update(
        {
            "data": {"name": "terms", "values": _records(frame)},
            "mark": {"type": "bar"},
            "encoding": {
                "y": {"field": "term", "type": "nominal", "title": None, "sort": terms},
                "yOffset": {"field": "firm", "type": "nominal", "sort": firms},
                "x": {"field": "points", "type": "quantitative", "title": "share points (+ toward LLMs)"},
                "color": _firm_colour(firms),
                "tooltip": [{"field": "firm"}, {"field": "term"}, {"field": "points", "format": "+.1f"}],
            },
        }
    )
    return spec
