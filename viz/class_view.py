"""The Class tab: a teacher starts a class session of the scenario on screen, and gets the join code,
the join link with its QR code, and the link to the teacher's screen (`viz.classroom_web` serves both).
"""

from __future__ import annotations

import html

import solara

from sim.params import ParameterError
from viz import classroom_web
from viz.session import Session

QUARTER_SECONDS = {"1 minute": 60.0, "90 seconds": 90.0, "2 minutes": 120.0, "3 minutes": 180.0}
QUARTERS = {"12 quarters (3 years)": 12, "20 quarters (5 years)": 20, "to the scenario's end": None}
START = {"at the start (2025)": 0, "in 2027 (the model's firms play the first 2 years)": 8, "in 2028": 12}
"""When the class takes over: early on, the model's expected-value and biased firms both bet on LLMs (the
early bet is sound); the drivers tell them apart once the evidence turns, from about 2028."""


def Notice(text: str):
    """A warning in dark text on pale yellow (Vuetify's own warning colours fall short of 4.5:1 contrast)."""
    solara.HTML(
        tag="p",
        unsafe_innerHTML=html.escape(text),
        style="background: #fff4d6; border: 1px solid #b58900; color: #3d2e00; padding: 8px 12px; max-width: 60em",
    )


@solara.component
def ClassView(session: Session):
    """Start a class session with this scenario and seed; the session's codes and links once started."""
    started, set_started = solara.use_state(None)
    seconds, set_seconds = solara.use_state("90 seconds")
    quarters, set_quarters = solara.use_state("20 quarters (5 years)")
    start_in, set_start_in = solara.use_state("in 2028")
    error, set_error = solara.use_state("")
    classrooms = classroom_web.CLASSROOMS
    solara.Markdown(
        "**Class mode**: every student runs a firm from their own laptop or phone, and the class watches the "
        "market move on the projector. Students open the join link and type the class code; each gets a firm "
        "(teams share one once every firm has a student), and firms without a student follow the model's own "
        "rule. A quarter runs when every student has handed in, or when its time is up."
    )
    if classrooms is None:
        Notice("Class mode needs the aisim server: start it with aisim class (see docs/TEACHING.md).")
        return
    if not classrooms.reachable:
        Notice(
            "This server listens on this machine only: students' devices cannot reach it. Stop it and start "
            "aisim class --host 0.0.0.0 to share it on your school network."
        )

    def start():
        try:
            created = classrooms.create(
                session.scenario_name, session.seed, QUARTERS[quarters], QUARTER_SECONDS[seconds], START[start_in]
            )
        except (ParameterError, OSError) as err:
            set_error(str(err))
            return
        set_error("")
        set_started(created)

    with solara.Row(style={"flex-wrap": "wrap", "gap": "16px", "align-items": "center"}):
        solara.Select("Time for each quarter", value=seconds, values=list(QUARTER_SECONDS), on_value=set_seconds)
        solara.Select("The class takes over", value=start_in, values=list(START), on_value=set_start_in)
        solara.Select("Length of the game", value=quarters, values=list(QUARTERS), on_value=set_quarters)
        solara.Button(
            f"Start a class session: {session.base.title}, seed {session.seed}", on_click=start, color="primary"
        )
    solara.Text(
        "Your edits under Parameters are not carried over: the class plays the scenario as it is. Until about "
        "2028 the model's own firms bet on LLMs with or without the drivers (the early bet is sound): taking over "
        "in 2028 gives the debrief more to compare."
    )
    if error:
        solara.Error(error)
    if started is not None:
        links = classrooms.links(started)
        with solara.Row(style={"flex-wrap": "wrap", "gap": "32px", "align-items": "center"}):
            with solara.Column():
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=(
                        f"<p>Students open <b>{html.escape(links['join'])}</b> and type the class code</p>"
                        f'<p style="font-size: 40px; font-weight: 800; letter-spacing: 4px">{started.join_code}</p>'
                        f'<p><a href="{html.escape(links["teacher"])}" target="_blank" rel="noopener">Open the '
                        "teacher's screen</a> (for the projector; the link holds your controls: keep it to "
                        "yourself)</p>"
                    ),
                )
            solara.HTML(tag="div", unsafe_innerHTML=classroom_web.qr_svg(links["join"]))
