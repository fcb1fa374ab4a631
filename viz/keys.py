"""Keyboard shortcuts: space plays or pauses, the right arrow steps, R resets, P presents.

In presentation mode the up and down arrows change the chart and Escape leaves it. The
browser sends each key press as ``action:count`` (the count makes two presses of one key
two changes); `viz.app` acts on it.
"""

from __future__ import annotations

from pathlib import Path

import ipyvue
import traitlets

SHORTCUTS = {
    "Space": "play or pause",
    "→": "one quarter",
    "R": "reset",
    "P": "presentation mode on or off",
    "↑ ↓": "previous or next chart (presentation mode)",
    "Esc": "leave presentation mode",
}
"""Key -> what it does, as the page lists them."""


class KeyboardShortcuts(ipyvue.VueTemplate):
    """Listens for the shortcuts on the whole page; ``pressed`` is the latest, as ``action:count``."""

    template_file = str(Path(__file__).with_name("keys.vue"))
    pressed = traitlets.Unicode("").tag(sync=True)


def action_of(pressed: str) -> str:
    """The action of a ``pressed`` value ("play:3" -> "play")."""
    return pressed.partition(":")[0]
