"""Class mode over the network: the students' and the teacher's pages and the JSON API behind them.

Plain Starlette routes (no Solara) installed in front of the UI server's own (`install`), so they share
its process, its guard (`viz.guard`) and the registry of class sessions (`Classrooms`) with the UI's
Class tab. The pages are small static files in ``viz/classroom/`` that poll the API about once a second:
light enough for phones and 40 students on one laptop, and nothing to reconnect after a lost network or
a server restart.

Who may do what:
- ``/class`` (the students' page) and ``/class/api/join``: anyone who can reach the server, but joining
  needs the class's join code, and wrong codes are throttled per client address (`Throttle`).
- ``/class/api/me``, ``/class/api/decide``: a student, by the personal code ``join`` gave them (header
  ``X-Personal-Code``); each code acts for its own firm only, and sees public quantities only.
- ``/class/teacher`` and ``/class/api/teacher/...``: the teacher, by the session's secret (header
  ``X-Teacher-Secret``; the teacher's link carries it after ``#``, which browsers never send to a server).
Every decision is checked again here and in `sim.classroom` (bounds, numbers, own firm).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from sim.classroom import DRIVERS_MARGIN, ClassSession, Seat, SeatRemoved, shown_code
from sim.params import ParameterError

PAGES = Path(__file__).with_name("classroom")
STATIC_FILES = ("common.js", "student.js", "teacher.js", "class.css")
MAX_SESSIONS = 20
"""Unfinished class sessions one server runs at once (each is a model of a few firms: small)."""
ABANDONED_HOURS = 12
"""An unfinished session untouched this long is taken as abandoned: not resumed, not counted."""
TICK_SECONDS = 0.2
"""How often the clock checks whether a quarter is due."""
log = logging.getLogger("aisim.class")


class Throttle:
    """At most ``limit`` wrong codes or secrets per client address in ``window`` seconds. Past it, the
    address may not try to join (right code or not, or it could go on guessing the 6-digit join code and
    see when it hit: at 30 a minute, trying them all takes 23 days), and its wrong personal codes and
    teacher secrets get "wait" instead of "wrong"; a right personal code or secret always works (each is
    far too long to guess), so one student's typos never lock their classmates out behind one address."""

    def __init__(self, limit: int = 30, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self.failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        with self._lock:
            times = self.failures.get(client)
            if times is None:
                return False
            now = self.clock()
            while times and now - times[0] > self.window:
                times.popleft()
            if not times:
                del self.failures[client]
            return len(times) >= self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            self.failures.setdefault(client, deque()).append(self.clock())


class Classrooms:
    """The class sessions this server runs, each saved in ``folder`` as ``JOINCODE.json`` after every
    change, and found again there after a restart; and the clock that runs their quarters."""

    def __init__(self, folder: str | Path, share_base: str = "http://127.0.0.1:8765", reachable: bool = False):
        self.folder = Path(folder)
        self.share_base = share_base.rstrip("/")
        self.reachable = reachable  # whether other devices can reach this server (it listens beyond loopback)
        self.sessions: dict[str, ClassSession] = {}
        self._lock = threading.RLock()
        self._clock: threading.Thread | None = None

    def load_saved(self) -> list[ClassSession]:
        """Every session saved in the folder (a restart: each goes on where it was); unreadable files are
        reported in the log and left as they are."""
        loaded = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                session = ClassSession.load(path)
            except ParameterError as err:
                log.warning("class session not loaded: %s", err)
                continue
            with self._lock:
                self.sessions[session.join_code] = session
            loaded.append(session)
        return loaded

    def create(
        self,
        scenario: str,
        seed: int = 42,
        quarters: int | None = None,
        quarter_seconds: float = 90.0,
        start_quarter: int = 0,
    ) -> ClassSession:
        """A new session with a join code no other session here (or file in the folder) has, saved from the
        start, in a folder only its owner can read (the files hold the teacher's secret and the codes); its
        firms follow the scenario up to ``start_quarter`` (`ClassSession.skip_to`), then the class plays
        ``quarters`` (default: to the scenario's end)."""
        with self._lock:
            if len(self.unfinished()) >= MAX_SESSIONS:
                raise ParameterError(f"this server already runs {MAX_SESSIONS} class sessions; finish one first")
            taken = lambda code: code in self.sessions or (self.folder / f"{code}.json").exists()  # noqa: E731
            code = next(c for c in iter(lambda: f"{secrets.randbelow(10**6):06d}", None) if not taken(c))
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            steps = None if quarters is None else int(start_quarter) + int(quarters)
            session = ClassSession(
                scenario, seed, steps, join_code=code, autosave=self.folder / f"{code}.json",
                quarter_seconds=quarter_seconds,
            )  # fmt: skip
            session.skip_to(start_quarter)
            session.save(session.autosave)
            self.sessions[code] = session
            return session

    def unfinished(self) -> list[ClassSession]:
        """The sessions not over yet and saved in the last `ABANDONED_HOURS` (older ones were abandoned),
        the latest saved last."""
        with self._lock:
            sessions = list(self.sessions.values())
        recent = [(s, _saved_at(s)) for s in sessions if s.model.running]
        recent = [(s, when) for s, when in recent if time.time() - when < ABANDONED_HOURS * 3600]
        return [s for s, _ in sorted(recent, key=lambda pair: pair[1])]

    def by_join_code(self, code: str) -> ClassSession | None:
        return self.sessions.get("".join(str(code).split()))

    def by_personal_code(self, code: str) -> tuple[ClassSession, Any] | None:
        """The session and seat of a personal code, or None; a removed seat's code raises `SeatRemoved`."""
        for session in list(self.sessions.values()):
            try:
                return session, session.seat(code)
            except SeatRemoved:
                raise
            except ParameterError:
                continue
        return None

    def by_teacher_secret(self, secret: str) -> ClassSession | None:
        for session in list(self.sessions.values()):
            try:
                session.check_teacher(secret)
            except ParameterError:
                continue
            return session
        return None

    def links(self, session: ClassSession) -> dict[str, str]:
        """The students' join link and the teacher's link (with its secret after ``#``)."""
        return {
            "join": f"{self.share_base}/class",
            "teacher": f"{self.share_base}/class/teacher#secret={session.teacher_secret}",
        }

    def start_clock(self) -> None:
        """Run due quarters of playing sessions, in a daemon thread, every `TICK_SECONDS`."""
        if self._clock is None:
            self._clock = threading.Thread(target=self._run_clock, daemon=True, name="aisim-class-clock")
            self._clock.start()

    def _run_clock(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            for session in list(self.sessions.values()):
                try:
                    session.tick()
                except Exception:  # one broken session must not stop the others' clock
                    log.exception("class %s: the quarter could not run", session.join_code)


def _saved_at(session: ClassSession) -> float:
    """When a session was last saved (0 without a file)."""
    try:
        return session.autosave.stat().st_mtime if session.autosave else 0.0
    except OSError:
        return 0.0


@functools.lru_cache(maxsize=64)
def qr_svg(text: str) -> str:
    """A QR code of ``text`` as inline SVG (segno: pure Python, no network)."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False, svgns=True)
    return out.getvalue().decode()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection)."""


def debrief_csv(session: ClassSession) -> str:
    """The debrief as CSV, with the students' names made safe to open in a spreadsheet (a name such as
    ``=HYPERLINK(...)`` is written as text, with a leading ``'``)."""
    table = session.debrief()
    if len(table):
        table["student"] = [f"'{name}" if name.startswith(FORMULA_STARTS) else name for name in table.student]
    return table.to_csv(index=False)


SUMMARY_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em} table{border-collapse:collapse;margin-bottom:1.5em} "
    "td,th{border-bottom:1px solid #ccc;padding:3px 8px;text-align:left}"
)
SUMMARY_COLUMNS = (
    "Student", "Firm", "Decisions handed in", "played", "biased firm", "expected value", "played", "biased firm",
    "expected value", "Drivers matching",
)  # fmt: skip
SUMMARY_GROUPS = (
    '<tr><th colspan="3"></th><th colspan="3">Share of the AI budget on LLMs</th>'
    '<th colspan="3">Market share at the end</th><th></th></tr>'
)
HIDDEN_WORDS = {
    "llm_ceiling": "the true LLM ceiling (LLM quality; 1 is the best LLM of 2025)",
    "wm_difficulty": "the research knowledge a world-model breakthrough needed",
}


def summary_html(session: ClassSession, hidden: dict[str, float]) -> str:
    """The debrief on one printable page: the world's hidden truth, the final market, and each student's
    decisions beside the model's rules."""
    debrief = session.debrief()
    status, market = session.status(), session.market()
    rows = []
    for firm, values in market["firms"].items():
        team = ", ".join(escape(member["name"]) for member in status["teams"][firm]) or "the model's rule"
        share = f"{values['market_share'][-1]:.1%}" if values["market_share"] else ""
        rows.append(f"<tr><td>{escape(firm)}</td><td>{team}</td><td>{share}</td></tr>")
    students = []
    for (student, firm), table in debrief.groupby(["student", "firm"], sort=False) if len(debrief) else ():
        last = table.iloc[-1]
        drivers = ", ".join(sorted({d for text in table.drivers for d in text.split(", ") if d})) or "none"
        cells = [
            student, firm, f"{table.student_target.notna().sum()} of {len(table)}",
            *(f"{table[column].mean():.0%}" for column in ("x", "biased_x", "expected_value_x")),
            *(f"{last[column]:.1%}" for column in ("share", "biased_share", "expected_value_share")), drivers,
        ]  # fmt: skip
        students.append("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in cells) + "</tr>")
    head = "".join(f"<th>{title}</th>" for title in SUMMARY_COLUMNS)
    truth = ", ".join(f"{escape(HIDDEN_WORDS.get(k, k))}: {v:g}" for k, v in hidden.items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Class debrief {session.join_code}</title>
<style>{SUMMARY_STYLE}</style></head><body>
<h1>Class debrief: {escape(status["title"])}</h1>
<p>Scenario <code>{escape(session.scenario_name)}</code>, seed {session.seed}: the class played
{status["quarter"] - session.start_quarter} quarters, to {status["last_label"]}.
What no firm could see: {truth}.</p>
<h2>The market at the end</h2><table><tr><th>Firm</th><th>Run by</th><th>Market share</th></tr>{"".join(rows)}</table>
<h2>Each student beside the model's firms</h2>
<p>Mean share of the AI budget on LLMs while the student ran the firm: the firm as played, the model's biased firm and
the all-drivers-off (expected value) firm in the same world (same seed); the market share at the end in each; the
drivers that pushed toward LLMs in the quarters the team's target was more than {100 * DRIVERS_MARGIN:.0f} points above
expected value's.</p>
<table>{SUMMARY_GROUPS}<tr>{head}</tr>{"".join(students)}</table>
<h2>Questions</h2><ol><li>When did your team first move money toward world models, and what told you to?</li>
<li>Which of the drivers did you feel: rivals' moves, revenue, money already spent, investors, hope?</li>
<li>Where did you beat the model's biased firm, and where did the expected-value firm beat you?</li></ol>
</body></html>"""


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(_finite(data)), status_code=status, media_type="application/json")


def _finite(value: Any) -> Any:
    """JSON without NaN or infinities (which browsers' JSON.parse refuses): they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _error(text: str, status: int = 400) -> Response:
    return _json({"error": text}, status)


class Throttled(ParameterError):
    """A client past its limit of wrong codes (answered 429)."""


WAIT = "too many wrong codes from this device: wait a minute and try again"


def routes(classrooms: Classrooms, throttle: Throttle | None = None) -> list[Route]:
    """The class pages and API (see the module docstring). Session work runs in a worker thread, never on
    the event loop that also carries the UI's WebSockets."""
    throttle = throttle or Throttle()

    def client(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ParameterError("the request's body is not JSON") from None
        if not isinstance(data, dict):
            raise ParameterError("the request's body is not a JSON object")
        return data

    def guarded(handler: Callable) -> Callable:
        """A handler whose `ParameterError` becomes a 400 with its text, a refusal for too many wrong codes a
        429, and any other error a 500 with one line (the traceback goes to the server log)."""

        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except Throttled as refusal:
                return _error(str(refusal), 429)
            except ParameterError as err:
                return _error(str(err))
            except Exception:
                log.exception("class mode: %s %s failed", request.method, request.url.path)
                return _error("something went wrong on the server; the teacher can see the details in its log", 500)

        return endpoint

    def wrong(request: Request, what: str) -> ParameterError:
        """Count a wrong code from this client; past the limit, say "wait" (`Throttled`) instead of "wrong"."""
        if throttle.blocked(client(request)):
            return Throttled(WAIT)
        throttle.failed(client(request))
        return ParameterError(what)

    def student(request: Request) -> tuple[ClassSession, Seat]:
        code = request.headers.get("x-personal-code", "")
        what = "personal code: not a seat in any class here; check it, or join with the class code"
        if not code:
            raise ParameterError(what)  # no guess at all: not counted
        found = classrooms.by_personal_code(code)
        if found is None:
            raise wrong(request, what)
        return found

    def teacher(request: Request) -> ClassSession:
        secret = request.headers.get("x-teacher-secret", "")
        what = "teacher secret: wrong; open the teacher's link that `aisim class` printed"
        if not secret:
            raise ParameterError(what)  # a teacher's tab opened without the link: not a guess, not counted
        session = classrooms.by_teacher_secret(secret)
        if session is None:
            raise wrong(request, what)
        return session

    async def join(request: Request) -> Response:
        if throttle.blocked(client(request)):  # the join code is short: no try at all once past the limit
            raise Throttled(WAIT)
        data = await body(request)
        session = classrooms.by_join_code(str(data.get("code", "")))
        if session is None:
            raise wrong(request, "join code: no class with this code here; check the code on the teacher's screen")
        seat = await run_in_threadpool(session.join, str(data.get("name", "")), session.join_code)
        return _json({"code": shown_code(seat.token), "firm": seat.firm})

    def unchanged(session: ClassSession, known: str | None) -> dict[str, Any] | None:
        """The short answer to a page that already shows this version of the session, else None."""
        return {"unchanged": True, "seconds_left": session.seconds_left()} if known == str(session.version) else None

    def screen(session: ClassSession, seat: Seat, known: str | None) -> dict[str, Any]:
        return unchanged(session, known) or {**session.screen(seat.token), "market": session.market()}

    async def me(request: Request) -> Response:
        session, seat = student(request)
        return _json(await run_in_threadpool(screen, session, seat, request.query_params.get("known")))

    async def decide(request: Request) -> Response:
        session, seat = student(request)
        data = await body(request)
        await run_in_threadpool(session.submit, seat.token, data.get("x"), data.get("investment_share"))
        return _json(await run_in_threadpool(screen, session, seat, None))

    def teacher_view(session: ClassSession, known: str | None = None) -> dict[str, Any]:
        if same := unchanged(session, known):
            return same
        links = classrooms.links(session)
        return {
            **session.status(),
            "scenario": session.scenario_name,
            "seed": session.seed,
            "join_code": session.join_code,
            "join_link": links["join"],
            "qr": qr_svg(links["join"]),
            "market": session.market(),
        }

    async def teacher_state(request: Request) -> Response:
        session = teacher(request)
        return _json(await run_in_threadpool(teacher_view, session, request.query_params.get("known")))

    async def control(request: Request) -> Response:
        session = teacher(request)
        action = request.path_params["action"]
        data = await body(request)
        actions = {
            "play": lambda: session.play(data.get("seconds")),
            "pause": session.pause,
            "advance": session.advance,
            "extend": lambda: session.extend(data.get("seconds", 30)),
            "remove": lambda: session.remove(data.get("seat")),
        }
        if action == "reveal":
            return _json({"hidden": session.hidden()})
        if action not in actions:
            return _error(f"action: {action!r} is not one of {', '.join([*actions, 'reveal'])}", 404)
        await run_in_threadpool(actions[action])
        return _json(await run_in_threadpool(teacher_view, session))

    async def debrief(request: Request) -> Response:
        session = teacher(request)
        kind = request.path_params["kind"]
        name = f"class-{session.join_code}-debrief"
        if kind == "json":
            table = await run_in_threadpool(session.debrief)
            return _json({"rows": json.loads(table.to_json(orient="records"))})
        if kind == "csv":
            text = await run_in_threadpool(debrief_csv, session)
            media, name = "text/csv", f"{name}.csv"
        elif kind == "html":
            text = await run_in_threadpool(summary_html, session, session.hidden())
            media, name = "text/html", f"{name}.html"
        else:
            return _error(f"debrief: {kind!r} is not json, csv or html", 404)
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        return Response(text, media_type=media, headers=headers)

    async def page(request: Request) -> Response:
        name = "teacher.html" if request.url.path == "/class/teacher" else "student.html"
        return FileResponse(PAGES / name, headers={"cache-control": "no-store"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return PlainTextResponse("Not found.", status_code=404)
        return FileResponse(PAGES / name, headers={"cache-control": "no-cache"})

    async def elsewhere(request: Request) -> Response:
        """Every other path under /class: the pages with a slash too many, or 404 (never the UI's own pages,
        which need the UI's token)."""
        path = request.url.path.rstrip("/")
        if path in ("/class", "/class/teacher"):
            return RedirectResponse(path, status_code=307)
        return PlainTextResponse("Not found.", status_code=404)

    return [
        Route("/class", page),
        Route("/class/teacher", page),
        Route("/class/static/{name}", static),
        Route("/class/api/join", guarded(join), methods=["POST"]),
        Route("/class/api/me", guarded(me)),
        Route("/class/api/decide", guarded(decide), methods=["POST"]),
        Route("/class/api/teacher", guarded(teacher_state)),
        Route("/class/api/teacher/debrief.{kind}", guarded(debrief)),
        Route("/class/api/teacher/{action}", guarded(control), methods=["POST"]),
        Route("/class/{rest:path}", elsewhere, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    ]


def install(app, classrooms: Classrooms) -> None:
    """Put the class routes in front of a Starlette app's own (Solara's catch-all page route included)."""
    app.router.routes[:0] = routes(classrooms)
    classrooms.start_clock()


CLASSROOMS: Classrooms | None = None
"""The server's class sessions, when it serves class mode (set by `viz.__main__`; the UI's Class tab uses it)."""
