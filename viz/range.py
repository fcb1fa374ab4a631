"""A slider that screen readers can name: a labelled native ``<input type="range">``.

Vuetify's slider gives its thumb no accessible name, which an accessibility check reports
as serious; this one is a plain labelled input, moved with the mouse or the arrow keys.
"""

from __future__ import annotations

from pathlib import Path

import ipyvue
import traitlets


class RangeInput(ipyvue.VueTemplate):
    """Whole numbers from ``min`` to ``max``; ``value`` follows the slider as it moves."""

    template_file = str(Path(__file__).with_name("range.vue"))
    label = traitlets.Unicode("").tag(sync=True)
    min = traitlets.Int(0).tag(sync=True)
    max = traitlets.Int(100).tag(sync=True)
    value = traitlets.Int(0).tag(sync=True)
