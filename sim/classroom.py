"""Class mode's core: a class plays one scenario, each student (or team) running a firm, quarter by quarter.

A `ClassSession` holds the model, the seats (which student runs which firm, with a personal code each)
and the decisions handed in for the coming quarter. A student's firm is on the ``student`` policy
(`sim.policies.STUDENT`): its students set a target split between LLM scaling and world-model research
and the share of the firm's investment capacity to use, and the firm moves toward them at its own
adjustment speed, as the model's own firms do (no research organisation turns round in one quarter).
A target stands until changed: a quarter without a new decision keeps moving toward the last one. With
more students than firms, students share firms in teams; a team's decision is the last one handed in by
any of its members. Firms without a student follow their policy in the scenario (the model's own rule
unless it names another). The same mechanisms and random numbers as the single-player model run
underneath, so a session replays exactly: it is saved as its scenario, seed, seats and every decision
handed in (`save`, after every decision and every quarter when autosaving), and `load` rebuilds it by
replaying them. The screens and the network around it (`viz.classroom_web`) are its clients; nothing
here knows about them.

Thread-safe: students may hand in decisions while the teacher (or the timer) advances the quarter.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.arrays import plain
from sim.files import write_atomically
from sim.mechanisms import investment_step, llm_carries_product, run_constants
from sim.model import AIRaceModel
from sim.outputs import quarter_label
from sim.params import ParameterError
from sim.policies import STUDENT, Decision, FirmView, Hold, Policy, make_policy
from sim.scenarios import load_scenario
from sim.variables import DRIVER_TERMS

PUBLIC_OWN = (
    "cash", "ai_revenue", "market_share", "budget", "x", "x_target", "investment_share", "llm_quality",
    "wm_quality", "wm_knowledge", "believed_difficulty", "wm_breakthrough", "llm_sunk", "wm_sunk", "believed_ceiling",
    "evidence_ceiling", "confidence", "valuation", "alive", "active",
)  # fmt: skip
"""A student's own firm's variables on their screen (never the true ceiling or difficulty, nor the true
payback of the next LLM dollar)."""
PUBLIC_RIVAL = ("market_share", "llm_quality", "wm_quality", "wm_breakthrough", "llm_spend", "alive")
"""What a student sees of every other firm (and what the class's market chart shows of every firm)."""
SAVE_VERSION = 2
MAX_STUDENTS = 60
MAX_NAME = 40
DRIVERS_MARGIN = 0.05
"""The debrief names the drivers of a quarter only when the team's target was this far above expected value's."""
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""A student's personal code: letters and digits that cannot be mistaken for one another (no 0/O, 1/I)."""
CODE_LENGTH = 10
"""32^10 = 2^50 codes: not guessable at the rate the server lets wrong codes through."""
DEFAULT_QUARTER_SECONDS = 90.0


def new_personal_code() -> str:
    """A new personal code, e.g. ``K7QF2MXA9P`` (shown as ``K7QF2-MXA9P``)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def shown_code(code: str) -> str:
    """A personal code as a student reads and types it: two groups of five."""
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


def _normalised(text: object) -> str:
    """A typed code without spaces or dashes, in capitals (``k7qf2-mxa9p`` is ``K7QF2MXA9P``)."""
    return "".join(str(text).split()).replace("-", "").upper()


class SeatRemoved(ParameterError):
    """A personal code of a seat the teacher removed (a right code: not a guess)."""


@dataclass(frozen=True)
class Seat:
    """A student at a firm: their display name, the personal code that lets them act for it (and only
    it), and the quarter they joined in."""

    firm: str
    name: str
    token: str
    since: int = 0


@dataclass(frozen=True)
class Choice:
    """A decision handed in: ``x``, the target share of the AI budget on LLM scaling, and
    ``investment_share``, the target share of the firm's investment capacity to use (None: keep the last
    one)."""

    x: float
    investment_share: float | None = None


@dataclass(frozen=True)
class Advice:
    """What the firm's own state said when a quarter's decision was made: the model's biased rule's and
    the expected-value rule's targets, and the five drivers' pushes toward LLMs (logit units)."""

    biased: float
    expected_value: float
    terms: dict[str, float]


class StudentPolicy(Hold):
    """The ``student`` policy of a firm students run: the firm's own policy in the scenario (``before``)
    until a student took it over (quarter ``since``), then a move at the firm's adjustment speed toward
    the latest target its students handed in (kept from quarter to quarter until changed)."""

    def __init__(self, firm: str, since: int, before: Policy):
        self.firm = firm
        self.since = since
        self.before = before
        self.standing: Choice | None = None
        self.advice: dict[int, Advice] = {}  # by quarter, for the debrief

    def hand_in(self, choice: Choice) -> None:
        """The students' new target (an investment target of None keeps the last one); it stands until changed,
        also through quarters the firm does not decide in (before it enters the market)."""
        kept = None if self.standing is None else self.standing.investment_share
        self.standing = Choice(choice.x, kept if choice.investment_share is None else choice.investment_share)

    def decide(self, view: FirmView) -> Decision:
        if view.quarter < self.since:
            return self.before.decide(view)
        self.advice[view.quarter] = Advice(view.default.target, view.expected_value.target, dict(view.terms))
        if self.standing is None:
            return super().decide(view)
        share = self.standing.investment_share
        if share is not None:
            share = float(investment_step(np.float64(view.investment_share), share, view.adjustment_speed))
        return Decision(x=view.toward(self.standing.x), investment_share=share, target=self.standing.x)


class SwitchAt(Hold):
    """The firm's policy in the scenario (``before``) until quarter ``since``, then ``after``: a students'
    firm in the debrief's comparison runs, run by one of the model's rules from when the students took over."""

    def __init__(self, since: int, before: Policy, after: Policy):
        self.since, self.before, self.after = since, before, after

    def decide(self, view: FirmView) -> Decision:
        return (self.before if view.quarter < self.since else self.after).decide(view)


class ClassSession:
    """One class playing one scenario with one seed. Students `join` (each gets a firm and a personal
    code), hand in decisions with `submit`, and `advance` runs the quarter (or `tick`, when the quarter is
    due, while the session plays)."""

    def __init__(
        self,
        scenario: str = "baseline",
        seed: int = 42,
        steps: int | None = None,
        join_code: str | None = None,
        teacher_secret: str | None = None,
        autosave: str | Path | None = None,
        clock: Callable[[], float] = time.time,
        quarter_seconds: float = DEFAULT_QUARTER_SECONDS,
    ):
        self.scenario_name = scenario
        self.seed = seed
        self.steps = steps
        self.join_code = join_code or f"{secrets.randbelow(10**6):06d}"
        self.teacher_secret = teacher_secret or secrets.token_urlsafe(16)
        self.seats: list[Seat] = []
        self.handed_in: list[list[tuple[int, Choice]]] = []  # per quarter run: (seat number, choice), in order
        self.coming: list[tuple[int, Choice]] = []  # handed in for the coming quarter
        self.removed: set[int] = set()  # seats the teacher removed (their codes no longer act)
        self._lock = threading.RLock()
        self.autosave = None if autosave is None else Path(autosave)
        self.clock = clock  # wall-clock time, so that a deadline saved before a restart still holds after it
        self.deadline: float | None = None  # when the coming quarter closes (clock time); None: no timer
        self.playing = False  # whether quarters run by themselves when due (see `tick`)
        self.paused_left: float | None = None  # the seconds the coming quarter had left when paused
        self.started = False  # whether the teacher has started the clock (then paused means "Resume")
        self.start_quarter = 0  # the quarter the class took over in (`skip_to`)
        self.quarter_seconds = _number("quarter length (seconds)", quarter_seconds, 1.0, 3600.0)
        self.version = 0  # counts changes, so that screens can ask "anything new?"
        config = load_scenario(scenario)
        self.title = config.title
        self.firms = [firm.name for firm in config.firms]
        self.policies = [firm.policy for firm in config.firms]  # each firm's policy in the scenario
        self.model = self._new_model()
        self._market_cache: tuple[tuple[int, int], dict] | None = None

    # --- seats -------------------------------------------------------------------------------

    def join(self, name: str, code: str) -> Seat:
        """Seat a student at a firm without one, or, once every firm has a student, in the smallest team;
        refused with a wrong code, after the end or with `MAX_STUDENTS` seated."""
        name = " ".join(str(name).split())
        if not name:
            raise ParameterError("display name: empty; type the name the class will see")
        if len(name) > MAX_NAME:
            raise ParameterError(f"display name: {len(name)} characters; at most {MAX_NAME}")
        with self._lock:
            if not _same(_normalised(code), self.join_code):
                raise ParameterError("join code: wrong; ask the teacher for the code on the screen")
            if any(seat.name.casefold() == name.casefold() for seat in self._present()):
                raise ParameterError(
                    f"display name: {name!r} is in this class already; add an initial, or rejoin with your code"
                )
            if not self.model.running:
                raise ParameterError("the session is over: no quarter left to play")
            if len(self.seats) >= MAX_STUDENTS:
                raise ParameterError(f"the class is full: {MAX_STUDENTS} students")
            team = {firm: len(self.team(firm)) for firm in self.firms}
            firm = min(self.firms, key=lambda f: team[f])  # the first firm of the smallest team
            seat = Seat(firm, name, new_personal_code(), since=self.model.quarter)
            self.seats.append(seat)
            if all(seat.firm != firm for seat in self.seats[:-1]):  # its first student ever
                self.model = self._replayed()  # the same past, with the firm the students' from now on
            if self.playing and len(self.seats) == 1:  # the clock ran for nobody: the first student gets a full quarter
                self.deadline = self.clock() + self.quarter_seconds
            self._changed()
            return seat

    def seat(self, token: str) -> Seat:
        """The seat a personal code belongs to (a student rejoining after a reload); refused if none."""
        given = _normalised(token)
        for number, seat in enumerate(self.seats):
            if _same(given, seat.token):
                if number in self.removed:
                    raise SeatRemoved("personal code: your teacher took this seat out of the class; ask them")
                return seat
        raise ParameterError("personal code: not a seat in this class; check it, or join again with the class code")

    def team(self, firm: str) -> list[Seat]:
        """The students running ``firm`` (the teacher's removals left out)."""
        return [seat for seat in self._present() if seat.firm == firm]

    def _present(self) -> list[Seat]:
        """The seats the teacher has not removed."""
        return [seat for number, seat in enumerate(self.seats) if number not in self.removed]

    def skip_to(self, quarter: int) -> None:
        """Before anyone joins: let every firm follow its policy in the scenario up to ``quarter``, so that
        the class takes over later in the story (when the evidence on LLMs has begun to turn)."""
        with self._lock:
            if self.seats or self.handed_in:
                raise ParameterError("start quarter: only before anyone joined or any quarter ran")
            last = self.model.max_steps - 1
            for _ in range(int(_number("start quarter", quarter, 0, last))):
                self.advance()
            self.start_quarter = self.model.quarter

    def remove(self, number: int) -> Seat:
        """Take seat ``number`` out of the class (a student who joined twice, or left): its code no longer acts
        and the quarter no longer waits for it; what it handed in before stays in the record."""
        with self._lock:
            if not (isinstance(number, int) and 0 <= number < len(self.seats)) or number in self.removed:
                raise ParameterError(f"seat: {number!r} is not a seat in this class")
            self.removed.add(number)
            self.coming = [(n, choice) for n, choice in self.coming if n != number]
            self._changed()
            return self.seats[number]

    # --- decisions ---------------------------------------------------------------------------

    def submit(self, token: str, x: object, investment_share: object = None) -> Choice:
        """Hand in (or change) a decision for the code's firm for the coming quarter; refused out of the
        firm's bounds, with the allowed range. In a team, the last one handed in stands."""
        seat = self.seat(token)
        with self._lock:
            if not self.model.running:
                raise ParameterError("the session is over: no quarter left to decide")
            if not self.model.state.alive[self.firms.index(seat.firm)]:
                raise ParameterError(f"{seat.firm} has gone out of business: it has nothing left to decide")
            x_max = self._x_max(seat.firm)
            choice = Choice(
                _number("x (target share of the AI budget on LLMs)", x, 0.0, x_max),
                None if investment_share is None else _number("investment share", investment_share, 0.0, 1.0),
            )
            self.coming.append((self.seats.index(seat), choice))
            self._changed()
            return choice

    @property
    def pending(self) -> dict[str, Choice]:
        """Each firm's decision for the coming quarter so far (its team's last one)."""
        with self._lock:
            return {self.seats[number].firm: choice for number, choice in self.coming}

    def _x_max(self, firm: str) -> float:
        """The most of its AI budget a firm may put on LLMs (the cap its protected world-model budget sets)."""
        return float(run_constants(self.model.params).x_max[self.firms.index(firm)])

    def waiting_for(self) -> list[str]:
        """The firms in the market with a student who has not handed in a decision for the coming quarter yet
        (a firm not in it yet may hand in a target for when it enters, but the class does not wait for it)."""
        with self._lock:
            handed_in = {number for number, _ in self.coming} | self.removed
            missing = {seat.firm for number, seat in enumerate(self.seats) if number not in handed_in}
            deciding = self.model.state.active  # in the market and in business
            return [firm for j, firm in enumerate(self.firms) if firm in missing and deciding[j]]

    # --- the clock ---------------------------------------------------------------------------

    def start_timer(self, seconds: float) -> None:
        """Close the coming quarter ``seconds`` from now (or when every student has handed in)."""
        with self._lock:
            self.deadline = self.clock() + _number("deadline (seconds)", seconds, 1.0, 3600.0)
            self._changed()

    def extend(self, seconds: float) -> None:
        """Give the students ``seconds`` more for the coming quarter."""
        with self._lock:
            if self.deadline is None:
                raise ParameterError("no timer is running: start one first")
            self.deadline = max(self.deadline, self.clock()) + _number("extension (seconds)", seconds, 1.0, 3600.0)
            self._changed()

    def seconds_left(self) -> float | None:
        """Seconds until the coming quarter closes (0 when past), or None without a timer."""
        with self._lock:
            return None if self.deadline is None else max(self.deadline - self.clock(), 0.0)

    def due(self) -> bool:
        """Whether the coming quarter should run now: every student handed in, or the timer ran out."""
        with self._lock:
            if not self.model.running or not self.seats:
                return False
            return not self.waiting_for() or (self.deadline is not None and self.clock() >= self.deadline)

    def play(self, quarter_seconds: float | None = None) -> None:
        """Let quarters run by themselves (`tick`), each ``quarter_seconds`` long at most (default: as before;
        a paused quarter goes on with the time it had left)."""
        with self._lock:
            if not self.model.running:
                raise ParameterError("the session is over: every quarter has run")
            if quarter_seconds is not None:  # from the next quarter on; a paused one goes on where it was
                self.quarter_seconds = _number("quarter length (seconds)", quarter_seconds, 1.0, 3600.0)
            seconds = min(max(self.paused_left or self.quarter_seconds, 1.0), 3600.0)  # start_timer's bounds
            self.playing = self.started = True
            self.paused_left = None
            self.start_timer(seconds)  # and saves, the flags above included

    def pause(self) -> None:
        """Stop the clock: quarters run only when the teacher advances them."""
        with self._lock:
            self.paused_left = self.seconds_left() if self.playing else self.paused_left
            self.playing = False
            self.deadline = None
            self._changed()

    def tick(self) -> bool:
        """Run the coming quarter if the session plays and it is due; returns whether it ran."""
        with self._lock:
            if self.playing and self.due():
                self.advance()
                return True
            return False

    def advance(self) -> int:
        """Run the coming quarter with the decisions handed in (a firm without one keeps moving toward its
        last target); returns the quarters run so far."""
        with self._lock:
            if not self.model.running:
                raise ParameterError("the session is over: every quarter has run")
            self._step(self.pending)
            self.handed_in.append(self.coming)
            self.coming = []
            self.playing = self.playing and self.model.running
            self.deadline = self.clock() + self.quarter_seconds if self.playing else None
            self.paused_left = None
            self._changed()
            return self.model.quarter

    def _step(self, decisions: dict[str, Choice], model: AIRaceModel | None = None) -> None:
        """Run one quarter of ``model`` (the session's by default) with the students' decisions by firm."""
        model = model or self.model
        for agent in model.agents:
            if isinstance(agent.policy, StudentPolicy) and agent.name in decisions:
                agent.policy.hand_in(decisions[agent.name])
        model.step()

    def _changed(self) -> None:
        self.version += 1
        if self.autosave is not None:  # after every change: a restart loses nothing handed in or run
            self.save(self.autosave)

    # --- what the class sees -----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Where the session is: the quarter, the clock, which teams handed in. Nothing secret."""
        with self._lock:
            left = self.seconds_left()
            handed_in = {number for number, _ in self.coming}
            return {
                "title": self.title,
                "quarter": self.model.quarter,
                "quarters": self.model.max_steps,
                "round": min(self.model.quarter, self.model.max_steps - 1) - self.start_quarter + 1,
                "rounds": self.model.max_steps - self.start_quarter,  # the quarters the class plays
                "quarter_label": self._label(self.model.quarter),
                "last_label": self._label(self.model.quarter - 1),
                "over": not self.model.running,
                "playing": self.playing,
                "paused": self.started and not self.playing and self.model.running,
                "seconds_left": None if left is None else round(left, 1),
                "quarter_seconds": self.quarter_seconds,
                "teams": {
                    firm: [
                        {"seat": number, "name": seat.name, "handed_in": number in handed_in}
                        for number, seat in enumerate(self.seats)
                        if seat.firm == firm and number not in self.removed
                    ]
                    for firm in self.firms
                },
                "waiting_for": self.waiting_for(),
                "student_firms": sorted({seat.firm for seat in self.seats}, key=self.firms.index),
                "version": self.version,
            }

    def market(self) -> dict[str, Any]:
        """Every firm's public variables (`PUBLIC_RIVAL`) quarter by quarter, for the class's charts."""
        with self._lock:
            key = (id(self.model), self.model.quarter)
            if self._market_cache is None or self._market_cache[0] != key:
                history = self.model.history
                self._market_cache = (
                    key,
                    {
                        "quarters": [self._label(q) for q in range(len(history))],
                        "firms": {
                            firm: {name: [plain(state[name][j]) for state in history] for name in PUBLIC_RIVAL}
                            for j, firm in enumerate(self.firms)
                        },
                    },
                )
            return self._market_cache[1]

    def screen(self, token: str) -> dict[str, Any]:
        """A student's screen: their firm's state after the last quarter, the rivals' public moves, the
        bounds and pace of their decision and what their team handed in. Nothing hidden (`PUBLIC_OWN`,
        `PUBLIC_RIVAL`)."""
        seat = self.seat(token)
        with self._lock:
            state, index = self.model.state, self.firms.index(seat.firm)
            own = {name: plain(state[name][index]) for name in PUBLIC_OWN}
            carries = llm_carries_product(state.llm_quality[index], state.wm_quality[index])
            rivals = [
                {"firm": firm, **{name: plain(state[name][j]) for name in PUBLIC_RIVAL}}
                for j, firm in enumerate(self.firms)
                if j != index
            ]
            mine = [(self.seats[n].name, choice) for n, choice in self.coming if self.seats[n].firm == seat.firm]
            traits = self.model.config.firms[index]
            standing = self.model.firms[index].policy.standing if index in self._student_firms() else None
            return {
                "firm": seat.firm,
                "name": seat.name,
                "code": shown_code(seat.token),
                "team": [member.name for member in self.team(seat.firm)],
                "own": own,
                "rivals": rivals,
                "x_max": self._x_max(seat.firm),
                "adjustment_speed": traits.adjustment_speed,
                "llm_carries_product": plain(carries),
                "handed_in": None if not mine else {"by": mine[-1][0], **asdict(mine[-1][1])},
                "standing": None if standing is None else asdict(standing),
                **self.status(),
            }

    def reveal(self, secret: str) -> dict[str, float]:
        """`hidden`, for the teacher's debrief: needs the teacher's secret."""
        self.check_teacher(secret)
        return self.hidden()

    def hidden(self) -> dict[str, float]:
        """What no firm sees: the true LLM ceiling and world-model difficulty (for callers that have checked
        the teacher's secret; never on a student's screen)."""
        environment = self.model.config.environment
        return {"llm_ceiling": environment.llm_ceiling, "wm_difficulty": environment.wm_difficulty}

    def _label(self, quarter: int) -> str:
        """Quarter number ``quarter`` of the run as a calendar quarter ("2028Q3")."""
        return quarter_label(self.model.config.environment.start_year + quarter / 4.0)

    def check_teacher(self, secret: str) -> None:
        """Refuse anything but the teacher's secret."""
        if not _same(str(secret), self.teacher_secret):
            raise ParameterError("teacher secret: wrong; only the teacher's link opens the teacher's controls")

    # --- saving, replaying, debriefing -------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the session (scenario, seed, seats, every decision handed in, the clock) as JSON, atomically."""
        with self._lock:
            data = {
                "version": SAVE_VERSION,
                "scenario": self.scenario_name,
                "seed": self.seed,
                "steps": self.steps,
                "join_code": self.join_code,
                "teacher_secret": self.teacher_secret,
                "seats": [asdict(seat) for seat in self.seats],
                "handed_in": [[[n, asdict(c)] for n, c in quarter] for quarter in self.handed_in],
                "coming": [[n, asdict(c)] for n, c in self.coming],
                "removed": sorted(self.removed),
                "changes": self.version,
                "playing": self.playing,
                "quarter_seconds": self.quarter_seconds,
                "deadline": self.deadline,
                "paused_left": self.paused_left,
                "started": self.started,
                "start_quarter": self.start_quarter,
            }
        text = json.dumps(data, indent=1)
        write_atomically(
            Path(path), lambda temp: Path(temp).write_text(text, encoding="utf-8"), private=True, durable=True
        )

    @classmethod
    def load(cls, path: str | Path, autosave: bool = True, clock: Callable[[], float] = time.time) -> ClassSession:
        """A saved session, rebuilt by replaying its decisions (the same state, bit for bit), its deadline as it
        was (time spent down counts; if the time ran out while down the quarter starts again, and after more than
        a quarter's time down it comes back paused); with
        ``autosave`` it goes on saving to the same file after every change."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != SAVE_VERSION:
                found = data.get("version") if isinstance(data, dict) else type(data).__name__
                raise ValueError(f"version {found!r}, this aisim reads version {SAVE_VERSION}")
            session = cls(
                data["scenario"], data["seed"], data["steps"], data["join_code"], data["teacher_secret"],
                clock=clock, quarter_seconds=data["quarter_seconds"],
            )  # fmt: skip
            session.seats = [Seat(**seat) for seat in data["seats"]]
            session.handed_in = [[(n, Choice(**c)) for n, c in quarter] for quarter in data["handed_in"]]
            session.coming = [(n, Choice(**c)) for n, c in data["coming"]]
            session.removed = {int(n) for n in data["removed"]}
            numbers = {n for quarter in [*session.handed_in, session.coming] for n, _ in quarter} | session.removed
            if not numbers <= set(range(len(session.seats))):
                raise ValueError(f"decisions of seats {sorted(numbers - set(range(len(session.seats))))} not seated")
            session.version = int(data["changes"])
            session.playing = bool(data["playing"])
            session.deadline = None if data["deadline"] is None else float(data["deadline"])
            left = data.get("paused_left")  # the next three: not in the first saves of this version
            session.paused_left = None if left is None else float(left)
            session.started = bool(data.get("started", session.playing))
            session.start_quarter = int(data.get("start_quarter", 0))
            session.model = session._replayed()
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, ParameterError) as err:
            raise ParameterError(f"{path}: not a class session aisim can read ({err})") from None
        if session.deadline is not None and clock() > session.deadline + session.quarter_seconds:
            session.playing, session.deadline = False, None  # long down: the class has gone; the teacher resumes
        elif session.deadline is not None and clock() > session.deadline:
            session.deadline = clock() + session.quarter_seconds  # time ran out while down: a whole quarter again
        session.playing = session.playing and session.model.running
        session.autosave = path if autosave else None
        return session

    def _new_model(self, rule: str | None = None) -> AIRaceModel:
        """The session's model from the start, the students' firms on the ``student`` policy; or, with ``rule``
        (a policy name), on their policy in the scenario until the students took over and on ``rule`` after."""
        since = {}
        for seat in self.seats:
            since.setdefault(seat.firm, seat.since)  # a team's firm is theirs from its first member's quarter
        overrides = {f"firms.{firm}.policy": STUDENT for firm in since}
        model = AIRaceModel(self.scenario_name, rng=self.seed, steps=self.steps, parameters=overrides)
        for agent in model.agents:
            if agent.name in since:
                before = make_policy(self.policies[agent.index], self.seed, agent.index)  # as in the scenario
                if rule is None:
                    agent.policy = StudentPolicy(agent.name, since[agent.name], before)
                else:
                    agent.policy = SwitchAt(since[agent.name], before, make_policy(rule, self.seed, agent.index))
        return model

    def _student_firms(self) -> set[int]:
        """The positions of the firms students run."""
        return {self.firms.index(seat.firm) for seat in self.seats}

    def _replayed(self) -> AIRaceModel:
        """A new model with the seats as they are, run through every quarter's decisions."""
        model = self._new_model()
        for quarter in self.handed_in:
            self._step({self.seats[n].firm: choice for n, choice in quarter}, model)
        return model

    def debrief(self) -> pd.DataFrame:
        """Each student's firm, quarter by quarter from when they joined: the decision each student handed
        in (``student_target``; empty when they handed none in), their team's target and the split the firm
        moved to (``target``, ``x``) and its market share; what the firm's own state said that quarter (the
        model's biased rule's target and the expected-value rule's, ``rule_target``, ``ev_target``, and the
        drivers pushing toward LLMs, ``drivers``, named when the team's target was more than
        `DRIVERS_MARGIN` above expected value's); and the same run on the same seed with every students'
        firm run instead, from when its students took over, by the model's own rule (``biased_x``,
        ``biased_share``) or by it with every driver off (``expected_value_x``, ``expected_value_share``).
        Firms no student ran keep their policy in both. A seat the teacher removed is marked "(removed)".
        Quarters a firm did not decide in (not yet in the market, or out of business) have no row."""
        with self._lock:
            played = self.model.firm_dataframe().set_index(["firm", "step"]) if self.model.quarter else None
            quarters = self.model.quarter
            policies = {agent.name: agent.policy for agent in self.model.agents}
            handed_in = [dict(quarter) for quarter in self.handed_in]  # per quarter: seat number -> last choice
            seats = list(enumerate(self.seats))
            removed = set(self.removed)
            others = {label: self._new_model(rule=label) for label in ("biased", "expected_value")}
        if played is None or not seats:
            return pd.DataFrame()
        for label, model in others.items():
            for _ in range(quarters):
                model.step()
            others[label] = model.firm_dataframe().set_index(["firm", "step"])
        rows = []
        for number, seat in seats:
            advice = policies[seat.firm].advice
            for q in range(seat.since, quarters):
                if q not in advice:  # the firm did not decide: not in the market yet, or out of business
                    continue
                mine = handed_in[q].get(number)
                firm_q = (seat.firm, q)
                target, hint = played.x_target[firm_q], advice[q]
                pushes = sorted(((v, k) for k, v in hint.terms.items() if k in DRIVER_TERMS and v > 0), reverse=True)
                row = {
                    "quarter": played.quarter[firm_q],
                    "step": q,
                    "firm": seat.firm,
                    "student": seat.name + (" (removed)" if number in removed else ""),
                    "student_target": None if mine is None else mine.x,
                    "target": target,
                    "x": played.x[firm_q],
                    "share": played.market_share[firm_q],
                    "rule_target": hint.biased,
                    "ev_target": hint.expected_value,
                    "drivers": ", ".join(k.replace("_", " ") for _, k in pushes)
                    if target > hint.expected_value + DRIVERS_MARGIN
                    else "",
                }
                for label, table in others.items():
                    row[f"{label}_x"] = table.x[firm_q]
                    row[f"{label}_share"] = table.market_share[firm_q]
                rows.append(row)
        return pd.DataFrame(rows)


def _number(label: str, value: object, low: float, high: float) -> float:
    """A finite number within [low, high], or a ParameterError naming the value and the range."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        shown = repr(value) if len(repr(value)) <= 24 else repr(value)[:20] + "..."
        raise ParameterError(f"{label}: {shown} is not a number; allowed {low:g} to {high:g}") from None
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails the comparison too
        raise ParameterError(f"{label}: {value!r} is out of range; allowed {low:g} to {high:g}")
    return number


def _same(given: str, secret: str) -> bool:
    """Compare a secret in constant time, whatever characters the given text holds."""
    return secrets.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))
