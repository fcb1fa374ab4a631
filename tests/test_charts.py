"""The chart specs (viz.charts) and the glossary (viz.glossary): readable on a projector, by
colour-blind students and by screen readers. Plain dict checks, except the last tests, which draw
charts in headless Chromium and run axe-core on them."""

import itertools
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("solara")

from sim.explain import decision_terms, quarter_explanation
from sim.outputs import frontier_training_table
from viz import charts
from viz.glossary import GLOSSARY, explain
from viz.session import Session

SNAKE_CASE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


# --- colour science for the palette tests ------------------------------------------------------


def _linear(hex_colour: str) -> np.ndarray:
    """sRGB hex -> linear RGB in [0, 1] (IEC 61966-2-1)."""
    c = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def contrast_on_white(hex_colour: str) -> float:
    """WCAG 2 contrast ratio against white, from the relative luminance."""
    luminance = float(np.dot([0.2126, 0.7152, 0.0722], _linear(hex_colour)))
    return 1.05 / (luminance + 0.05)


MACHADO = {  # Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB
    "normal vision": np.eye(3),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
}
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)


def lab(linear_rgb: np.ndarray) -> tuple[float, float, float]:
    """Linear RGB -> CIELAB (D65)."""
    xyz = SRGB_TO_XYZ @ np.clip(linear_rgb, 0, 1) / (SRGB_TO_XYZ @ np.ones(3))
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    if c1p * c2p and abs(h2p - h1p) == 180:
        dh = 180.0 if h2p <= h1p else -180.0
    dhh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    rotation = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    rt = -math.sin(math.radians(2 * rotation)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [  # pairs 1, 7 and 17 of Sharma, Wu & Dalal's test data
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, 0, 0), (50, -1, 2), 2.3669),
        ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ],
)
def test_the_colour_difference_used_below_matches_published_values(first, second, expected):
    assert ciede2000(first, second) == pytest.approx(expected, abs=1e-4)


# --- the palette ---------------------------------------------------------------------------------


def test_every_firm_colour_has_3_to_1_contrast_on_white():
    """WCAG 2.1 SC 1.4.11: lines that carry meaning need 3:1 against their background."""
    assert len(set(charts.FIRM_COLOURS)) >= 6
    for colour in charts.FIRM_COLOURS:
        assert contrast_on_white(colour) >= 3.0, colour
    for colour in charts.DIRECTION_COLOURS.values():
        assert contrast_on_white(colour) >= 3.0, colour
    assert contrast_on_white(charts.NEUTRAL) >= 4.5


MIN_DIFFERENCE = 9.0
"""Smallest CIEDE2000 difference allowed between two firm colours, as seen with each vision. A
difference of about 1 to 2.3 is just noticeable side by side in large patches; firms' colours are
thin lines and small symbols, compared across a chart, which need several times that, so 9 (about
four just-noticeable differences) is the bar. Colour is not the only cue either: each firm also has
its shape. The palette reaches 9.9 (the reddish purple and the sky blue, seen with protanopia)."""


@pytest.mark.parametrize("vision", list(MACHADO))
def test_the_firm_colours_stay_apart_with_colour_blindness(vision):
    seen = {colour: lab(MACHADO[vision] @ _linear(colour)) for colour in charts.FIRM_COLOURS}
    closest = min((ciede2000(seen[a], seen[b]), a, b) for a, b in itertools.combinations(charts.FIRM_COLOURS, 2))
    assert closest[0] >= MIN_DIFFERENCE, closest


def test_a_firm_keeps_its_colour_and_shape_in_every_chart(run):
    firms = run.firms
    assert charts.firm_colours(firms) == dict(zip(firms, charts.FIRM_COLOURS, strict=False))
    assert charts.firm_colours(["a", "b"])["b"] == charts.FIRM_COLOURS[1]
    assert charts.FIRM_COLOURS[-1] == "#000000"  # black last
    assert "#F0E442" not in charts.FIRM_COLOURS  # Okabe-Ito yellow: 1.3:1 on white
    for spec in firm_specs(run).values():
        colour = spec["layer"][0]["encoding"]["color"]["scale"]
        assert colour == {"domain": firms, "range": list(charts.firm_colours(firms).values())}
        (shape,) = [layer["encoding"]["shape"]["scale"] for layer in layers(spec) if "shape" in layer["encoding"]]
        assert shape == {"domain": firms, "range": list(charts.firm_shapes(firms).values())}
    assert len(set(charts.FIRM_SHAPES)) == len(charts.FIRM_SHAPES) >= 6


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run():
    """A whole LeCun-is-right run (breakthroughs in it), with its domain and events."""
    session = Session("lecun_is_right", seed=3)
    while session.step():
        pass
    snapshot = session.snapshot()
    start = snapshot.model.config.environment.start_year
    run = SimpleNamespace(**vars(snapshot))
    run.domain = (start, start + snapshot.model.max_steps / 4.0)
    run.events = charts.breakthrough_rules(snapshot.table)
    assert run.events
    return run


def firm_specs(run, size="small", **options) -> dict[str, dict]:
    return {
        which: charts.firm_chart(run.table, which, run.firms, run.domain, run.events, size=size, **options)
        for which in charts.FIRM_CHARTS
    }


def market_specs(run, size="small", firms=None) -> dict[str, dict]:
    start = run.model.config.environment.start_year
    return {
        which: charts.market_chart(run.market, which, start, run.events, run.domain, size=size, firms=firms)
        for which in charts.MARKET_CHARTS
    }


def all_specs(run, size="small") -> dict[str, dict]:
    """One spec of every kind the UI draws."""
    firm = run.firms[0]
    terms = quarter_explanation(run.table, run.model.config, firm, int(run.table.step.max())).effects
    bands = pd.DataFrame(
        {"year": [2025.0, 2025.25], "series": "hhi", "p5": 1.0, "p25": 2, "p50": 3, "p75": 4, "p95": 5}
    )
    medians = pd.DataFrame({"year": [2025.0, 2025.0], "series": "hhi", "scenario": ["a", "b"], "median": [1.0, 2.0]})
    summary = pd.DataFrame({"firm": ["A", "A", "B"], "term": ["sunk_cost", "expected value", "sunk_cost"]})
    summary["mean_effect_on_target"] = [0.01, -0.02, 0.03]
    specs = {**firm_specs(run, size), **market_specs(run, size, run.firms)}
    specs["frontier"] = charts.frontier_chart(frontier_training_table(run.table, run.model.config.environment), size)
    specs["drivers"] = charts.drivers_chart(terms, firm, size)
    specs["band"] = charts.band_chart(bands, "hhi", "Market concentration (HHI)", 30, size)
    specs["compare"] = charts.compare_chart(medians, "hhi", "Market concentration (HHI)", size)
    specs["attribution"] = charts.attribution_chart(summary, size)
    return specs


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def layer_with(spec: dict, mark: str, shape=None) -> dict:
    """The one layer of ``spec`` drawing this mark type (and point shape)."""
    found = [
        layer
        for layer in layers(spec)
        if layer["mark"]["type"] == mark and (shape is None or layer["mark"].get("shape") == shape)
    ]
    assert len(found) == 1, f"{len(found)} {mark} layers"
    return found[0]


def titles_of(spec: dict) -> list[str]:
    """Every title a spec shows: the chart's, its subtitle, axis titles, legend labels it names."""
    title = spec["title"]
    found = [" ".join(title["text"]) if isinstance(title["text"], list) else title["text"], title.get("subtitle", "")]
    for layer in layers(spec):
        for channel in layer.get("encoding", {}).values():
            if isinstance(channel, dict):
                found.append(channel.get("title") or "")
                domain = channel.get("scale", {}).get("domain", [])
                if channel.get("legend") is not None and channel.get("type") == "nominal":
                    found += [d for d in domain if isinstance(d, str)]
    return [t for t in found if t]


def shape_of(spec: dict) -> str:
    """The spec with its named data sets' values left out: what the UI compares to decide that only
    data changed (viz/vega.vue)."""

    def strip(node):
        if isinstance(node, dict):
            if "name" in node and isinstance(node.get("values"), list):
                return {"name": node["name"]}
            return {k: strip(v) for k, v in node.items()}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return repr(strip(spec))


# --- the second cue, legends and marks -----------------------------------------------------------


def test_each_line_ends_in_its_firm_s_shape_and_optionally_its_name(run):
    for which, spec in firm_specs(run).items():
        points = [layer for layer in layers(spec) if "shape" in layer.get("encoding", {})]
        assert len(points) == 1, which
        steps = points[0]["transform"]
        assert {"filter": "datum.year === datum.last_year"} in steps
        assert points[0]["encoding"]["shape"]["legend"] is not None
        assert not [layer for layer in layers(spec) if layer["encoding"].get("text", {}).get("field") == "firm"]
    labelled = charts.firm_chart(run.table, "x", run.firms, run.domain, run.events, labels=True)
    names = [layer for layer in layers(labelled) if layer["encoding"].get("text", {}).get("field") == "firm"]
    assert len(names) == 1 and {"filter": "datum.year === datum.last_year"} in names[0]["transform"]


def test_dashes_mean_the_second_series_only_and_breakthroughs_are_stars(run):
    for which, spec in firm_specs(run).items():
        for layer in layers(spec):
            assert "strokeDash" not in layer["mark"], f"{which}: a dashed mark"
            dash = layer["encoding"].get("strokeDash")
            if dash is not None:
                assert which in charts.SERIES and dash["field"] == "path"
                assert dash["scale"] == {"domain": list(charts.SERIES[which].values()), "range": [[1, 0], [6, 4]]}
                assert dash["legend"] is not None
        stars = layer_with(spec, "point", shape=charts.STAR)
        assert stars["data"] == {"name": "events", "values": run.events}
        assert stars["encoding"]["color"]["field"] == "firm"
        legend = stars["encoding"]["opacity"]
        assert legend["scale"]["domain"] == [charts.BREAKTHROUGH] and legend["legend"]["symbolType"] == charts.STAR
    assert charts.SERIES["quality"] == {"llm_quality": "LLM", "wm_quality": "world model"}
    assert list(charts.SERIES["ceiling"]) == ["believed_ceiling", "evidence_ceiling"]  # believed solid


def test_every_encoded_mark_is_explained_by_a_legend_or_its_own_words(run):
    for name, spec in all_specs(run).items():
        for layer in layers(spec):
            for channel in ("color", "shape", "strokeDash", "opacity"):
                encoding = layer.get("encoding", {}).get(channel)
                if encoding and ("field" in encoding or "datum" in encoding):
                    if layer["mark"]["type"] == "text":
                        continue  # a label is its own explanation
                    assert encoding.get("legend", {}) is not None, f"{name}: {channel} without a legend"
    payback = firm_specs(run)["llm_payback"]
    rule = layer_with(payback, "rule")
    assert rule["data"]["values"] == [{"value": 1.0, "note": charts.PAYBACK_NOTE}]
    assert charts.PAYBACK_NOTE == "below 1: the next LLM dollar does not pay back (the big muddy)"
    words = [
        layer for layer in layers(payback) if layer["mark"]["type"] == "text" and layer["mark"].get("aria") is not False
    ]
    assert " ".join(words[0]["encoding"]["text"]["value"]) == charts.PAYBACK_NOTE


def test_market_charts_colour_the_stars_by_firm_when_told_the_firms(run):
    grey = market_specs(run)["energy_use"]
    coloured = market_specs(run, firms=run.firms)["compute_cost_index"]
    assert layer_with(grey, "point", charts.STAR)["mark"]["color"] == charts.NEUTRAL
    colour = layer_with(coloured, "point", charts.STAR)["encoding"]["color"]
    assert colour["scale"]["range"] == list(charts.firm_colours(run.firms).values())
    assert colour["legend"]["symbolType"] == charts.STAR
    assert layer_with(coloured, "rule")["data"]["values"][0]["value"] == 1.0


# --- scales --------------------------------------------------------------------------------------


def test_no_y_scale_has_a_fixed_domain_and_growing_lines_have_headroom(run):
    for name, spec in all_specs(run).items():
        for layer in layers(spec):
            scale = layer.get("encoding", {}).get("y", {}).get("scale", {})
            assert not {"domain", "domainMin", "domainMax", "domainMid"} & set(scale), name
    for name, spec in {**firm_specs(run), **market_specs(run)}.items():
        room = [layer for layer in layers(spec) if layer["encoding"].get("y", {}).get("field") == "headroom"]
        assert len(room) == 1 and room[0]["mark"]["opacity"] == 0, name
        assert {"calculate": f"datum.value * {charts.HEADROOM}", "as": "headroom"} in room[0]["transform"]


def test_only_the_data_changes_from_quarter_to_quarter(run):
    """The UI swaps the data into a drawn chart when nothing else changed: titles, descriptions and
    scales must not depend on the data (the first quarter may redraw once: empty to drawn)."""
    early = run.table[run.table.step < 2]
    start = run.model.config.environment.start_year
    for which in charts.FIRM_CHARTS:
        before = charts.firm_chart(early, which, run.firms, run.domain, [])
        after = charts.firm_chart(run.table, which, run.firms, run.domain, run.events)
        assert shape_of(before) == shape_of(after), which
    for which in charts.MARKET_CHARTS:
        before = charts.market_chart(run.market.iloc[:2], which, start, [], run.domain, firms=run.firms)
        after = charts.market_chart(run.market, which, start, run.events, run.domain, firms=run.firms)
        assert shape_of(before) == shape_of(after), which


# --- sizes, words, descriptions ------------------------------------------------------------------


@pytest.mark.parametrize(("size", "label", "heading"), [("small", 12, 14), ("large", 18, 24)])
def test_charts_fill_their_container_and_read_on_a_projector(run, size, label, heading):
    for name, spec in all_specs(run, size).items():
        assert spec["width"] == "container", name
        assert spec["autosize"] == {"type": "fit", "contains": "padding"}, name
        assert spec["height"] >= charts.SIZES[size]["height"], name
        config = spec["config"]
        assert spec["title"]["fontSize"] >= heading, name
        for part in ("axis", "legend"):
            assert min(v for k, v in config[part].items() if k.endswith("FontSize")) >= label, name
        for layer in layers(spec):
            if layer["mark"]["type"] == "text":
                assert layer["mark"].get("fontSize", config["text"]["fontSize"]) >= label, name
    assert charts.SIZES["large"]["height"] > charts.SIZES["small"]["height"]
    with pytest.raises(ValueError, match="size must be one of"):
        charts.firm_chart(run.table, "x", run.firms, size="huge")


def test_every_spec_describes_itself_in_plain_words(run):
    for name, spec in all_specs(run).items():
        description = spec["description"]
        assert description.endswith(".") and len(description) > 60, name
        for text in [description, *titles_of(spec)]:
            assert not SNAKE_CASE.search(text), f"{name}: {text!r}"
            assert "logit" not in text.lower(), f"{name}: {text!r}"
            if "HHI" in text:
                assert "concentration" in text.lower(), f"{name}: {text!r}"


def test_chart_groups_list_every_run_chart_once():
    listed = [key for keys in charts.CHART_GROUPS.values() for key in keys]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(charts.FIRM_CHARTS) | set(charts.MARKET_CHARTS) | {charts.FRONTIER}
    assert list(charts.CHART_GROUPS) == ["The bet", "Beliefs", "Money", "Compute and energy"]
    assert charts.CHART_GROUPS["The bet"][0] == "x"
    for key in ("llm_payback", "believed_difficulty", "wm_knowledge", "compute_bought", "investment_share"):
        assert key in charts.FIRM_CHARTS
    assert "compute_cost_index" in charts.MARKET_CHARTS


# --- the "Why?" bars -----------------------------------------------------------------------------


def test_the_why_bars_are_in_share_points_as_the_attribution_computes_them(run):
    firm = run.firms[1]
    temperature = run.model.config.environment.decision_temperature
    points = quarter_explanation(run.table, run.model.config, firm, 10).effects
    last = run.table[(run.table.firm == firm) & (run.table.step == 10)]
    recorded = decision_terms(last, temperature).set_index("term").effect_on_target * 100
    assert points == pytest.approx(recorded.to_dict())
    spec = charts.drivers_chart(points, firm)
    assert titles_of(spec)[0] + " " + spec["title"]["subtitle"] == (
        f"What pushes {firm}'s target share of LLM spending (share points; + toward LLMs)"
    )
    assert charts.drivers_title(firm) == (
        f"What pushes {firm}'s target share of LLM spending (share points; + toward LLMs)"
    )
    other = charts.drivers_chart(quarter_explanation(run.table, run.model.config, firm, 11).effects, firm)
    assert other["title"] == spec["title"] and other["description"] == spec["description"]  # only data changes
    bars = layer_with(spec, "bar")
    colour = bars["encoding"]["color"]
    assert colour["scale"] == {"domain": ["toward LLMs", "toward world models"], "range": ["#D55E00", "#0072B2"]}
    assert colour["legend"] is not None
    values = spec["data"]["values"]
    assert [v["term"] for v in values] == [label.replace("_", " ") for label in points]
    assert all((v["value"] >= 0) == (v["direction"] == "toward LLMs") for v in values)


# --- the glossary --------------------------------------------------------------------------------


def test_the_glossary_covers_every_term_a_student_meets():
    required = [
        "expected value", "revenue feedback", "competitive pressure", "scaling optimism", "sunk cost",
        "investor pressure", "big muddy", "pivot", "breakthrough", "world model", "LLM", "scaling",
        "LLM ceiling", "believed ceiling", "evidence ceiling", "payback", "market share", "concentration",
        "HHI", "protected world-model budget", "wm floor", "seed", "quarter", "median", "50% band", "90% band",
        "share points", "compute", "FLOP", "world-model knowledge", "difficulty", "cash", "investment share",
    ]  # fmt: skip
    assert not [term for term in required if term not in GLOSSARY]
    for term, text in GLOSSARY.items():
        assert not SNAKE_CASE.search(text) and not SNAKE_CASE.search(term), term
        sentences = len(re.findall(r"[.!?](?=\s|$)", text))
        assert 1 <= sentences <= 2 and text.endswith("."), term
        assert "logit" not in text.lower(), term


def test_every_chart_title_maps_to_the_glossary(run):
    for key, (title, _) in {**charts.FIRM_CHARTS, **charts.MARKET_CHARTS}.items():
        assert explain(title), key
    for name, spec in all_specs(run).items():
        title = spec["title"]["text"]
        assert explain(title), name
        for text in titles_of(spec):
            for acronym in re.findall(r"\b(?:[A-Z]{2,}[a-z]?|GWh)\b|\$B", text):
                assert acronym in explain(text) or any(acronym in t for t in explain(text)), f"{name}: {acronym}"


def test_explain_finds_whole_words_in_any_case_and_prefers_the_longer_term():
    assert explain("the llm path") == ["LLM"]
    assert explain("ALLMS and FLOPPY") == []
    assert explain("Payback of the next LLM dollar") == ["payback", "LLM"]
    assert explain("LLM ceiling: believed vs evidence") == ["LLM ceiling", "evidence"]
    assert explain("Market concentration (HHI)") == ["concentration", "HHI"]
    assert explain(["World-model", "knowledge"]) == ["world-model knowledge"]
    assert explain("two world models") == ["world model"]


# --- in a browser --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chart_page():
    sync_api = pytest.importorskip("playwright.sync_api")
    from viz.browser import chromium_path, launch

    if chromium_path() is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 700, "height": 700})
        yield page
        browser.close()


def test_charts_pass_axe_and_name_themselves_for_screen_readers(chart_page, run):
    """axe-core finds no serious or critical problem in drawn charts (empty, full, bars), and each
    chart's element carries its role and its description as its accessible name."""
    from viz.browser import axe_violations, render_chart

    empty = charts.firm_chart(run.table.iloc[:0], "llm_payback", run.firms, run.domain, [])
    full = charts.firm_chart(run.table, "quality", run.firms, run.domain, run.events, size="large")
    terms = quarter_explanation(run.table, run.model.config, run.firms[0], int(run.table.step.max())).effects
    bars = charts.drivers_chart(terms, run.firms[0])
    for spec in (empty, full, bars):
        render_chart(chart_page, spec, width=640)
        assert axe_violations(chart_page) == []
        role, label = chart_page.eval_on_selector(
            "[role='graphics-document']", "e => [e.getAttribute('role'), e.getAttribute('aria-label')]"
        )
        assert (role, label) == ("graphics-document", spec["description"])
        assert chart_page.locator("#chart svg").count() == 1


def test_the_y_scale_follows_data_swapped_into_a_drawn_chart(chart_page, run):
    """As the UI does each quarter (viz/vega.vue): draw once, then swap only the data in."""
    from viz.browser import render_chart

    early = run.table[run.table.step < 2]
    render_chart(chart_page, charts.firm_chart(early, "ai_revenue", run.firms, run.domain, []), renderer="canvas")
    later = charts.firm_chart(run.table[run.table.step < 12], "ai_revenue", run.firms, run.domain, run.events)
    top = chart_page.evaluate(
        """async ([lines, events]) => {
            window.chartView.data('lines', lines).data('events', events);
            await window.chartView.runAsync();
            return window.chartView.scale('y').domain()[1];
        }""",
        [later["data"]["values"], run.events],
    )
    highest = max(v["value"] for v in later["data"]["values"] if v["value"] is not None)
    assert top == pytest.approx(highest * charts.HEADROOM)


VISIBLE_STARS = """star => {
    const found = [];
    const walk = (node) => {
        if (!node) return;
        if (node.items) node.items.forEach(walk);
        if (node.marktype === 'symbol') {
            node.items.forEach(item => {
                if (item.shape === star && item.opacity > 0) found.push(item);  // NaN: not drawn on canvas
            });
        }
    };
    walk(window.chartView.scenegraph().root);
    return found.length;
}"""


def test_every_breakthrough_is_drawn_as_a_visible_star_with_a_legend_entry(chart_page, run):
    """The stars were in the spec but got NaN opacity (Vega-Lite's default scale for it), and the
    canvas drew none: count the stars Vega draws with an opacity, and the star in the legend."""
    from viz.browser import render_chart

    spec = charts.firm_chart(run.table, "x", run.firms, run.domain, run.events)
    render_chart(chart_page, spec, width=640)
    drawn = chart_page.evaluate(VISIBLE_STARS, charts.STAR)
    assert drawn == len(run.events) + 1  # each breakthrough, and the legend's symbol


def test_every_bar_number_fits_inside_the_why_chart(chart_page):
    """With every term pulling one way, the zero line sat at the plot's edge and a "+0.0" placed
    across it was cut off: each number must lie inside the drawn chart, for bars all one way or mixed."""
    from viz.browser import render_chart

    names = ["expected value", "revenue feedback", "competitive pressure", "scaling optimism", "sunk cost"]
    for values in ([-12.0, -3.5, -0.4, 0.0, -7.0], [12.0, 3.5, 0.4, 0.0, 7.0], [-12.0, 9.0, 0.0, -0.2, 4.0]):
        render_chart(chart_page, charts.drivers_chart(dict(zip(names, values, strict=True)), "Meta-like"), width=400)
        bounds = chart_page.evaluate(TEXT_BOUNDS)
        width = chart_page.evaluate("window.chartView.width()")
        numbers = [b for b in bounds if b["text"].startswith(("+", "-", "\u2212"))]
        assert len(numbers) == len(values)
        for number in numbers:
            assert number["x1"] >= 0 and number["x2"] <= width, (values, number)


TEXT_BOUNDS = """() => {
    const found = [];
    const walk = (node) => {
        if (!node) return;
        if (node.items) node.items.forEach(walk);
        if (node.marktype === 'text' && node.role === 'mark') {
            node.items.forEach(item => found.push({text: String(item.text), x1: item.bounds.x1, x2: item.bounds.x2}));
        }
    };
    walk(window.chartView.scenegraph().root);
    return found;
}"""
