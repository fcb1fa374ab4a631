"""A Vega-Lite chart widget that redraws at once when its spec changes.

Solara's own Vega-Lite widget waits 100 ms before each redraw and rebuilds the chart every
time; at five steps a second that is most of the time between steps. This one redraws as
soon as the spec arrives and, when only the data changed, swaps the data into the existing
view instead of rebuilding it. The spec travels as a JSON string, which the UI framework
passes through without walking every data point. Charts redrawn every quarter use the canvas
renderer (faster); the others draw SVG. Vega-Embed's menu saves each chart as SVG or PNG.
"""

from __future__ import annotations

from pathlib import Path

import ipyvue
import traitlets


class VegaChart(ipyvue.VueTemplate):
    """A chart from a Vega-Lite spec, given as JSON text (see `viz.app.Chart`)."""

    template_file = str(Path(__file__).with_name("vega.vue"))
    spec = traitlets.Unicode("{}").tag(sync=True)
    title = traitlets.Unicode("chart").tag(sync=True)
    description = traitlets.Unicode("").tag(sync=True)  # what the chart shows, for screen readers
    version = traitlets.Int(0).tag(sync=True)
    renderer = traitlets.Unicode("svg").tag(sync=True)  # "canvas" redraws faster; "svg" keeps marks in the page
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)
