"""A notice over the page when it has lost its server: the server stopped or restarted, or closed
an idle session. Solara 1.64's own overlay for this fails to draw (a Vue error in its Vuetify 3
app) and its reconnection stops there, so without this a dead page looks alive."""

from __future__ import annotations

from pathlib import Path

import ipyvue
import traitlets

DISCONNECTED = (
    "Disconnected from the server (it stopped or restarted, or closed this idle session). "
    "Reload the page to start again."
)


class ConnectionWatch(ipyvue.VueTemplate):
    """Watches the page's connection (see connection.vue); shows ``message`` while it is lost."""

    template_file = str(Path(__file__).with_name("connection.vue"))
    message = traitlets.Unicode(DISCONNECTED).tag(sync=True)
