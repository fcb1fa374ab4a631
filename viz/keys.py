"""Keyboard shortcuts: space plays or pauses, the right arrow steps, R resets, P presents.

In presentation mode the up and down arrows change the chart and Escape leaves it. The
browser sends each key press as ``action:count``, the count being the presses of that action
so far: presses quicker than the server reads them may arrive as one change, and
`presses_since` says how many there were.
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
ACTIONS = ("play", "step", "reset", "present", "leave", "next", "previous")


class KeyboardShortcuts(ipyvue.VueTemplate):
    """Listens for the shortcuts on the whole page; ``pressed`` is the latest, as ``action:count``."""

    template_file = str(Path(__file__).with_name("keys.vue"))
    pressed = traitlets.Unicode("").tag(sync=True)


def presses_since(pressed: str, seen: dict[str, int]) -> tuple[str, int]:
    """The action of a ``pressed`` value ("step:7") and how many presses of it are new since the
    counts in ``seen`` (updated; a count below the one seen means the page's listener started
    again, from 1); ("", 0) for a value that is not one (a crafted message)."""
    action, _, count = pressed.partition(":")
    if action not in ACTIONS or not (count.isascii() and count.isdigit()):
        return "", 0
    count = int(count)
    before = seen.get(action, 0)
    seen[action] = count
    return action, count - before if count > before else (count if count < before else 0)  # smaller: a new page
